"""`import-mlflow` against stores written by the real `mlflow` package (see workload.py),
imported, changed in MLflow, imported again at the same path, and a third time unchanged;
each time compared with what `MlflowClient` reported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.ingest.mlflow.sync import import_mlflow

ROLES = {"training": "train", "evaluation": "eval"}


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def view(folder: Path, phase: int) -> dict:
    return json.loads((folder / f"p{phase}.json").read_text())


def copy_phase(folder: Path, phase: int, work: Path) -> Path:
    """The store after `phase`, always at the same path (as an rsync of it would be)."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(folder / f"p{phase}", work)
    return work


def expected_description(seen: dict, number: str) -> str:
    """The version's own description, else its run's note (never the model's)."""
    version = seen["versions"][number]
    run = seen["runs"][version["run_id"]]
    return version["description"] or run["tags"].get("mlflow.note.content", "")


def check_against_mlflow(store: Store, seen: dict, uri_end: str, legacy: tuple = ()) -> None:
    """Every live MLflow version (imported with its MLflow number) says what MLflow says."""
    for number, mv in seen["versions"].items():
        v = store.get(f"churn:{number}")
        run = seen["runs"][mv["run_id"]]
        assert not v.deprecated
        assert v.origin["registered_model"] == "churn"
        assert v.origin["model_version"] == int(number)
        assert v.origin["run_id"] == mv["run_id"]
        assert v.origin.get("tracking_store", "imported before: none").endswith(uri_end) \
            or v.number in legacy
        tags = v.tags
        assert {k: tags.get(k) for k in mv["tags"]} == mv["tags"]
        run_tags = {k: x for k, x in run["tags"].items() if k != "mlflow.log-model.history"}
        assert {k: tags.get(k) for k in run_tags} == run_tags  # exact keys, whole values
        assert len(tags["long note"]) == 6000 and tags["model owner"] == "alice"
        assert "tier" not in tags and "owner team" not in tags  # the model's, not copied
        assert tags.get("mlflow.stage") == (None if mv["stage"] == "None" else mv["stage"])
        assert (tags.get("mlflow.run.deleted") == "true") == (run["lifecycle_stage"] == "deleted")
        assert v.description == expected_description(seen, number)
        assert {k: str(x) for k, x in v.params.items()} == run["params"]
        assert v.training["status"] == run["status"]  # FINISHED, FAILED: as MLflow has it
        lineage = {(p["ref"], p["relation"]) for p in v.parents}
        assert (f"mlflow-run:{mv['run_id']}", "trained-in-run") in lineage
        parent_run = run["tags"].get("mlflow.parentRunId")
        assert bool(parent_run) == (run["name"] == "lr-bad")
        if parent_run:
            assert (f"mlflow-run:{parent_run}", "child-of-run") in lineage
        assert v.training["user"] == run["user"] and v.training["run_id"] == mv["run_id"]
        assert v.training["started_at"] == iso_ms(run["start_time"])
        assert v.training["ended_at"] == iso_ms(run["end_time"])
        for key, points in run["metrics"].items():
            frame = v.metric_series(key)
            got = list(zip(frame["step"].to_list(), frame["value"].to_list(),
                           frame["timestamp"].to_list(), strict=True))
            assert got == sorted(tuple(p) for p in points), key  # the file store: file order
        assert sorted((d["name"], d["digest"], d["role"], d["uri"]) for d in v.datasets) == \
            sorted((d["name"], d["digest"], ROLES[d["tags"]["mlflow.data.context"]],
                    json.loads(d["source"])["uri"]) for d in run["datasets"])
        files = {f["path"]: f["digest"] for f in v.files}
        assert {p.removeprefix("mlflow-run/"): d.removeprefix("sha256:")
                for p, d in files.items() if p.startswith("mlflow-run/")} == run["artifacts"]
        assert {p: d.removeprefix("sha256:") for p, d in files.items()
                if not p.startswith("mlflow-run/")} == mv["model_files"]
        assert {"MLmodel", "conda.yaml", "requirements.txt"} <= set(files)
        assert v.framework == "sklearn"
    aliases = {a: v.number for v in store.versions("churn") for a in v.aliases}
    assert aliases == {a: n for a, n in seen["model"]["aliases"].items() if a != "2024-q3"}
    model = store.model("churn")
    assert model.tags == seen["model"]["tags"]
    assert model.description == seen["model"]["description"]


