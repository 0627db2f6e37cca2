"""`import-mlflow` again, on hand-built stores (see mlflow_fixtures.py): what MLflow no longer
has is deprecated, what could not be read this time is left alone. The real-MLflow tests are
in tests/mlflow_real/."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow_fixtures as mf

from modelyard.store import Store
from modelyard.store.ingest.mlflow.sync import import_mlflow


def test_a_version_unreadable_this_time_is_left_alone(store: Store, tmp_path: Path) -> None:
    ml = mf.build_file_store(tmp_path / "proj")
    import_mlflow(store, ml)
    (ml / "1" / mf.RUN_A / "artifacts" / "model" / "MLmodel").write_text("- not a mapping\n")
    report = import_mlflow(store, ml)
    # both versions come from that run's model folder; the invalid alias is said each time
    assert [s["what"] for s in report.skipped] == ["churn-model version 1",
                                                   "churn-model version 2", "vision-net @9lives"]
    assert not report.deprecated and not report.created and not report.updated
    assert [v.ref for v in report.versions] == ["vision-net:1", "vision-net:2"]
    v1, v2 = store.get("churn-model:1"), store.get("churn-model:2")
    assert not v1.deprecated and v1.aliases == ["challenger"]
    assert not v2.deprecated and v2.aliases == ["champion"]


def test_versions_and_models_gone_from_mlflow_are_deprecated(store: Store,
                                                             tmp_path: Path) -> None:
    ml = mf.build_file_store(tmp_path / "proj")
    import_mlflow(store, ml)
    shutil.rmtree(ml / "models" / "vision-net")
    shutil.rmtree(ml / "models" / "churn-model" / "version-2")
    (ml / "models" / "churn-model" / "aliases" / "champion").unlink()
    report = import_mlflow(store, ml)
    assert set(report.deprecated) == {"churn-model:2", "vision-net:1", "vision-net:2"}
    assert "no longer has the registered model vision-net" in report.deprecated["vision-net:1"]
    assert "no longer has churn-model version 2" in report.deprecated["churn-model:2"]
    assert store.get("churn-model:2").deprecated and store.get("churn-model:2").aliases == []
    assert not store.get("churn-model:1").deprecated
    again = import_mlflow(store, ml)
    assert not again.deprecated and not again.updated and not again.created


def test_a_purged_run_removes_nothing(store: Store, tmp_path: Path) -> None:
    """`mlflow gc` purged the run of churn-model:1: its tags are unknown now, not removed."""
    ml = mf.build_file_store(tmp_path / "proj")
    import_mlflow(store, ml)
    before = store.get("churn-model:1")
    tags, text = before.tags, before.description
    assert tags["team"] == "risk"  # a tag of the run
    (ml / "1" / mf.RUN_A / "meta.yaml").unlink()
    report = import_mlflow(store, ml)
    assert not report.updated and not report.deprecated
    after = store.get("churn-model:1")
    assert after.tags == tags and after.description == text and not after.deprecated


def test_a_link_among_run_artifacts_keeps_the_version(store: Store, tmp_path: Path) -> None:
    """The run's other artifacts are extras: a link among them is reported, not fatal."""
    ml = mf.build_file_store(tmp_path / "proj")
    artifacts = ml / "1" / mf.RUN_A / "artifacts"
    (artifacts / "notes.md").write_text("a note")
    (artifacts / "elsewhere").symlink_to(tmp_path)
    report = import_mlflow(store, ml)
    assert "churn-model:1" in report.created
    v1 = store.get("churn-model:1")
    assert "MLmodel" in {f["path"] for f in v1.files}
    assert "symbolic link" in v1.origin["artifact_references"][0]["not_copied"]
    assert any("symbolic link" in r.get("not_copied", "") for r in report.referenced)


def test_run_artifacts_beside_the_model_are_copied(store: Store, tmp_path: Path) -> None:
    ml = mf.build_file_store(tmp_path / "proj")
    artifacts = ml / "1" / mf.RUN_A / "artifacts"
    (artifacts / "plots").mkdir()
    (artifacts / "plots" / "roc.png").write_bytes(b"\x89PNG fake")
    import_mlflow(store, ml)
    paths = {f["path"] for f in store.get("churn-model:1").files}
    assert "mlflow-run/plots/roc.png" in paths and "MLmodel" in paths
    assert not any(p.startswith("mlflow-run/model/") for p in paths)  # the model once
