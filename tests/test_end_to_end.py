"""The ingestion issue's promise, end to end: a Hugging Face folder copied (not renamed, no
COMPLETE) into the drop folder of a store watched by a real `modelyard watch` process shows
up as a fully described version. The latency itself is measured in bench/, not here."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import hf_fixtures as hf

from modelyard.store import ModelNotFound, Store


def test_copied_hugging_face_folder_appears_with_its_card(store: Store, tmp_path: Path,
                                                          cli_env: dict) -> None:
    source = hf.build_hf_folder(tmp_path / "bert-mrpc")
    watcher = subprocess.Popen([sys.executable, "-m", "modelyard.app.cli.main", "--store",
                                str(store.root), "watch"], env=cli_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)  # let it start watching
        started = time.monotonic()
        subprocess.run(["cp", "-r", str(source), str(store.layout.drops / "bert-mrpc")],
                       check=True)
        version = None
        while time.monotonic() - started < 30 and version is None:
            time.sleep(0.1)
            store.sync()
            try:
                version = store.get("bert-mrpc")
            except ModelNotFound:
                pass
    finally:
        watcher.terminate()
        out, err = watcher.communicate(timeout=30)
    assert version is not None, err.decode()
    assert b"ingested bert-mrpc as bert-mrpc:1" in out
    assert version.param_count == hf.BERT_PARAMS
    assert version.summary["dtypes"] == {"BF16": 18, "F32": 304, "I64": 16}
    assert version.summary["architectures"] == ["BertForSequenceClassification"]
    assert version.tags["license"] == "apache-2.0"
    assert {d["name"] for d in version.datasets} == {"glue"}
    assert version.parents[0]["ref"] == "bert-base-uncased"
    assert version.metric_keys  # the trainer's curves
    assert watcher.returncode == 0
