"""The writer SDK: a real training process drops a model that ingests with every fact intact;
failures leave nothing (or a drop marked failed); drops appear whole or not at all."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from modelyard.store import InvalidManifest, InvalidName, NotAStore, Store
from modelyard.store.ingest.manifest import read_folder
from modelyard.store.sdk.api import COMPLETE, MANIFEST, new_version
from modelyard.store.sdk.source import without_credentials

SCHEMA = Path(__file__).resolve().parent.parent / "store/schemas/manifest.schema.json"

TRAIN_PY = '''\
"""A tiny logistic regression in plain Python, logged with the modelyard SDK."""
import csv
import json
import math
import random

from modelyard import new_version

random.seed(7)
rows = []
for _ in range(300):
    x1, x2 = random.gauss(0, 1), random.gauss(0, 1)
    rows.append((x1, x2, 1 if 1.5 * x1 - x2 + random.gauss(0, 0.7) > 0 else 0))
with open("data.csv", "w", newline="") as f:
    csv.writer(f).writerows([("x1", "x2", "y"), *rows])


def predict(w, b, x1, x2):
    return 1 / (1 + math.exp(-(w[0] * x1 + w[1] * x2 + b)))


with new_version("logreg") as v:
    v.add_source("auto")
    v.log_params(lr=0.5, epochs=50, model={"kind": "logreg", "inputs": ["x1", "x2"]})
    v.add_dataset("synthetic", "data.csv", rows=len(rows))
    w, b, losses = [0.0, 0.0], 0.0, []
    for epoch in range(50):
        gw, gb, loss = [0.0, 0.0], 0.0, 0.0
        for x1, x2, y in rows:
            p = predict(w, b, x1, x2)
            loss -= y * math.log(p + 1e-12) + (1 - y) * math.log(1 - p + 1e-12)
            gw, gb = [gw[0] + (p - y) * x1, gw[1] + (p - y) * x2], gb + p - y
        n = len(rows)
        w, b = [w[0] - 0.5 * gw[0] / n, w[1] - 0.5 * gw[1] / n], b - 0.5 * gb / n
        losses.append(loss / len(rows))
        v.log_metric("loss", loss / len(rows), step=epoch)
    scored = sorted(((predict(w, b, x1, x2), y) for x1, x2, y in rows), reverse=True)
    pos = sum(y for _, y in scored)
    fpr, tpr, tp, fp = [0.0], [0.0], 0, 0
    for _, y in scored:
        tp, fp = tp + y, fp + (1 - y)
        fpr.append(fp / (len(rows) - pos))
        tpr.append(tp / pos)
    auc = sum((fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2 for i in range(1, len(fpr)))
    v.log_chart("roc", fpr=fpr, tpr=tpr, auc=auc)
    cm = [[0, 0], [0, 0]]
    for p, y in scored:
        cm[y][int(p > 0.5)] += 1
    v.log_confusion_matrix(cm, labels=["neg", "pos"])
    v.log_metric("accuracy", (cm[0][0] + cm[1][1]) / len(rows))
    with open("weights.json", "w") as f:
        json.dump({"w": w, "b": b}, f)
    v.add_file("weights.json")
print(json.dumps({"drop": str(v.drop_path), "losses": losses, "fpr": fpr, "tpr": tpr,
                  "auc": auc, "cm": cm}))
'''


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@x",
                          *args], capture_output=True, text=True, check=True, timeout=30)
    return out.stdout.strip()


def ingest(store: Store, drop: Path):
    fv = read_folder(drop)
    return store.add_version(fv.model, files=fv.files, metric_series=fv.metric_series,
                             source=fv.source, **fv.card)


def visible(drops: Path) -> list[str]:
    return sorted(n for n in os.listdir(drops) if not n.startswith("."))


def test_a_training_process_drops_a_version_with_source_git_curves_and_charts(
        store: Store, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "train.py").write_text(TRAIN_PY)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "https://user:s3cret@git.example.com/ml/logreg.git")
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "logreg")
    with (repo / "train.py").open("a") as f:
        f.write("# tuned after the commit\n")
    env = dict(os.environ, MODELYARD_STORE=str(store.root))
    done = subprocess.run([sys.executable, "train.py", "--seed", "7"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    drop = Path(out["drop"])
    assert drop.parent == store.layout.drops and (drop / COMPLETE).is_file()

    v = ingest(store, drop)
    assert v.source_file("train.py") == (repo / "train.py").read_bytes()
    assert v.source["entrypoint"] == "python train.py --seed 7"
    assert v.source["git"] == {"commit": git(repo, "rev-parse", "HEAD"), "branch": "main",
                               "remote": "https://git.example.com/ml/logreg.git", "dirty": True}
    assert "+# tuned after the commit" in v.source_diff()
    assert v.params == {"lr": 0.5, "epochs": 50, "model": {"kind": "logreg",
                                                           "inputs": ["x1", "x2"]}}
    loss = v.metric_series("loss")
    assert loss["step"].to_list() == list(range(50))
    assert loss["value"].to_list() == out["losses"]
    assert loss["timestamp"].min() > 1_600_000_000_000
    assert v.metrics["loss"] == out["losses"][-1] and 0.7 < v.metrics["accuracy"] <= 1
    data_digest = hashlib.sha256((repo / "data.csv").read_bytes()).hexdigest()
    assert v.datasets[0] | {"uri": ""} == {"role": "train", "name": "synthetic", "uri": "",
                                           "digest": f"sha256:{data_digest}", "rows": 300,
                                           "size": (repo / "data.csv").stat().st_size}
    assert v.charts["roc"] == {"fpr": out["fpr"], "tpr": out["tpr"], "auc": out["auc"]}
    assert len(v.charts["roc"]["fpr"]) == 301
    assert v.charts["confusion_matrix"] == {"labels": ["neg", "pos"],
                                            "matrix": [[float(x) for x in r] for r in out["cm"]]}
    assert v.open("weights.json") == (repo / "weights.json").read_bytes()
    assert [f["path"] for f in v.files] == ["weights.json"]
    assert v.training["status"] == "finished" and v.training["run_id"]
    assert v.training["started_at"] <= v.training["ended_at"]
    assert v.user and v.host


def test_the_manifest_follows_the_published_schema(store: Store, tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    (tmp_path / "w.bin").write_bytes(b"w")
    with new_version("schema-check", store=store.root) as v:
        v.add_source([Path(__file__)], git=False)
        v.log_params({"a": {"b": 1}}, c=2)
        v.log_metrics({"loss": 0.5, "acc": 0.9}, step=3)
        v.add_file(tmp_path / "w.bin")
        v.add_dataset("remote", "s3://bucket/train.parquet", digest="sha256:" + "0" * 64)
        v.set_parent("base-model:3", relation="fine-tuned-from")
        v.log_chart("pr", precision=[1.0, 0.5], recall=[0.0, 1.0], ap=0.7)
        v.log_feature_importance({"age": 0.7, "income": 0.3})
        v.log_feature_stats({"age": {"mean": 40.0, "min": 18, "max": 90}})
        v.set_serving(framework="sklearn", resources={"cpu": "2", "memory": "1Gi"})
        v.set_description("checked against the schema")
        v.set_tags(team="risk", reviewed=True)
        v.summary(param_count=3)
    manifest = json.loads((v.drop_path / MANIFEST).read_text())
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))
    assert manifest["tags"] == {"team": "risk", "reviewed": "true"}
    ingested = ingest(store, v.drop_path)
    assert ingested.parents[0]["ref"] == "base-model:3"
    assert ingested.charts["pr"]["ap"] == 0.7
    assert ingested.serving["framework"] == "sklearn"
    assert ingested.source_file("test_sdk.py") == Path(__file__).read_bytes()


def test_an_exception_writes_no_drop_unless_asked_to_keep_it(store: Store,
                                                              tmp_path: Path) -> None:
    drops = store.layout.drops
    (tmp_path / "w.bin").write_bytes(b"weights")
    with pytest.raises(ValueError, match="diverged"):
        with new_version("boom", store=store.root) as v:
            v.log_metric("loss", 1.0)
            v.add_file(tmp_path / "w.bin")
            raise ValueError("loss diverged")
    assert os.listdir(drops) == [] and v.drop_path is None

    with pytest.raises(ValueError, match="diverged"):
        with new_version("boom", store=store.root, keep_failed=True) as v:
            v.log_metric("loss", 1.0)
            v.add_file(tmp_path / "w.bin")
            raise ValueError("loss diverged")
    assert os.listdir(drops) == [v.drop_path.name]
    fv = read_folder(v.drop_path)
    assert fv.card["training"]["status"] == "failed"
    assert fv.card["training"]["error"] == "ValueError: loss diverged"
    assert fv.card["tags"]["failed"] == "true"
    assert ingest(store, v.drop_path).open("w.bin") == b"weights"


def test_sys_exit_zero_is_a_normal_end(store: Store) -> None:
    with pytest.raises(SystemExit):
        with new_version("exits", store=store.root) as v:
            v.log_metric("loss", 0.1)
            sys.exit(0)
    assert read_folder(v.drop_path).card["training"]["status"] == "finished"


def test_a_hundred_thousand_points_are_cheap_and_all_arrive(store: Store) -> None:
    start = time.perf_counter()
    with new_version("long-run", store=store.root) as v:
        for i in range(100_000):
            v.log_metric("loss", 1.0 / (i + 1))
        v.log_metric("lr", 0.1, step=10)
        v.log_metric("lr", 0.05)
    assert time.perf_counter() - start < 10
    curves = read_folder(v.drop_path).metric_series
    assert curves["loss"]["steps"] == list(range(100_000))
    assert curves["loss"]["values"][-1] == 1.0 / 100_000
    assert curves["lr"]["steps"] == [10, 11]


def test_a_drop_is_never_visible_half_written(store: Store, tmp_path: Path) -> None:
    big = tmp_path / "weights.bin"
    with big.open("wb") as f:
        for _ in range(96):
            f.write(os.urandom(1 << 20))
    drops = store.layout.drops
    seen_partial: list[str] = []
    seen_hidden: set[str] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for name in os.listdir(drops):
                if name.startswith("."):
                    seen_hidden.add(name)
                elif not ((drops / name / COMPLETE).is_file()
                          and (drops / name / MANIFEST).is_file()):
                    seen_partial.append(name)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with new_version("big", store=store.root) as v:
            v.add_file(big)
            v.add_file(tmp_path / "weights.bin", name="copy/weights.bin")
    finally:
        stop.set()
        watcher.join()
    assert seen_partial == []
    assert seen_hidden, "the watcher never saw the build folder; make the file bigger"
    assert visible(drops) == [v.drop_path.name] and os.listdir(drops) == visible(drops)
    assert (v.drop_path / "copy/weights.bin").stat().st_size == big.stat().st_size


def test_the_drop_watcher_ingests_an_sdk_drop(store: Store, tmp_path: Path) -> None:
    drops_mod = pytest.importorskip("modelyard.store.ingest.drops")
    (tmp_path / "w.bin").write_bytes(b"weights")
    with new_version("watched", store=store.root) as v:
        v.add_source([Path(__file__)], git=False)
        v.log_params(lr=0.1)
        v.log_metric("loss", 0.5)
        v.add_file(tmp_path / "w.bin")
    result = drops_mod.ingest_drop(store, v.drop_path)
    assert result.status == "ingested", result.reason
    ingested = store.get("watched")
    assert [f["path"] for f in ingested.files] == ["w.bin"]
    assert ingested.source_file("test_sdk.py") == Path(__file__).read_bytes()
    assert ingested.metric_series("loss")["value"].to_list() == [0.5]
    assert visible(store.layout.drops) == []


class FakeArray:
    """Stands in for numpy values: the SDK must only rely on .tolist()."""

    def __init__(self, value: object) -> None:
        self.value = value

    def tolist(self) -> object:
        return self.value

    def __float__(self) -> float:
        return float(self.value)  # type: ignore[arg-type]


def test_array_like_values_are_accepted(store: Store) -> None:
    with new_version("arrays", store=store.root) as v:
        v.log_params(lr=FakeArray(0.1), shape=FakeArray([3, 224, 224]))
        v.log_metric("loss", FakeArray(0.25), step=FakeArray(4).value)
        v.log_chart("roc", fpr=FakeArray([0.0, 0.5, 1.0]), tpr=FakeArray([0.0, 0.8, 1.0]),
                    auc=FakeArray(0.8))
        v.log_confusion_matrix(FakeArray([[3, 1], [0, 4]]))
        v.summary(rows=FakeArray(12))
    fv = read_folder(v.drop_path)
    assert fv.card["params"] == {"lr": 0.1, "shape": [3, 224, 224]}
    assert fv.card["charts"]["roc"]["auc"] == 0.8
    assert fv.card["charts"]["confusion_matrix"]["labels"] == ["0", "1"]
    assert fv.metric_series["loss"]["values"] == [0.25]


def test_mistakes_fail_at_the_call_that_made_them(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InvalidName):
        new_version("bad:name", store=store.root)
    with pytest.raises(NotAStore):
        new_version("m", store=tmp_path / "nowhere")
    with pytest.raises(NotAStore, match="MODELYARD_STORE"):
        new_version("m")
    v = new_version("m", store=store.root)
    with v:
        with pytest.raises(InvalidManifest, match="not a known chart"):
            v.log_chart("radar", x=[1])
        with pytest.raises(InvalidManifest, match="differ in length"):
            v.log_chart("roc", fpr=[0, 1], tpr=[1])
        with pytest.raises(InvalidManifest):
            v.log_metric("loss", "high")
        with pytest.raises(InvalidManifest, match="role"):
            v.add_dataset("d", "s3://x", role="training")
        with pytest.raises(InvalidManifest, match="reserved"):
            v.add_file(__file__, name="COMPLETE")
        with pytest.raises(FileNotFoundError):
            v.add_file(tmp_path / "missing.bin")
        with pytest.raises(InvalidName):
            v.set_tags({"bad=key": 1})
    with pytest.raises(RuntimeError, match="closed"):
        v.log_metric("loss", 1.0)


def test_source_capture_without_git_and_with_a_folder(store: Store, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    code = tmp_path / "code"
    (code / "pkg").mkdir(parents=True)
    (code / "pkg" / "model.py").write_text("W = 1\n")
    (code / "pkg" / ".secret").write_text("hidden\n")
    (code / "weights").mkdir()
    (code / "weights" / "a.bin").write_bytes(b"a")
    monkeypatch.chdir(code)
    with new_version("no-git", store=store.root) as v:
        v.add_source(["pkg"])
        v.add_file("weights")
        v.add_file("weights", name="")
        with pytest.raises(InvalidManifest, match="already holds"):
            v.add_file(code / "pkg" / "model.py", name="a.bin")
    fv = read_folder(v.drop_path)
    assert sorted(fv.source["files"]) == ["pkg/model.py"]
    assert "git" not in fv.source or not fv.source["git"]
    assert sorted(fv.files) == ["a.bin", "weights/a.bin"]


def test_remote_urls_lose_their_credentials() -> None:
    assert without_credentials("https://tok@github.com/a/b.git") == "https://github.com/a/b.git"
    assert without_credentials("ssh://git:pw@host/a.git") == "ssh://git@host/a.git"
    assert without_credentials("git@github.com:a/b.git") == "git@github.com:a/b.git"
