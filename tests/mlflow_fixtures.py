"""MLflow stores built by hand from the formats' facts (no mlflow installed).

A legacy `mlruns/` file store written on another machine (absolute `file://` paths of
/home/alice), and an MLflow 3 `mlflow.db` with its artifact folder (paths of /Users/bob).
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import sys
from pathlib import Path

import yaml
from hf_fixtures import safetensors_bytes

ALICE = "file:///home/alice/proj/mlruns"
RUN_A = "a1" * 16
RUN_B = "b2" * 16
RUN_UNREGISTERED = "c3" * 16
LOGGED_ID = "m-" + "d4" * 16
T0 = 1_700_000_000_000

SKLEARN_MLMODEL = """artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.9
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.1
mlflow_version: 3.1.0
model_id: m-0123456789abcdef0123456789abcdef
model_size_bytes: 1234
model_uuid: 5f1b2c3d4e5f46a7b8c9d0e1f2a3b4c5
run_id: aaaabbbbccccddddeeeeffff00001111
saved_input_example_info:
  artifact_path: input_example.json
  pandas_orient: split
  type: dataframe
signature:
  inputs: '[{"type": "double", "name": "age", "required": true}, {"type": "string", "name":
    "plan", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
utc_time_created: 2025-06-01 10:00:00.123456
"""


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def write_yaml(path: Path, data: dict) -> None:
    write(path, yaml.safe_dump(data, sort_keys=True))


def build_mlmodel_folder(folder: Path, mlmodel: str = SKLEARN_MLMODEL) -> Path:
    """An sklearn model as `mlflow.sklearn.save_model` leaves it."""
    write(folder / "MLmodel", mlmodel)
    write(folder / "model.pkl", pickle.dumps({"coef": [0.5, -1.25]}, protocol=4))
    write(folder / "input_example.json",
          json.dumps({"columns": ["age", "plan"], "data": [[42.0, "pro"]]}))
    write(folder / "requirements.txt",
          "mlflow==3.1.0\nscikit-learn==1.5.1  # pinned\n\n-r extra.txt\n")
    write_yaml(folder / "conda.yaml", {"channels": ["conda-forge"], "dependencies": [
        "python=3.11.9", "pip<=24.0",
        {"pip": ["mlflow==3.1.0", "scikit-learn==1.5.1", "cloudpickle==3.0.0"]}],
        "name": "mlflow-env"})
    write_yaml(folder / "python_env.yaml", {"python": "3.11.9", "build_dependencies": ["pip"],
                                            "dependencies": ["-r requirements.txt"]})
    return folder


def _run(exp: Path, run_id: str, *, name: str, user: str, status: int, start: int,
         end: int | None, params: dict, tags: dict, metrics: dict[str, str]) -> Path:
    folder = exp / run_id
    write_yaml(folder / "meta.yaml", {
        "artifact_uri": f"{ALICE}/{exp.name}/{run_id}/artifacts", "end_time": end,
        "entry_point_name": "", "experiment_id": exp.name, "lifecycle_stage": "active",
        "run_id": run_id, "run_name": name, "run_uuid": run_id, "source_name": "",
        "source_type": 4, "source_version": "", "start_time": start, "status": status,
        "tags": [], "user_id": user})
    for group, values in (("params", params), ("tags", tags), ("metrics", metrics)):
        for key, value in values.items():
            write(folder / group / key, value)
    return folder


def _experiment(ml: Path, exp_id: str, name: str) -> Path:
    write_yaml(ml / exp_id / "meta.yaml", {
        "artifact_location": f"{ALICE}/{exp_id}", "creation_time": T0, "experiment_id": exp_id,
        "last_update_time": T0, "lifecycle_stage": "active", "name": name})
    return ml / exp_id


def _registered(ml: Path, name: str, description: str, aliases: dict[str, str],
                tags: dict[str, str]) -> Path:
    folder = ml / "models" / name
    write_yaml(folder / "meta.yaml", {"creation_timestamp": T0, "description": description,
                                      "last_updated_timestamp": T0, "name": name})
    for alias, number in aliases.items():
        write(folder / "aliases" / alias, number)
    for key, value in tags.items():
        write(folder / "tags" / key, value)
    return folder


def _version(model: Path, number: int, *, source: str, run_id: str, description: str = "",
             tags: dict[str, str] | None = None, **extra: object) -> None:
    folder = model / f"version-{number}"
    write_yaml(folder / "meta.yaml", {
        "creation_timestamp": T0 + number * 1000, "current_stage": "None",
        "description": description, "last_updated_timestamp": T0, "name": model.name,
        "run_id": run_id, "run_link": "", "source": source, "status": "READY",
        "status_message": "", "storage_location": source if source.startswith("file:") else "",
        "user_id": "alice", "version": number, **extra})
    for key, value in (tags or {}).items():
        write(folder / "tags" / key, value)


RUN_A_LOSS = [(T0 + 1000, "0.9", 0), (T0 + 2000, "0.5", 1), (T0 + 3000, "nan", 2),
              (T0 + 4000, "0.25", 3)]
RUN_A_ACC = [(T0 + 1000, "0.5", 0), (T0 + 2000, "inf", 1), (T0 + 3000, "-inf", 2),
             (T0 + 4000, "0.875", 3)]


def _lines(points: list[tuple[int, str, int]]) -> str:
    return "".join(f"{ts} {value} {step}\n" for ts, value, step in points)


def build_file_store(parent: Path) -> Path:
    """`parent/mlruns` with two experiments, two registered models and a logged model."""
    ml = parent / "mlruns"
    (ml / ".trash").mkdir(parents=True)
    _experiment(ml, "0", "Default")
    exp1 = _experiment(ml, "1", "churn")
    run_a = _run(exp1, RUN_A, name="brave-fox-1", user="alice", status=3, start=T0,
                 end=T0 + 600_000,
                 params={"lr": "0.01", "n_estimators": "200", "optimizer/momentum": "0.9"},
                 tags={"mlflow.user": "alice", "mlflow.runName": "brave-fox-1",
                       "mlflow.source.name": "train.py", "mlflow.source.type": "LOCAL",
                       "mlflow.source.git.commit": "0123456789abcdef0123456789abcdef01234567",
                       "mlflow.source.git.branch": "main",
                       "mlflow.log-model.history": json.dumps([{"run_id": RUN_A}]),
                       "mlflow.parentRunId": "e5" * 16, "team": "risk",
                       "data version": "2024-05"},
                 metrics={"loss": _lines(RUN_A_LOSS), "train/acc": _lines(RUN_A_ACC),
                          "old_auc": f"{T0 + 5000} 0.91\n"})
    build_mlmodel_folder(run_a / "artifacts" / "model")
    _run(exp1, RUN_UNREGISTERED, name="never-registered", user="alice", status=5, start=T0,
         end=T0 + 1, params={"lr": "1"}, tags={}, metrics={})
    exp2 = _experiment(ml, "2", "vision")
    _run(exp2, RUN_B, name="quiet-owl-2", user="bob", status=3, start=T0 + 10_000,
         end=T0 + 70_000, params={"epochs": "3"}, tags={"mlflow.user": "bob"},
         metrics={"val_loss": _lines([(T0 + 20_000, "0.3", 1), (T0 + 30_000, "0.2", 2)])})
    _logged_model(exp2)
    churn = _registered(ml, "churn-model", "Predicts churn",
                        {"champion": "2", "challenger": "1\n"}, {"owner": "risk-team"})
    _version(churn, 1, source=f"{ALICE}/1/{RUN_A}/artifacts/model", run_id=RUN_A,
             tags={"validated": "false"})
    _version(churn, 2, source=f"runs:/{RUN_A}/model", run_id=RUN_A,
             description="Retrained with more data", tags={"validated": "true"},
             current_stage="Production")
    vision = _registered(ml, "vision-net", "Image classifier", {"prod": "1", "9lives": "1"}, {})
    _version(vision, 1, source=f"models:/{LOGGED_ID}", run_id=RUN_B, model_id=LOGGED_ID,
             storage_location=f"{ALICE}/2/models/{LOGGED_ID}/artifacts")
    _version(vision, 2, source="s3://bucket/vision/model", run_id=RUN_B)
    return ml


LOGGED_VAL_ACC = [(T0 + 40_000, "0.7", 1), (T0 + 50_000, "0.8", 2)]


def _logged_model(exp: Path) -> Path:
    """An MLflow 3 logged model: meta.yaml (with params), params/, metrics/, tags/, artifacts/."""
    folder = exp / "models" / LOGGED_ID
    write_yaml(folder / "meta.yaml", {
        "artifact_location": f"{ALICE}/{exp.name}/models/{LOGGED_ID}/artifacts",
        "creation_timestamp": T0, "experiment_id": exp.name, "last_updated_timestamp": T0,
        "lifecycle_stage": "active", "model_id": LOGGED_ID, "model_type": "", "name": "net",
        "params": {"hidden": "64"}, "source_run_id": RUN_B, "status": "READY"})
    write(folder / "params" / "dropout", "0.1")
    write(folder / "tags" / "framework", "pytorch")
    write(folder / "tags" / "mlflow.user", "bob")
    lines = [f"{ts} {value} {step} {RUN_B}\n" for ts, value, step in LOGGED_VAL_ACC[:1]]
    lines += [f"{ts} {value} {step} {RUN_B} val-set 0a1b2c3d\n"
              for ts, value, step in LOGGED_VAL_ACC[1:]]
    write(folder / "metrics" / "val_acc", "".join(lines))
    write(folder / "artifacts" / "MLmodel", "artifact_path: net\nflavors:\n  pytorch:\n"
          "    pytorch_version: 2.4.0\n  python_function:\n    loader_module: mlflow.pytorch\n")
    write(folder / "artifacts" / "model.safetensors",
          safetensors_bytes([("fc.weight", "F32", [4, 2]), ("fc.bias", "F32", [4])]))
    return folder


# --- MLflow 3 SQLite store --------------------------------------------------------------

BOB = "file:///Users/bob/work/mlruns"
RUN_S = "f6" * 16
SQL_LOGGED_ID = "m-" + "a7" * 16
SCHEMA = """
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name VARCHAR(256) NOT NULL,
  artifact_location VARCHAR(256), lifecycle_stage VARCHAR(32), creation_time BIGINT,
  last_update_time BIGINT);
CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, name VARCHAR(250), source_type VARCHAR(20),
  source_name VARCHAR(500), entry_point_name VARCHAR(50), user_id VARCHAR(256),
  status VARCHAR(9), start_time BIGINT, end_time BIGINT, deleted_time BIGINT,
  source_version VARCHAR(50), lifecycle_stage VARCHAR(20), artifact_uri VARCHAR(200),
  experiment_id INTEGER, future_column TEXT);
CREATE TABLE params (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32));
CREATE TABLE metrics (key VARCHAR(250), value FLOAT NOT NULL, timestamp BIGINT,
  run_uuid VARCHAR(32), step BIGINT NOT NULL DEFAULT 0, is_nan BOOLEAN NOT NULL DEFAULT 0);
CREATE TABLE latest_metrics (key VARCHAR(250), value FLOAT, timestamp BIGINT, step BIGINT,
  is_nan BOOLEAN, run_uuid VARCHAR(32));
CREATE TABLE tags (key VARCHAR(250), value VARCHAR(5000), run_uuid VARCHAR(32));
CREATE TABLE registered_models (name VARCHAR(256) PRIMARY KEY, creation_time BIGINT,
  last_updated_time BIGINT, description VARCHAR(5000));
CREATE TABLE registered_model_tags (key VARCHAR(250), value VARCHAR(5000), name VARCHAR(256));
CREATE TABLE registered_model_aliases (alias VARCHAR(256), version INTEGER,
  name VARCHAR(256));
