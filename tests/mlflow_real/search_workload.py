"""The data of MLflow's own search tests, written with the real `mlflow` package, and every
filter of `search_filters.json` and order of `search_orders.json` run through MLflow's search.

Run by the python of the MLflow virtual environment (never by modelyard's):

    python search_workload.py sqlite|file FILTERS ORDERS OUT

OUT/<suite>/work holds one MLflow store per suite; OUT/results.json holds, per suite, its
experiments, the model each experiment's runs are registered as, and the placeholders a
filter may use ({r1}, {r1_artifact_uri}...), then each filter's and each order's answer: the
run ids (or, for registered models, the names) MLflow returns, or its error.
The `search` suite's runs follow `test_search_params`, `_tags`, `_metrics`, `_attrs`, `_full`,
`_run_name`, `_run_id`, `_datasets` of tests/store/tracking/sqlalchemy_store/
test_sqlalchemy_store_runs.py and `test_correct_filtering` of tests/utils/test_search_utils.py,
merged into three runs; each run is registered as a version of the model `conf`, versions 1
and 2 with the version tags of `test_search_model_versions_by_tag`
(tests/store/model_registry/test_sqlalchemy_store.py). The other suites are in
`search_suites.py`.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric  # noqa: E402
from search_suites import SUITES  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

MODEL = "conf"
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z: the runs start 1 s apart

RUNS = {
    "r1": {"name": "run_name1", "status": "RUNNING",
           "params": {"generic_param": "p_val", "generic_2": "some value", "p_a": "abc",
                      "my_param": "A", "learning_rate": "0.01", "batch_size": "32"},
           "tags": {"generic_tag": "p_val", "generic_2": "some value", "p_a": "abc"},
           "metrics": [("common", 1.0, 1), ("measure_a", 1.0, 1), ("m_a", 2.0, 2),
                       ("key1", 121.0, 1)],
           "datasets": [("name1", "digest1", "train"), ("name2", "digest2", "eval")]},
    "r2": {"name": "run_name2", "status": "FAILED",
           "params": {"generic_param": "p_val", "generic_2": "another value", "p_b": "ABC",
                      "my_param": "A", "learning_rate": "0.02"},
           "tags": {"generic_tag": "p_val", "generic_2": "another value", "p_b": "ABC",
                    "tag1": "C"},
           "metrics": [("common", 1.0, 1), ("measure_a", 200.0, 2), ("measure_a", 400.0, 3),
                       ("m_b", 3.0, 2), ("m_b", 4.0, 8), ("m_b", 8.0, 3), ("key1", 123.0, 1)],
           "datasets": [("name1", "digest1", "train"), ("name3", "digest3", "eval")]},
    "r3": {"name": "name", "status": "FINISHED",
           "params": {"my_param": "B"},
           "tags": {"tag1": "D"},
           "metrics": [("key1", 125.0, 1)],
           "datasets": [("name2", "digest2", "test")]},
}


def build(client: MlflowClient, experiment: str) -> dict[str, str]:
    """The three runs; returns the placeholders a filter may use."""
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    values: dict[str, str] = {}
    for i, (key, spec) in enumerate(RUNS.items()):
        run = client.create_run(experiment, run_name=spec["name"], start_time=START + 1000 * i)
        rid = run.info.run_id
        for k, v in spec["params"].items():
            client.log_param(rid, k, v)
        for k, v in spec["tags"].items():
            client.set_tag(rid, k, v)
        client.log_batch(rid, metrics=[Metric(k, v, ts, 0) for k, v, ts in spec["metrics"]])
        client.log_inputs(rid, datasets=[
            DatasetInput(Dataset(name=n, digest=d, source_type="local", source=f"/data/{n}"),
                         [InputTag("mlflow.data.context", c)])
            for n, d, c in spec["datasets"]])
        with mlflow.start_run(run_id=rid):
            mlflow.sklearn.log_model(LogisticRegression().fit(x, y), name="model",
                                     registered_model_name=MODEL)
        client.set_terminated(rid, status=spec["status"], end_time=START + 1000 * i + 500)
        if spec["status"] == "RUNNING":
            client.update_run(rid, status="RUNNING")
        values[key] = rid
        values[f"{key}_artifact_uri"] = client.get_run(rid).info.artifact_uri
        values[f"{key}_name"] = spec["name"]
        values[f"{key}_start"] = str(START + 1000 * i)
        values[f"{key}_upper"] = rid.upper()
        values[f"{key}_prefix"] = rid[:30]
        values[f"{key}_prefix_upper"] = rid[:30].upper()
    for number, tags in (("1", {"t1": "abc", "t2": "xyz"}), ("2", {"t1": "abc", "t2": "x123"})):
        for k, v in tags.items():  # test_search_model_versions_by_tag's version tags
            client.set_model_version_tag(MODEL, number, k, v)
    return values


def search(client: MlflowClient, suites: dict, entry: dict) -> dict:
    """One filter (and order) through MLflow: what it found, in MLflow's order, or its error."""
    suite = suites[entry.get("suite", "search")]
    text = entry["filter"].format(**suite["values"])
    kind, order = entry.get("kind", "runs"), entry.get("order_by")
    try:
        if kind == "model_versions":
            found = [mv.run_id for mv in client.search_model_versions(text, order_by=order)]
        elif kind == "registered_models":
            found = [m.name for m in client.search_registered_models(text, order_by=order)]
        else:
            experiment = suite["experiments"][entry.get("experiment", "search")]
            found = [r.info.run_id for r in client.search_runs([experiment], text,
                                                               order_by=order)]
        return {"filter": text, "ok": True, "found": found}
    except Exception as exc:  # MLflow rejects with MlflowException, sometimes others
        return {"filter": text, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def build_search(client: MlflowClient) -> dict:
    experiment = mlflow.set_experiment("search").experiment_id
    return {"experiments": {"search": experiment}, "models": {"search": MODEL},
            "values": build(client, experiment)}


def main() -> None:
    backend, filters, orders = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    out = Path(sys.argv[4]).resolve()
    builders = {"search": build_search, **SUITES}
    suites, clients = {}, {}
    for name, builder in builders.items():
        work = out / name / "work"
        work.mkdir(parents=True)
        os.chdir(work)  # a SQLite store keeps its artifacts in ./mlruns
        uri = f"sqlite:///{work}/mlflow.db" if backend == "sqlite" else f"file:{work}/mlruns"
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        clients[name] = MlflowClient(uri, uri)
        suites[name] = {"values": {}, **builder(clients[name])}
    answers = {}
    for key, path, listed in (("results", filters, "filters"), ("orders", orders, "orders")):
        entries = json.loads(path.read_text())[listed]
        answers[key] = [search(clients[e.get("suite", "search")], suites, e) for e in entries]
    (out / "results.json").write_text(json.dumps({"suites": suites, **answers}, indent=1))


if __name__ == "__main__":
    main()
