"""The ingestion issue's promise, end to end: a Hugging Face folder copied (not renamed, no
COMPLETE) into the drop folder of a store watched by a real `modelyard watch` process shows
up as a fully described version. The latency itself is measured in bench/, not here."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import hf_fixtures as hf

from modelyard.store import ModelNotFound, Store

from helpers import wait_for


def _version(store: Store, model: str):
    store.sync()
    try:
        return store.get(model)
    except ModelNotFound:
        return None


def test_copied_hugging_face_folder_appears_with_its_card(store: Store, tmp_path: Path,
                                                          cli_env: dict) -> None:
    source = hf.build_hf_folder(tmp_path / "bert-mrpc")
    watcher = subprocess.Popen([sys.executable, "-m", "modelyard.app.cli.main", "--store",
                                str(store.root), "watch"], env=cli_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        for line in watcher.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(line.startswith("watching ") for line in lines), 30,
                 "the watcher to say it is watching")
        subprocess.run(["cp", "-r", str(source), str(store.layout.drops / "bert-mrpc")],
                       check=True)
        version = wait_for(lambda: _version(store, "bert-mrpc"), 30, "the version")
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)
        reader.join(10)
        err = watcher.stderr.read()
    out = "".join(lines)
    assert "ingested bert-mrpc as bert-mrpc:1" in out, err
    assert version.param_count == hf.BERT_PARAMS
    assert version.summary["dtypes"] == {"BF16": 18, "F32": 304, "I64": 16}
    assert version.summary["architectures"] == ["BertForSequenceClassification"]
    assert version.tags["license"] == "apache-2.0"
    assert {d["name"] for d in version.datasets} == {"glue"}
    assert version.parents[0]["ref"] == "bert-base-uncased"
    assert version.metric_keys  # the trainer's curves
    assert watcher.returncode == 0
