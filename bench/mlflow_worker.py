"""Runs inside the bench's own MLflow virtual environment (never imports modelyard): the
MLflow half of each comparison. Usage: python mlflow_worker.py COMMAND JSON-ARGS; prints one
JSON object.

- workload: N realistic runs through MLflow's API, each with `log_batch` (20 params, 10
  metrics x 100 steps), a 1 MB artifact and a registered model version.
- percall: one run's points logged one `log_metric` call each, then with `log_batch`.
- populate: copy the params and final metrics of a modelyard index into MLflow's schema
  (runs written by SQL: logging 100,000 runs through the API would take hours).
- search: `search_runs` with a metric and a param filter, ordered by a metric.
- history: `get_metric_history` of a 10,000-point metric.
- read_all: everything `import-mlflow` reads, read through MlflowClient: every registered
  version, its run (params, tags, inputs), every metric's full history and every artifact's
  bytes. The baseline of the import's speed.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("MLFLOW_TRACKING_TELEMETRY_DISABLED", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
logging.disable(logging.WARNING)

import mlflow  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


def _client(folder: str) -> MlflowClient:
    folder_path = Path(folder)
    folder_path.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{folder_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(uri, uri)


def _experiment(client: MlflowClient, folder: str, name: str = "bench") -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return client.create_experiment(name, artifact_location=(Path(folder) / "artifacts").as_uri())


def workload(folder: str, runs: int, files: list[str]) -> dict:
    client = _client(folder)
    exp = _experiment(client, folder)
    client.create_registered_model("bench-model")
    start = time.perf_counter()
    for i in range(runs):
        run = client.create_run(exp, run_name=f"run-{i}")
        rid = run.info.run_id
        now = int(time.time() * 1000)
        params = [Param(f"param_{j}", str(0.001 * (i + j))) for j in range(20)]
        metrics = [Metric(f"metric_{k}", 1.0 / (1 + step + k + i), now + step, step)
                   for k in range(10) for step in range(100)]
        client.log_batch(rid, metrics=metrics, params=params)
        client.log_artifact(rid, files[i % len(files)], artifact_path="model")
        client.set_terminated(rid)
        client.create_model_version("bench-model", f"{run.info.artifact_uri}/model",
                                    run_id=rid)
    seconds = time.perf_counter() - start
    db = Path(folder) / "mlflow.db"
    points = runs * 1000
    return {"seconds": seconds, "runs": runs, "db_bytes": db.stat().st_size,
            "points": points}


def log_big_artifact(folder: str, path: str, repeat: int) -> dict:
    """MLflow's `log_artifact` of one big file into a local artifact store, `repeat` times
    (a new run each): the seconds of each call."""
    client = _client(folder)
    exp = _experiment(client, folder, "big-files")
    seconds = []
    for i in range(repeat):
        rid = client.create_run(exp, run_name=f"big-{i}").info.run_id
        start = time.perf_counter()
        client.log_artifact(rid, path, artifact_path="model")
        seconds.append(time.perf_counter() - start)
    return {"seconds": seconds}


def percall(folder: str, points: int) -> dict:
    client = _client(folder)
    exp = _experiment(client, folder, "percall")
    rid = client.create_run(exp).info.run_id
    now = int(time.time() * 1000)
    start = time.perf_counter()
    for step in range(points):
        client.log_metric(rid, "loss", 1.0 / (1 + step), now + step, step)
    per_call = time.perf_counter() - start
    rid = client.create_run(exp).info.run_id
    start = time.perf_counter()
    for first in range(0, points, 1000):
        batch = [Metric("loss", 1.0 / (1 + s), now + s, s)
                 for s in range(first, min(points, first + 1000))]
        client.log_batch(rid, metrics=batch)
    batched = time.perf_counter() - start
    return {"per_call_s": per_call, "batched_s": batched, "points": points}


def populate(folder: str, index: str, limit: int) -> dict:
    """MLflow runs with the params and final metrics of the first `limit` versions of a
    modelyard index (the same data the modelyard search runs on)."""
    client = _client(folder)
    exp = _experiment(client, folder, "search")
    template = client.create_run(exp, run_name="template").info.run_id
    db = sqlite3.connect(Path(folder) / "mlflow.db")
    src = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    columns = [r[1] for r in db.execute("PRAGMA table_info(runs)")]
    row = dict(zip(columns, db.execute("SELECT * FROM runs WHERE run_uuid = ?",
                                       (template,)).fetchone(), strict=True))
    marks = ", ".join("?" * len(columns))
    start = time.perf_counter()
    ids: dict[int, str] = {}
    runs = []
    for vid, name, created in src.execute(
            "SELECT id, model || ':' || number, created_ms FROM versions ORDER BY id LIMIT ?",
            (limit,)):
        rid = uuid.uuid5(uuid.NAMESPACE_OID, str(vid)).hex
        ids[vid] = rid
        runs.append([{**row, "run_uuid": rid, "name": name, "start_time": created,
                      "end_time": created}[c] for c in columns])
    db.executemany(f"INSERT INTO runs ({', '.join(columns)}) VALUES ({marks})", runs)
    db.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                   ((k, v, ids[vid]) for vid, k, v in src.execute(
                       "SELECT version_id, key, value FROM params WHERE version_id <= ?",
                       (max(ids),)) if vid in ids))
    metric_rows = [(k, v, 0, ids[vid], 0, 0) for vid, k, v in src.execute(
        "SELECT version_id, key, value FROM metrics WHERE version_id <= ? AND value IS NOT "
        "NULL", (max(ids),)) if vid in ids]
    db.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                   "VALUES (?, ?, ?, ?, ?, ?)", metric_rows)
    db.executemany("INSERT INTO latest_metrics (key, value, timestamp, run_uuid, step, is_nan)"
                   " VALUES (?, ?, ?, ?, ?, ?)", metric_rows)
    db.commit()
    return {"runs": len(ids), "seconds": time.perf_counter() - start, "experiment": exp}


def search(folder: str, experiment: str, filter_string: str, order_by: str,
           repeat: int) -> dict:
    client = _client(folder)
    samples, found = [], 0
    for i in range(repeat + 1):
        start = time.perf_counter()
        found = len(client.search_runs([experiment], filter_string, max_results=100,
                                       order_by=[order_by]))
        if i:
            samples.append(time.perf_counter() - start)
    return {"samples": samples, "found": found}


def history(folder: str, points: int, repeat: int) -> dict:
    client = _client(folder)
    exp = _experiment(client, folder, "history")
    rid = client.create_run(exp).info.run_id
    now = int(time.time() * 1000)
    for first in range(0, points, 1000):
        client.log_batch(rid, metrics=[Metric("loss", 1.0 / (1 + s), now + s, s)
                                       for s in range(first, min(points, first + 1000))])
    samples = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        n = len(client.get_metric_history(rid, "loss"))
        if i:
            samples.append(time.perf_counter() - start)
    assert n == points, n
    return {"samples": samples}


def read_all(folder: str) -> dict:
    client = _client(folder)
    start = time.perf_counter()
    versions = points = artifact_bytes = 0
    for model in client.search_registered_models():
        for mv in client.search_model_versions(f"name = '{model.name}'"):
            versions += 1
            run = client.get_run(mv.run_id)
            for key in run.data.metrics:
                points += len(client.get_metric_history(mv.run_id, key))
            root = Path(run.info.artifact_uri.removeprefix("file://"))
            stack = [None]
            while stack:
                for item in client.list_artifacts(mv.run_id, stack.pop()):
                    if item.is_dir:
                        stack.append(item.path)
                    else:
                        artifact_bytes += len((root / item.path).read_bytes())
    return {"seconds": time.perf_counter() - start, "versions": versions, "points": points,
            "artifact_bytes": artifact_bytes}


def main() -> None:
    command = sys.argv[1]  # its arguments as JSON on stdin: 10,000 file names overflow argv
    args = json.loads(sys.stdin.read())
    result = globals()[command](**args)
    print("MLFLOW-RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