@pytest.mark.parametrize("backend", ["sqlite", "file"])
def test_import_change_reimport_is_a_sync(mlflow_workload: dict[str, Path], backend: str,
                                          tmp_path: Path) -> None:
    folder = mlflow_workload[backend]
    work = copy_phase(folder, 1, tmp_path / "mlflow")
    uri_end = "mlflow/mlflow.db" if backend == "sqlite" else "mlflow/mlruns"
    store = Store.init(tmp_path / "store")

    first = import_mlflow(store, work)
    assert [v.ref for v in first.versions] == ["churn:1", "churn:2", "churn:3"]
    assert first.created == ["churn:1", "churn:2", "churn:3"] and not first.deprecated
    check_against_mlflow(store, view(folder, 1), uri_end)
    assert {"what": "churn @2024-q3", "reason": "not a valid modelyard alias name"} \
        in first.skipped
    assert store.get("churn:3").training["status"] == "FAILED"
    autologged = {f["path"] for f in store.get("churn:2").files}  # sklearn autolog's files
    assert {"mlflow-run/estimator.html", "mlflow-run/training_roc_curve.png",
            "mlflow-run/training_confusion_matrix.png"} <= autologged

    copy_phase(folder, 2, work)
    second = import_mlflow(store, work)
    assert [v.ref for v in second.versions] == ["churn:1", "churn:2", "churn:4", "churn:5"]
    assert second.created == ["churn:4", "churn:5"]
    assert store.model("churn").versions == 5  # nothing duplicated
    check_against_mlflow(store, view(folder, 2), uri_end)
    # MLflow v3 was deleted: deprecated here with the reason, and its alias gone
    v3 = store.get("churn:3")
    assert v3.deprecated and set(second.deprecated) == {"churn:3"}
    assert "deleted in MLflow" in second.deprecated["churn:3"]
    assert store.get("churn").number != 3
    # the changes are events on the existing versions, marked as MLflow's
    history = [e for e in store.history("churn") if e.seq]
    replayed = {(e.type, e.version, e.data.get("key") or e.data.get("alias") or "")
                for e in history if "mlflow" in e.data}
    assert {("tag.set", None, "tier"), ("tag.removed", None, "owner team"),
            ("description.set", None, ""),
            ("tag.set", 1, "validated"), ("tag.set", 1, "reviewer"), ("tag.removed", 2, "wip"),
            ("tag.set", 1, "mlflow.stage"), ("tag.set", 2, "mlflow.run.deleted"),
            ("description.set", 2, ""), ("alias.set", 4, "challenger"),
            ("alias.removed", None, "staging"), ("deprecated.set", 3, "")} <= replayed
    seen = view(folder, 2)
    described = next(e for e in history if e.type == "description.set" and e.version == 2)
    assert described.at == iso_ms(seen["versions"]["2"]["last_updated"])

    events = len(store.history("churn"))
    third = import_mlflow(store, work)
    assert not third.created and not third.updated and not third.deprecated
    assert [v.ref for v in third.versions] == ["churn:1", "churn:2", "churn:4", "churn:5"]
    assert len(store.history("churn")) == events

    def state() -> dict:
        return {v.ref: (v.tags, v.aliases, v.deprecated, v.description)
                for v in store.versions("churn")}

    before = state()
    store.reindex()  # the events alone give the same state
    assert state() == before


def test_edits_made_here_survive_a_reimport(mlflow_workload: dict[str, Path],
                                            tmp_path: Path) -> None:
    """Only what MLflow changed is replayed: a tag, a description and an alias set here
    stay, and an alias moved here is not moved back."""
    folder = mlflow_workload["sqlite"]
    work = copy_phase(folder, 1, tmp_path / "mlflow")
    store = Store.init(tmp_path / "store")
    import_mlflow(store, work)
    store.tag("churn:1", "validated", "by-hand")
    store.describe("churn:3", "kept here")
    store.set_alias("churn:3", "champion")
    store.set_alias("churn:2", "local-pick")
    copy_phase(folder, 2, work)
    report = import_mlflow(store, work)
    v1 = store.get("churn:1")
    assert v1.tags["validated"] == "true"  # MLflow changed it after: MLflow's value
    assert v1.tags["reviewer"] == "carol"
    assert store.get("churn@champion").number == 3  # MLflow did not move it
    assert store.get("churn@local-pick").number == 2
    assert store.get("churn:3").description == "kept here"
    assert "churn:3" in report.deprecated


