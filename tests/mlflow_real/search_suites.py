"""The data of MLflow's order-by and registry search tests, each in an MLflow store of its
own (as each of MLflow's tests has one), written with the real `mlflow` package.

Imported by `search_workload.py`, in the MLflow virtual environment only. Every run is
registered as a version of a model named after its experiment, with a one-file artifact
(cheap: these tests are about searching, not about model files). Each builder returns its
experiments as `{name: id}` and the registered model each experiment's runs went to.

- `order`: `test_order_by_metric_tag_param`, `test_order_by_attributes`,
  `test_search_with_deterministic_max_results` and `test_search_runs_keep_all_runs_when_sorting`
  (tests/store/tracking/sqlalchemy_store/test_sqlalchemy_store_runs.py) and
  `test_order_by_metric_with_nans_infs_nones` (tests/utils/test_search_utils.py);
- `versions`: `test_search_model_versions_order_by_simple` (the registry's
  tests/store/model_registry/test_sqlalchemy_store.py);
- `models`: `test_search_registered_models`, `_by_tag` and `test_search_registered_model_order_by`
  of the same file, the registry times set as the test sets them (its mock of
  `get_current_time_millis`), in seconds from START.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from unittest import mock

from mlflow import MlflowClient
from mlflow.entities import Metric, RunStatus

START = 1_767_225_600_000  # 2026-01-01T00:00:00Z, as search_workload.py
NAN, INF = float("nan"), float("inf")
Suite = dict[str, dict[str, str]]


def cheap_run(client: MlflowClient, experiment: str, model: str | None, *, name: str,
              start: int, end: int | None, metrics: dict[str, float] | None = None,
              params: dict[str, str] | None = None, tags: dict[str, str] | None = None) -> str:
    """A finished run with its values, registered as a version of `model` (if given)."""
    run = client.create_run(experiment, run_name=name, start_time=start)
    rid = run.info.run_id
    client.log_batch(rid, metrics=[Metric(k, v, 1, 0) for k, v in (metrics or {}).items()],
                     params=[], tags=[])
    for k, v in (params or {}).items():
        client.log_param(rid, k, v)
    for k, v in (tags or {}).items():
        client.set_tag(rid, k, v)
    client.log_text(rid, name, "model/weights.txt")
    if model is not None:
        client.create_model_version(model, f"{run.info.artifact_uri}/model", rid)
    # the store's own update, as the tests do: MlflowClient.set_terminated cannot leave the
    # end time empty
    client._tracking_client.store.update_run_info(rid, RunStatus.FINISHED, end, None)
    return rid


def _experiment(client: MlflowClient, name: str, suite: Suite) -> str:
    exp = client.create_experiment(name)
    client.create_registered_model(name)
    suite["experiments"][name] = exp
    suite["models"][name] = name
    return exp


def build_order(client: MlflowClient) -> Suite:
    suite: Suite = {"experiments": {}, "models": {}}
    exp = _experiment(client, "order_metric", suite)
    epochs = ["9", "10", "100", "2", "30", "4", "11", "1"]  # written here: text or number?
    for i, (x, y) in enumerate(zip([None, "nan", "inf", "-inf", "-1000", "0", "0", "1000"],
                                   ["1", "2", "3", "4", "5", "6", "7", "8"], strict=True)):
        cheap_run(client, exp, "order_metric", name=f"{x}/{y}", start=START + 1000 * i,
                  end=START + 1000 * i + 500,
                  metrics={"x": float(x), "y": float(y)} if x is not None else {},
                  params={"metric": y, "epochs": epochs[i]}, tags={"metric": y})
    exp = _experiment(client, "order_attrs", suite)
    mse = [0.3, 0.1, 0.5, 0.2, 0.6, 0.4]  # for test_space_order_by_search_runs' key
    for i, end in enumerate([234, None, 456, -123, 789, 123]):
        cheap_run(client, exp, "order_attrs", name=str(end), start=123 + i, end=end,
                  metrics={"Mean Square Error": mse[i]})
    exp = _experiment(client, "order_nan", suite)
    for i, x in enumerate(["nan", "inf", "-inf", "-1000", "0", "1000", "None"]):
        cheap_run(client, exp, "order_nan", name=x, start=START + 1000 * i, end=None,
                  metrics={"x": float(x)} if x != "None" else {})
    exp = _experiment(client, "order_ties", suite)
    for i in range(4):  # one start time: MLflow breaks the tie by run id
        cheap_run(client, exp, "order_ties", name=f"tie{i}", start=START + 100_000, end=None)
    exp = _experiment(client, "order_keep", suite)
    for i, tags in enumerate([{"t1": "1", "t2": "1"}, {"t2": "1"}]):
        cheap_run(client, exp, "order_keep", name=f"keep{i}", start=START, end=None, tags=tags)
    return suite


def build_versions(client: MlflowClient) -> Suite:
    exp = client.create_experiment("versions")
    names = ["RM1", "RM2", "RM3", "RM4", "RM1", "RM4"]
    for name in sorted(set(names)):
        client.create_registered_model(name)
    for i, name in enumerate(names):
        time.sleep(0.002)  # as the test: each version a different creation time
        cheap_run(client, exp, name, name=f"{name}-{i}", start=START + 1000 * i,
                  end=START + 1000 * i + 500)
    client.update_model_version(names[0], 1, "latest updated")
    return {"experiments": {"versions": exp}, "models": {}}


def build_models(client: MlflowClient) -> Suite:
    exp = client.create_experiment("models")
    models: list[tuple[str, int, dict[str, str]]] = [
        *((f"RM{i:03}", i, {}) for i in range(10)),  # the test makes 50
        ("MR1", 1, {}), ("MR2", 1, {}), ("MR3", 2, {}), ("MR4", 2, {}),
        *((f"test_for_search_{n}", 20 + i, {})
          for i, n in enumerate(["RM1", "RM2", "RM3", "RM4", "RM4A", "RM4ab"])),
        ("test_for_search_RM_by_tag1", 30, {"t1": "abc", "t2": "xyz"}),
        ("test_for_search_RM_by_tag2", 31, {"t1": "abcd", "t2": "xyz123", "t3": "XYZ"}),
    ]
    for name, second, tags in models:
        ms = START + 1000 * second
        with ExitStack() as clock:
            for where in ("sqlalchemy_store", "file_store"):
                clock.enter_context(mock.patch(
                    f"mlflow.store.model_registry.{where}.get_current_time_millis",
                    return_value=ms))
            client.create_registered_model(name, tags=tags)
            cheap_run(client, exp, name, name=name, start=ms, end=ms + 500)
    return {"experiments": {"models": exp}, "models": {}}


SUITES = {"order": build_order, "versions": build_versions, "models": build_models}