CREATE TABLE model_versions (name VARCHAR(256), version INTEGER, creation_time BIGINT,
  last_updated_time BIGINT, description VARCHAR(5000), user_id VARCHAR(256),
  current_stage VARCHAR(20), source VARCHAR(500), run_id VARCHAR(32), run_link VARCHAR(500),
  status VARCHAR(20), status_message VARCHAR(500), storage_location VARCHAR(500),
  model_id VARCHAR(36), deployment_job_state TEXT);
CREATE TABLE model_version_tags (key VARCHAR(250), value VARCHAR(5000), name VARCHAR(256),
  version INTEGER);
CREATE TABLE logged_models (model_id VARCHAR(36) PRIMARY KEY, experiment_id INTEGER,
  name VARCHAR(500), artifact_location VARCHAR(1000), creation_timestamp_ms BIGINT,
  last_updated_timestamp_ms BIGINT, status INTEGER, lifecycle_stage VARCHAR(32),
  model_type VARCHAR(500), source_run_id VARCHAR(32), status_message VARCHAR(1000));
CREATE TABLE logged_model_params (model_id VARCHAR(36), experiment_id INTEGER,
  param_key VARCHAR(255), param_value TEXT);
CREATE TABLE logged_model_metrics (model_id VARCHAR(36), metric_name VARCHAR(500),
  metric_timestamp_ms BIGINT, metric_step BIGINT, metric_value FLOAT, experiment_id INTEGER,
  run_id VARCHAR(32), dataset_uuid VARCHAR(36), dataset_name VARCHAR(500),
  dataset_digest VARCHAR(36));
CREATE TABLE logged_model_tags (model_id VARCHAR(36), experiment_id INTEGER,
  tag_key VARCHAR(255), tag_value TEXT);
CREATE TABLE datasets (dataset_uuid VARCHAR(36), experiment_id INTEGER, name VARCHAR(500),
  digest VARCHAR(36));
CREATE TABLE inputs (input_uuid VARCHAR(36), source_type VARCHAR(36), source_id VARCHAR(36),
  destination_type VARCHAR(36), destination_id VARCHAR(36), step BIGINT);