def test_cli_import_reports_in_json(mlflow_workload: dict[str, Path], tmp_path: Path,
                                   cli_env: dict[str, str]) -> None:
    folder = mlflow_workload["file"]
    work = copy_phase(folder, 1, tmp_path / "mlflow")
    cli = [sys.executable, "-m", "modelyard.app.cli.main", "--store", str(tmp_path / "store")]
    subprocess.run([*cli, "init"], check=True, capture_output=True, env=cli_env)
    run = subprocess.run([*cli, "import-mlflow", str(work), "--json"], capture_output=True,
                         text=True, env=cli_env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["created"] == ["churn:1", "churn:2", "churn:3"]
    copy_phase(folder, 2, work)
    run = subprocess.run([*cli, "import-mlflow", str(work)], capture_output=True, text=True,
                         env=cli_env)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "imported churn:4 @challenger" in lines and "imported churn:5" in lines
    assert any(line.startswith("deprecated churn:3: deleted in MLflow") for line in lines)
    assert lines[-1].endswith("2 created, 4 updated, 1 deprecated, 1 skipped")
    assert any("churn @2024-q3" in line and "not a valid modelyard alias name" in line
               for line in lines), lines  # said, not only kept in a hidden field
    assert "updated churn: model tag tier=platinum; model tag owner team removed; " \
        "model description" in lines
    assert "updated churn:3: @old removed (deleted in MLflow)" in lines


def test_a_deleted_version_is_never_imported(mlflow_workload: dict[str, Path],
                                             tmp_path: Path) -> None:
    """A first import of the changed store: MLflow's deleted v3 is no shell here, the data
    sets answer queries, the deleted run is marked."""
    folder = mlflow_workload["sqlite"]
    work = copy_phase(folder, 2, tmp_path / "mlflow")
    store = Store.init(tmp_path / "store")
    report = import_mlflow(store, work)
    assert [v.origin["model_version"] for v in report.versions] == [1, 2, 4, 5]
    assert [v.ref for v in report.versions] == ["churn:1", "churn:2", "churn:3", "churn:4"]
    assert all(v.user != "" and "REDACTED" not in v.origin["source"] for v in report.versions)
    assert store.get("churn").origin["model_version"] == 5
    assert store.get("churn@challenger").origin["model_version"] == 4
    assert store.count("dataset.name = 'churn-eval'") == 4
    assert store.get("churn:2").tags["mlflow.run.deleted"] == "true"
    assert store.get("churn:2").origin["run_lifecycle"] == "deleted"
    assert "mlflow.run.deleted" not in store.get("churn:1").tags


def test_a_store_imported_before_identities_were_kept(mlflow_workload: dict[str, Path],
                                                      tmp_path: Path) -> None:
    """Versions written by the earlier importer (no `tracking_store`, unmarked aliases) are
    recognised by model, version and run: nothing is duplicated, deletions still apply."""
    from modelyard.store.ingest.mlflow.tracking import read_mlflow_tracking

    folder = mlflow_workload["file"]
    work = copy_phase(folder, 1, tmp_path / "mlflow")
    store = Store.init(tmp_path / "store")
    for fv in read_mlflow_tracking(work):  # what the earlier import_mlflow did (and drops do)
        assert "tracking_store" not in fv.card["origin"]
        version = store.add_version(fv.model, files=fv.files, metric_series=fv.metric_series,
                                    source=fv.source, **fv.card)
        for alias in fv.aliases:
            store.set_alias(version.ref, alias)
    copy_phase(folder, 2, work)
    report = import_mlflow(store, work)
    assert report.created == ["churn:4", "churn:5"]
    assert [v.ref for v in report.versions] == ["churn:1", "churn:2", "churn:4", "churn:5"]
    assert set(report.deprecated) == {"churn:3"}
    check_against_mlflow(store, view(folder, 2), "mlflow/mlruns", legacy=(1, 2))


def test_large_run_artifacts_are_references(mlflow_workload: dict[str, Path],
                                            tmp_path: Path) -> None:
    folder = mlflow_workload["sqlite"]
    work = copy_phase(folder, 1, tmp_path / "mlflow")
    store = Store.init(tmp_path / "store")
    report = import_mlflow(store, work, max_artifact_bytes=60)
    seen = view(folder, 1)
    v1 = store.get("churn:1")
    run = seen["runs"][seen["versions"]["1"]["run_id"]]
    refs = {r["path"]: r for r in v1.origin["artifact_references"]}
    copied = {f["path"].removeprefix("mlflow-run/") for f in v1.files
              if f["path"].startswith("mlflow-run/")}
    assert refs and copied and set(refs) | copied == set(run["artifacts"])
    assert all(r["size"] > 60 and r["uri"].endswith(p) for p, r in refs.items())
    assert {(r["ref"], r["path"]) for r in report.referenced} >= {("churn:1", p) for p in refs}
    assert "MLmodel" in {f["path"] for f in v1.files}  # the model is always copied


def test_a_gated_alias_is_reported_not_fatal(mlflow_workload: dict[str, Path],
                                             tmp_path: Path) -> None:
    """The store's policy gates @champion on a rule MLflow's versions fail: the import
    stores every version, sets the other aliases and says which alias it could not set."""
    folder = mlflow_workload["sqlite"]
    work = copy_phase(folder, 1, tmp_path / "mlflow")
    store = Store.init(tmp_path / "store")
    store.set_policy({"rules": {"serving": {"metrics": ["auc"]}},  # never logged
                      "aliases": {"champion": ["serving"]}})
    report = import_mlflow(store, work)
    assert report.created == ["churn:1", "churn:2", "churn:3"]
    assert [s["what"] for s in report.skipped] == ["churn @2024-q3", "churn:1: @champion set"]
    assert "serving" in report.skipped[1]["reason"]
    assert {a for v in store.versions("churn") for a in v.aliases} == {"challenger", "old",
                                                                       "staging"}
    copy_phase(folder, 2, work)
    again = import_mlflow(store, work)
    assert again.created == ["churn:4", "churn:5"] and set(again.deprecated) == {"churn:3"}
    assert store.get("churn@challenger").number == 4
