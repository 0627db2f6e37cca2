"""An MLflow workload written with the real `mlflow` package, in two phases.

Run by the python of the MLflow virtual environment (never by modelyard's):

    python workload.py sqlite|file OUT

Phase 1 writes OUT/work (three registered versions with aliases, tags, descriptions, data
sets from `log_input` and artifacts of several kinds) and copies it to OUT/p1; phase 2 changes
OUT/work as a team would (two new versions, a tag changed and one deleted, a new description,
an alias moved and one deleted, a version deleted, a stage transition, a run deleted) and
copies it to OUT/p2. After each phase, `OUT/p<n>.json` holds what `MlflowClient` says.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

MODEL = "churn"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 3))
    return pd.DataFrame({"age": x[:, 0], "tenure": x[:, 1], "spend": x[:, 2],
                         "churned": (x[:, 0] + x[:, 2] > 0).astype(int)})


def train(name: str, c: float, seed: int, *, autolog: bool = False,
          nested: bool = False) -> tuple[str, str]:
    """One run: params, curves, two data sets, artifacts, a registered model version; with
    `autolog`, sklearn autolog's own artifacts too (estimator.html, plots); `nested`: a
    child of the active run."""
    data = frame(seed)
    features, target = data[["age", "tenure", "spend"]], data["churned"]
    with mlflow.start_run(run_name=name, nested=nested) as run:
        mlflow.log_params({"C": c, "penalty": "l2", "seed": seed})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1 + c), step=step)
        train_ds = mlflow.data.from_pandas(data, source=f"/data/churn/train-{seed}.csv",
                                           name="churn-train", targets="churned")
        eval_ds = mlflow.data.from_pandas(data.head(10), source="/data/churn/eval.csv",
                                          name="churn-eval", targets="churned")
        mlflow.log_input(train_ds, context="training")
        mlflow.log_input(eval_ds, context="evaluation")
        mlflow.set_tag("mlflow.note.content", f"notes for {name}")
        mlflow.set_tag("team", "risk")
        mlflow.set_tag("model owner", "alice")  # a key with a space, kept as written
        mlflow.set_tag("long note", "n" * 6000)  # longer than 5,000 characters
        mlflow.set_tag("mlflow.source.git.commit", f"{seed:040x}")
        mlflow.log_text(f"C: {c}\nseed: {seed}\n", "configs/train.yaml")
        mlflow.log_text(f"# {name}\nTrained on churn data.\n", "notes.md")
        mlflow.log_text(data.head(5).to_csv(index=False), "predictions/sample.csv")
        mlflow.log_dict({"C": c, "name": name}, "configs/params.json")
        png = Path(os.environ["WORKLOAD_TMP"]) / "roc.png"
        png.write_bytes(PNG + name.encode())
        mlflow.log_artifact(str(png), "plots")
        if autolog:
            mlflow.sklearn.autolog(log_models=False, log_datasets=False, silent=True)
        model = LogisticRegression(C=c).fit(features, target)
        if autolog:
            mlflow.sklearn.autolog(disable=True)
        mlflow.log_metric("accuracy", float(model.score(features, target)))
        info = mlflow.sklearn.log_model(
            model, name="model", signature=infer_signature(features, model.predict(features)),
            pip_requirements=["scikit-learn"], registered_model_name=MODEL)
        return run.info.run_id, str(info.registered_model_version)


def phase1(client: MlflowClient) -> dict[str, str]:
    runs = {}
    for name, c, seed in (("lr-base", 1.0, 1), ("lr-tuned", 0.5, 2)):
        runs[name], _ = train(name, c, seed, autolog=name == "lr-tuned")
    with mlflow.start_run(run_name="sweep") as sweep:  # a parent run, itself not registered
        runs["lr-bad"], _ = train("lr-bad", 9.0, 3, nested=True)
    runs["sweep"] = sweep.info.run_id
    client.set_terminated(runs["lr-bad"], status="FAILED")
    client.update_registered_model(MODEL, description="Predicts churn")
    client.set_registered_model_tag(MODEL, "owner team", "risk-ml")
    client.set_registered_model_tag(MODEL, "tier", "gold")
    client.set_registered_model_alias(MODEL, "2024-q3", "2")  # MLflow allows it; we do not
    client.set_registered_model_alias(MODEL, "champion", "1")
    client.set_registered_model_alias(MODEL, "challenger", "2")
    client.set_registered_model_alias(MODEL, "staging", "1")
    client.set_registered_model_alias(MODEL, "old", "3")
    client.set_model_version_tag(MODEL, "1", "validated", "false")
    client.set_model_version_tag(MODEL, "2", "wip", "yes")
    client.update_model_version(MODEL, "2", description="first retrain")
    return runs


def phase2(client: MlflowClient, runs: dict[str, str]) -> None:
    train("lr-may", 0.7, 4)
    train("lr-june", 0.8, 5)
    client.set_model_version_tag(MODEL, "1", "validated", "true")
    client.set_model_version_tag(MODEL, "1", "reviewer", "carol")
    client.delete_model_version_tag(MODEL, "2", "wip")
    client.update_model_version(MODEL, "2", description="retrained on May data")
    client.set_registered_model_alias(MODEL, "challenger", "4")
    client.delete_registered_model_alias(MODEL, "staging")
    client.delete_model_version(MODEL, "3")
    client.transition_model_version_stage(MODEL, "1", "Production")
    client.delete_run(runs["lr-tuned"])
    client.set_registered_model_tag(MODEL, "tier", "platinum")
    client.delete_registered_model_tag(MODEL, "owner team")
    client.update_registered_model(MODEL, description="Predicts churn, monthly")


def artifacts(client: MlflowClient, run_id: str, root: str, path: str = "") -> dict:
    """Every artifact MLflow lists for the run, with the sha256 of its bytes."""
    out = {}
    for item in client.list_artifacts(run_id, path or None):
        if item.is_dir:
            out.update(artifacts(client, run_id, root, item.path))
        else:
            out[item.path] = hashlib.sha256(Path(root, item.path).read_bytes()).hexdigest()
    return out


def view(client: MlflowClient) -> dict:
    """What MlflowClient reports: the registry, and every run behind a version."""
    model = client.get_registered_model(MODEL)
    versions, runs = {}, {}
    for mv in client.search_model_versions(f"name = '{MODEL}'"):
        versions[mv.version] = {"run_id": mv.run_id, "tags": dict(mv.tags),
                                "description": mv.description or "",
                                "stage": mv.current_stage, "source": mv.source,
                                "aliases": list(mv.aliases), "model_id": mv.model_id,
                                "last_updated": mv.last_updated_timestamp}
        logged = client.get_logged_model(mv.source.removeprefix("models:/"))
        model_root = Path(logged.artifact_location.removeprefix("file://"))
        versions[mv.version]["model_files"] = {
            p.relative_to(model_root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(model_root.rglob("*")) if p.is_file()}
        run = client.get_run(mv.run_id)
        root = run.info.artifact_uri.removeprefix("file://")
        runs[mv.run_id] = {
            "name": run.info.run_name, "status": run.info.status,
            "lifecycle_stage": run.info.lifecycle_stage, "user": run.info.user_id,
            "start_time": run.info.start_time, "end_time": run.info.end_time,
            "params": run.data.params, "tags": run.data.tags,
            "metrics": {key: [[m.step, m.value, m.timestamp]
                              for m in client.get_metric_history(mv.run_id, key)]
                        for key in run.data.metrics},
            "datasets": [{"name": d.dataset.name, "digest": d.dataset.digest,
                          "source_type": d.dataset.source_type, "source": d.dataset.source,
                          "schema": d.dataset.schema, "profile": d.dataset.profile,
                          "tags": {t.key: t.value for t in d.tags}}
                         for d in run.inputs.dataset_inputs],
            "artifacts": artifacts(client, mv.run_id, root)}
    return {"model": {"description": model.description or "", "tags": dict(model.tags),
                      "aliases": {k: int(v) for k, v in model.aliases.items()}},
            "versions": versions, "runs": runs}


def main() -> None:
    backend, out = sys.argv[1], Path(sys.argv[2]).resolve()
    work = out / "work"
    work.mkdir(parents=True)
    os.environ["WORKLOAD_TMP"] = str(out)
    os.chdir(work)  # the SQLite store puts artifacts in ./mlruns
    uri = f"sqlite:///{work}/mlflow.db" if backend == "sqlite" else f"file:{work}/mlruns"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("churn")
    client = MlflowClient(uri, uri)
    runs = phase1(client)
    (out / "p1.json").write_text(json.dumps(view(client), indent=1, sort_keys=True))
    shutil.copytree(work, out / "p1")
    phase2(client, runs)
    (out / "p2.json").write_text(json.dumps(view(client), indent=1, sort_keys=True))
    shutil.copytree(work, out / "p2")


if __name__ == "__main__":
    main()