CREATE TABLE webhooks (webhook_id TEXT, url TEXT, secret TEXT);
"""
RMSE = [(0, 1.5, T0 + 100), (1, 1.25, T0 + 200), (2, float("nan"), T0 + 300),
        (3, float("inf"), T0 + 400), (4, 0.75, T0 + 500)]
XGB_MLMODEL = ("artifact_path: model\nflavors:\n  python_function:\n    loader_module: "
               "mlflow.xgboost\n  xgboost:\n    data: model.xgb\n    model_format: xgb\n"
               "    xgb_version: 2.0.3\nmlflow_version: 3.17.0\n")


def build_sqlite_store(parent: Path) -> Path:
    """`parent/mlflow.db` (MLflow 3 schema plus an unknown table and columns) and artifacts."""
    parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(parent / "mlflow.db")
    conn.executescript(SCHEMA)
    _fill(conn)
    conn.commit()
    conn.close()
    run_model = parent / "mlruns" / "1" / RUN_S / "artifacts" / "model"
    write(run_model / "MLmodel", XGB_MLMODEL)
    write(run_model / "model.xgb", b"xgboost-binary-v1")
    logged = parent / "mlruns" / "1" / "models" / SQL_LOGGED_ID / "artifacts"
    write(logged / "MLmodel", XGB_MLMODEL)
    write(logged / "model.xgb", b"xgboost-binary-v2")
    return parent


def _fill(conn: sqlite3.Connection) -> None:
    ins = conn.execute
    ins("INSERT INTO alembic_version VALUES ('1b5f0d9ad7c1')")
    for exp_id, name in ((0, "Default"), (1, "demand")):
        ins("INSERT INTO experiments VALUES (?,?,?,?,?,?)",
            (exp_id, name, f"{BOB}/{exp_id}", "active", T0, T0))
    ins("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (RUN_S, "calm-owl-7", "LOCAL", "forecast.py", "", "bob", "FINISHED", T0, T0 + 90_000,
         None, "abc123", "active", f"{BOB}/1/{RUN_S}/artifacts", 1, "ignored"))
    for key, value in (("lr", "0.1"), ("depth", "6")):
        ins("INSERT INTO params VALUES (?,?,?)", (key, value, RUN_S))
    for step, value, ts in RMSE:
        nan = value != value
        stored = 0.0 if nan else (sys.float_info.max if value == float("inf") else value)
        ins("INSERT INTO metrics VALUES (?,?,?,?,?,?)", ("rmse", stored, ts, RUN_S, step, nan))
    ins("INSERT INTO metrics VALUES (?,?,?,?,?,?)", ("val/rmse", 0.5, T0 + 600, RUN_S, 0, 0))
    for key, value in (("mlflow.user", "bob"), ("mlflow.runName", "calm-owl-7"),
                       ("mlflow.source.git.commit", "fedcba9876543210"), ("team", "forecast"),
                       ("mlflow.note.content", "run note")):
        ins("INSERT INTO tags VALUES (?,?,?)", (key, value, RUN_S))
    ins("INSERT INTO registered_models VALUES (?,?,?,?)",
        ("forecaster", T0, T0, "Forecasts demand"))
    ins("INSERT INTO registered_model_tags VALUES (?,?,?)", ("owner", "ops", "forecaster"))
    ins("INSERT INTO registered_model_aliases VALUES (?,?,?)", ("champion", 2, "forecaster"))
    ins("INSERT INTO model_versions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ("forecaster", 1, T0 + 100_000, T0, "first cut", "bob", "None", f"runs:/{RUN_S}/model",
         RUN_S, "", "READY", "", f"{BOB}/1/{RUN_S}/artifacts/model", None, "x"))
    ins("INSERT INTO model_versions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ("forecaster", 2, T0 + 200_000, T0, "", "bob", "None", f"models:/{SQL_LOGGED_ID}",
         RUN_S, "", "READY", "", f"{BOB}/1/models/{SQL_LOGGED_ID}/artifacts", SQL_LOGGED_ID,
         None))
    ins("INSERT INTO model_version_tags VALUES (?,?,?,?)", ("qa", "passed", "forecaster", 1))
    ins("INSERT INTO logged_models VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (SQL_LOGGED_ID, 1, "forecaster-model", f"{BOB}/1/models/{SQL_LOGGED_ID}/artifacts", T0,
         T0, 2, "active", "", RUN_S, None))
    ins("INSERT INTO logged_model_params VALUES (?,?,?,?)", (SQL_LOGGED_ID, 1, "n_lags", "7"))
    ins("INSERT INTO logged_model_metrics VALUES (?,?,?,?,?,?,?,?,?,?)",
        (SQL_LOGGED_ID, "mape", T0 + 700, 0, 0.125, 1, RUN_S, None, "holdout", "abcd"))
    ins("INSERT INTO logged_model_tags VALUES (?,?,?,?)", (SQL_LOGGED_ID, 1, "kind", "gbm"))
    ins("INSERT INTO webhooks VALUES ('w1', 'https://example.com', 's')")
