"""Format importers: Hugging Face folders, MLflow model folders, MLflow tracking stores (file
store and SQLite), and the drop dispatcher. Fixtures are built by hand (see *_fixtures.py)."""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import hf_fixtures as hf
import mlflow_fixtures as mf
import pytest

from modelyard.store import InvalidManifest, Store
from modelyard.store.ingest.detect import read_drop
from modelyard.store.ingest.huggingface.folder import is_huggingface, read_huggingface
from modelyard.store.ingest.mlflow.common import resolve_artifacts
from modelyard.store.ingest.mlflow.model import is_mlflow_model, read_mlflow_model
from modelyard.store.ingest.mlflow.sqlite import connect_read_only
from modelyard.store.ingest.mlflow.sync import import_mlflow
from modelyard.store.ingest.mlflow.tracking import is_mlflow_tracking, read_mlflow_tracking

from helpers import write_manifest_folder


def add(store: Store, fv):
    """Write a FolderVersion the way the drop watcher does."""
    return store.add_version(fv.model, files=fv.files, metric_series=fv.metric_series,
                             source=fv.source, **fv.card)


def points(version, key: str) -> list[tuple[int, float]]:
    frame = version.metric_series(key)
    return list(zip(frame["step"].to_list(), frame["value"].to_list(), strict=True))


def same(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> bool:
    """Equal point lists, where nan equals nan."""
    return len(a) == len(b) and all(
        sa == sb and (va == vb or (math.isnan(va) and math.isnan(vb)))
        for (sa, va), (sb, vb) in zip(a, b, strict=True))


# Hugging Face ------------------------------------------------------------------------------

def test_hf_folder_card_from_config_card_weights_and_trainer_state(tmp_path: Path) -> None:
    folder = hf.build_hf_folder(tmp_path / "out")
    assert is_huggingface(folder)
    fv = read_huggingface(folder)
    card = fv.card
    assert fv.model == "bert-mrpc"  # the card's model-index name wins over the folder name
    assert card["summary"]["param_count"] == hf.BERT_PARAMS
    assert card["summary"]["dtypes"] == {"BF16": 18, "F32": 304, "I64": 16}
    assert card["summary"]["tensors"] == 5
    assert card["summary"]["largest_tensors"][0] == {
        "name": "bert.embeddings.word_embeddings.weight", "dtype": "F32", "shape": [30, 8]}
    assert card["summary"]["architectures"] == ["BertForSequenceClassification"]
    assert card["summary"]["torch_dtype"] == "float32"
    assert card["serving"] == {"framework": "transformers", "runtime": "huggingface",
                               "framework_version": "4.44.2", "task": "text-classification",
                               "architectures": ["BertForSequenceClassification"]}
    assert card["tags"]["license"] == "apache-2.0"
    assert card["tags"]["language"] == "en"
    assert "generated_from_trainer" in card["tags"] and "text classification" in card["tags"]
    assert card["datasets"] == [{"role": "train", "name": "glue"},
                                {"role": "eval", "name": "glue", "config": "mrpc",
                                 "split": "validation"}]
    # base_model and _name_or_path name the same model: the more specific relation is kept
    assert card["parents"] == [{"ref": "bert-base-uncased", "relation": "fine-tuned-from"}]
    assert card["metrics"] == {"glue/mrpc/accuracy": 0.86, "glue/mrpc/f1": 0.9,
                               "best_metric": 0.55}
    assert card["description"].startswith("# bert-mrpc\n\nThis model is a fine-tuned")
    assert card["origin"]["trainer_state"] == "checkpoint-4/trainer_state.json"
    assert card["params"]["trainer"]["train_batch_size"] == 8
    assert {"tokenizer.json", "vocab.txt", "training_args.bin", "checkpoint-2/optimizer.pt",
            "model.safetensors", "README.md"} <= set(fv.files)


def test_hf_version_keeps_curves_and_flags_pickled_training_files(store: Store,
                                                                 tmp_path: Path) -> None:
    v = add(store, read_huggingface(hf.build_hf_folder(tmp_path / "out")))
    assert v.param_count == hf.BERT_PARAMS and v.framework == "transformers"
    assert points(v, "loss") == [(1, 0.9), (2, 0.7), (3, 0.5), (4, 0.4)]
    assert points(v, "eval_accuracy") == [(2, 0.8), (4, 0.86)]
    assert points(v, "learning_rate") == [(1, 1e-5), (2, 2e-5), (3, 1.5e-5), (4, 1e-5)]
    assert v.metrics["eval_loss"] == 0.55 and v.metrics["best_metric"] == 0.55
    files = {f["path"]: f for f in v.files}
    assert files["training_args.bin"]["pickle"] and files["checkpoint-2/optimizer.pt"]["pickle"]
    assert files["model.safetensors"]["format"] == "safetensors"
    assert not files["model.safetensors"]["pickle"]
    assert v.has_pickle
    assert v.parents[0]["ref"] == "bert-base-uncased"


def test_hf_sharded_weights_are_counted_from_the_index(tmp_path: Path) -> None:
    fv = read_huggingface(hf.build_sharded_folder(tmp_path / "llama-shards"))
    assert fv.model == "llama-shards"
    assert fv.card["summary"]["param_count"] == 23
    assert fv.card["summary"]["dtypes"] == {"F16": 20, "F32": 3}
    assert fv.card["summary"]["tensors"] == 3
    assert fv.card["summary"]["torch_dtype"] == "float16"  # newer configs say `dtype`
    assert fv.card["parents"] == []  # _name_or_path is a path on the training machine


def test_hf_peft_adapter_names_its_base_and_lora_settings(tmp_path: Path) -> None:
    fv = read_huggingface(hf.build_peft_folder(tmp_path / "my-lora"), model="lora-x")
    assert fv.model == "lora-x"
    assert fv.card["parents"] == [{"ref": "meta-llama/Llama-2-7b-hf", "relation": "adapter-of"}]
    peft = fv.card["params"]["peft"]
    assert peft["r"] == 8 and peft["lora_alpha"] == 16
    assert peft["target_modules"] == ["q_proj", "v_proj"] and "layers_pattern" not in peft
    assert fv.card["summary"]["param_count"] == 512


def test_canary_pickle_would_run_code_when_loaded(tmp_path: Path) -> None:
    """Control: the canary is real, so its absence below proves nothing loaded it."""
    canary = tmp_path / "control-canary"
    payload = tmp_path / "payload.bin"
    payload.write_bytes(hf.canary_pickle(canary))
    subprocess.run([sys.executable, "-c", "import pickle,sys; "
                    "pickle.loads(open(sys.argv[1], 'rb').read())", str(payload)],
                   check=True, cwd=Path(__file__).parent, timeout=60)
    assert canary.exists()


def test_pickle_renamed_safetensors_is_flagged_and_never_loaded(store: Store,
                                                                tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    folder = hf.build_canary_folder(tmp_path / "evil", canary)
    [fv] = read_drop(folder)
    v = add(store, fv)
    [weights] = [f for f in v.files if f["path"] == "model.safetensors"]
    assert weights["format"] == "pickle" and weights["pickle"] is True
    assert v.has_pickle and v.param_count is None
    assert "not a readable safetensors file" in fv.card["summary"]["weights_notes"][0]
    assert v.open("model.safetensors") == hf.canary_pickle(canary)
    assert not canary.exists()


def test_model_card_with_python_yaml_tag_is_rejected(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    folder = hf.build_peft_folder(tmp_path / "lora")
    (folder / "README.md").write_text("---\nlicense: " + hf.python_tag_yaml(canary) +
                                      "---\nbody\n")
    with pytest.raises(InvalidManifest, match=r"README.md front matter uses the YAML tag "
                                              r"!!python/object/apply:os.system"):
        read_huggingface(folder)
    assert not canary.exists()


# MLflow model folder ----------------------------------------------------------------------

def test_mlmodel_folder_gives_serving_signature_and_requirements(store: Store,
                                                                tmp_path: Path) -> None:
    folder = mf.build_mlmodel_folder(tmp_path / "churn-sk")
    assert is_mlflow_model(folder) and not is_huggingface(folder)
    fv = read_mlflow_model(folder)
    serving = fv.card["serving"]
    assert fv.model == "churn-sk"
    assert serving["framework"] == "sklearn" and serving["framework_version"] == "1.5.1"
    assert serving["signature"]["inputs"][0] == {"type": "double", "name": "age",
                                                 "required": True}
    assert serving["signature"]["outputs"] == [{"type": "long", "required": True}]
    assert serving["input_example"] == {"columns": ["age", "plan"], "data": [[42.0, "pro"]]}
    assert serving["requirements"] == ["mlflow==3.1.0", "scikit-learn==1.5.1",
                                       "cloudpickle==3.0.0"]
    assert serving["python_version"] == "3.11.9"
    assert fv.card["training"]["run_id"] == "aaaabbbbccccddddeeeeffff00001111"
    assert fv.card["origin"]["kind"] == "mlflow-model"
    assert fv.card["origin"]["model_id"] == "m-0123456789abcdef0123456789abcdef"
    assert fv.card["origin"]["utc_time_created"] == "2025-06-01T10:00:00.123456"
    assert fv.card["summary"]["model_size_bytes"] == 1234
    v = add(store, fv)
    assert v.framework == "sklearn" and v.has_pickle
    assert {f["path"] for f in v.files} == {"MLmodel", "model.pkl", "input_example.json",
                                            "requirements.txt", "conda.yaml",
                                            "python_env.yaml"}


def test_mlmodel_with_python_object_tag_is_rejected(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    folder = mf.build_mlmodel_folder(tmp_path / "m", mlmodel="flavors:\n  sklearn: " +
                                     hf.python_tag_yaml(canary))
    with pytest.raises(InvalidManifest, match=r"MLmodel uses the YAML tag "
                                              r"!!python/object/apply:os.system.*plain YAML"):
        read_drop(folder)
    assert not canary.exists()


# MLflow tracking: legacy file store -------------------------------------------------------

def test_file_store_is_detected_from_mlruns_or_its_parent(tmp_path: Path) -> None:
    ml = mf.build_file_store(tmp_path / "proj")
    assert is_mlflow_tracking(ml) and is_mlflow_tracking(tmp_path / "proj")
    assert not is_mlflow_tracking(hf.build_hf_folder(tmp_path / "hf"))
    assert not is_mlflow_tracking(tmp_path / "empty-missing")


def test_file_store_every_registered_version_in_order(tmp_path: Path) -> None:
    fvs = read_mlflow_tracking(mf.build_file_store(tmp_path / "proj"))
    assert [(fv.model, fv.card["origin"]["model_version"]) for fv in fvs] == [
        ("churn-model", 1), ("churn-model", 2), ("vision-net", 1), ("vision-net", 2)]
    assert all(fv.card["origin"]["run_id"] != mf.RUN_UNREGISTERED for fv in fvs)


def test_file_store_import_carries_run_history_aliases_and_artifacts(store: Store,
                                                                    tmp_path: Path) -> None:
    versions = import_mlflow(store, mf.build_file_store(tmp_path / "proj")).versions
    assert [v.ref for v in versions] == ["churn-model:1", "churn-model:2", "vision-net:1",
                                         "vision-net:2"]
    v1, v2 = store.get("churn-model:1"), store.get("churn-model:2")
    assert v1.params == {"lr": "0.01", "n_estimators": "200", "optimizer/momentum": "0.9"}
    assert same(points(v1, "loss"), [(s, float(x)) for _, x, s in mf.RUN_A_LOSS])
    assert same(points(v1, "train/acc"), [(0, 0.5), (1, math.inf), (2, -math.inf),
                                          (3, 0.875)])
    assert points(v1, "old_auc") == [(0, 0.91)]  # an old 2-field line: step 0
    frame = v1.metric_series("loss")
    assert frame["timestamp"].to_list() == [ts for ts, _, _ in mf.RUN_A_LOSS]
    assert v1.metrics["loss"] == 0.25 and v1.metrics["train/acc"] == 0.875
    assert store.get("churn-model@champion").number == 2
    assert store.get("churn-model@challenger").number == 1
    assert v1.description == ""  # no version description and no run note: not the model's
    assert store.model("churn-model").description == "Predicts churn"
    assert v2.description == "Retrained with more data"
    assert v1.user == "alice" and v1.training["status"] == "FINISHED"  # as MLflow writes it
    assert v1.training["started_at"] == "2023-11-14T22:13:20.000000Z"
    assert v1.training["ended_at"] == "2023-11-14T22:23:20.000000Z"
    assert v1.tags["team"] == "risk" and v1.tags["data version"] == "2024-05"
    assert v1.tags["validated"] == "false" and v2.tags["validated"] == "true"
    assert "owner" not in v1.tags  # the registered model's tag is the model's
    assert store.model("churn-model").tags == {"owner": "risk-team"}
    assert "mlflow.log-model.history" not in v1.tags  # bookkeeping: the files hold it
    assert v1.tags["mlflow.parentRunId"] == "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5"
    assert {"ref": "mlflow-run:e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5", "relation": "child-of-run"} \
        in [{k: p[k] for k in ("ref", "relation")} for p in v1.parents]
    assert v1.tags["mlflow.source.git.commit"].startswith("0123456789")
    assert v1.source["git"] == {"commit": "0123456789abcdef0123456789abcdef01234567",
                                "branch": "main"}
    assert v1.source["entrypoint"] == "train.py"
    assert v1.origin["parent_run_id"] == "e5" * 16 and v1.origin["experiment_name"] == "churn"
    assert v2.origin["current_stage"] == "Production"
    # file:// of another machine and runs:/ both resolve to the copied artifacts
    assert {f["path"] for f in v1.files} == {f["path"] for f in v2.files} >= {"MLmodel",
                                                                              "model.pkl"}
    assert v1.framework == "sklearn" and v1.serving["signature"]["inputs"][1]["name"] == "plan"


def test_file_store_logged_model_and_missing_artifacts(store: Store, tmp_path: Path) -> None:
    import_mlflow(store, mf.build_file_store(tmp_path / "proj") / "..")
    v1, v2 = store.get("vision-net:1"), store.get("vision-net:2")
    assert {f["path"] for f in v1.files} == {"MLmodel", "model.safetensors"}
    assert v1.params == {"epochs": "3", "hidden": "64", "dropout": "0.1"}
    assert points(v1, "val_acc") == [(1, 0.7), (2, 0.8)]  # 4- and 6-field lines
    assert points(v1, "val_loss") == [(1, 0.3), (2, 0.2)]
    assert v1.origin["logged_model_id"] == mf.LOGGED_ID and v1.user == "bob"
    assert v1.framework == "pytorch" and v1.tags["framework"] == "pytorch"
    assert v1.aliases == ["prod"]
    assert v1.origin["skipped_aliases"] == ["9lives"]  # not a valid modelyard alias
    assert v2.files == [] and "s3://bucket/vision/model" in v2.origin["missing_artifacts"]


def test_import_twice_adds_nothing(store: Store, tmp_path: Path) -> None:
    ml = mf.build_file_store(tmp_path / "proj")
    first = import_mlflow(store, ml).versions
    events = {m: len(store.history(m)) for m in ("churn-model", "vision-net")}
    report = import_mlflow(store, ml)
    assert [v.ref for v in report.versions] == [v.ref for v in first]
    assert not report.created and not report.updated and not report.deprecated
    assert {m.name: m.versions for m in store.models()} == {"churn-model": 2, "vision-net": 2}
    assert {m: len(store.history(m)) for m in events} == events


def test_artifacts_outside_the_imported_folder_are_never_read(tmp_path: Path) -> None:
    """A source that exists on this machine, but outside the drop, is not pulled in."""
    stranger = "9f" * 16
    outside = tmp_path / "elsewhere" / "1" / stranger / "artifacts" / "model"
    outside.mkdir(parents=True)
    (outside / "secret.txt").write_text("not for the store")
    ml = mf.build_file_store(tmp_path / "proj")
    meta = ml / "models" / "churn-model" / "version-1" / "meta.yaml"
    meta.write_text(meta.read_text().replace(f"{mf.ALICE}/1/{mf.RUN_A}/artifacts/model",
                                             f"file://{outside}").replace(mf.RUN_A, stranger))
    fv = read_mlflow_tracking(ml)[0]
    assert fv.files == {} and "missing_artifacts" in fv.card["origin"]
    assert fv.card["origin"]["missing_run"] == stranger
    assert resolve_artifacts(ml, str(outside), {stranger}) is None
    # the same tail inside the folder is found; '..' never is
    assert resolve_artifacts(ml, f"/gone/1/{mf.RUN_A}/artifacts/model", {mf.RUN_A}) == \
        ml / "1" / mf.RUN_A / "artifacts" / "model"
    assert resolve_artifacts(ml, f"{mf.ALICE}/1/{mf.RUN_A}/../../../etc", {mf.RUN_A}) is None


# MLflow tracking: SQLite ------------------------------------------------------------------

def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sqlite_store_imported_read_only(store: Store, tmp_path: Path) -> None:
    folder = mf.build_sqlite_store(tmp_path / "work")
    db = folder / "mlflow.db"
    before = _digest(db)
    db.chmod(0o444)
    assert is_mlflow_tracking(folder)
    conn = connect_read_only(db)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM runs")
    conn.close()
    versions = import_mlflow(store, folder).versions
    assert [v.ref for v in versions] == ["forecaster:1", "forecaster:2"]
    assert _digest(db) == before
    assert sorted(p.name for p in folder.iterdir()) == ["mlflow.db", "mlruns"]  # no journal
    v1, v2 = versions
    assert same(points(v1, "rmse"), [(s, v) for s, v, _ in mf.RMSE])  # nan and inf restored
    assert points(v1, "val/rmse") == [(0, 0.5)]
    assert v1.params == {"lr": "0.1", "depth": "6"}
    assert v1.description == "first cut" and v2.description == "run note"  # its run's note
    assert store.model("forecaster").description == "Forecasts demand"
    assert v1.user == "bob" and v1.training["ended_at"] == "2023-11-14T22:14:50.000000Z"
    assert v1.tags["qa"] == "passed" and v1.tags["team"] == "forecast"
    assert "owner" not in v1.tags and store.model("forecaster").tags == {"owner": "ops"}
    assert v1.tags["mlflow.note.content"] == "run note"  # MLflow's tags kept as written
    assert v1.open("model.xgb") == b"xgboost-binary-v1"
    assert v2.open("model.xgb") == b"xgboost-binary-v2"  # models:/m-<id> → logged model
    assert v2.params["n_lags"] == "7" and points(v2, "mape") == [(0, 0.125)]
    assert v2.origin["logged_model_id"] == mf.SQL_LOGGED_ID
    assert v1.framework == "xgboost" and v1.serving["framework_version"] == "2.0.3"
    assert store.get("forecaster@champion").number == 2
    assert [v.ref for v in import_mlflow(store, folder).versions] == ["forecaster:1",
                                                                       "forecaster:2"]
    assert store.model("forecaster").versions == 2


def test_sqlite_store_without_newer_tables_still_reads(tmp_path: Path) -> None:
    folder = mf.build_sqlite_store(tmp_path / "old")
    conn = sqlite3.connect(folder / "mlflow.db")
    for table in ("registered_model_aliases", "logged_models", "logged_model_params",
                  "logged_model_metrics", "logged_model_tags"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("ALTER TABLE model_versions DROP COLUMN model_id")
    conn.commit()
    conn.close()
    fvs = read_mlflow_tracking(folder)
    assert [fv.aliases for fv in fvs] == [[], []]
    assert fvs[0].files and fvs[1].files  # v2 found through storage_location
    assert "n_lags" not in fvs[1].card["params"]


# the drop dispatcher ----------------------------------------------------------------------

def test_read_drop_dispatches_by_content(tmp_path: Path) -> None:
    manifest = write_manifest_folder(tmp_path / "native")
    (manifest / "config.json").write_text('{"model_type": "bert"}')  # the manifest still wins
    assert read_drop(manifest)[0].card["origin"]["kind"] == "manifest"
    mf.build_file_store(tmp_path / "tracking")
    assert {fv.card["origin"]["kind"] for fv in read_drop(tmp_path / "tracking")} == {"mlflow"}
    assert len(read_drop(tmp_path / "tracking" / "mlruns")) == 4
    assert len(read_drop(mf.build_sqlite_store(tmp_path / "sq"))) == 2
    mlmodel = read_drop(mf.build_mlmodel_folder(tmp_path / "mlm"), model="renamed")
    assert [(fv.model, fv.card["origin"]["kind"]) for fv in mlmodel] == [
        ("renamed", "mlflow-model")]
    [hf_version] = read_drop(hf.build_peft_folder(tmp_path / "lora"))
    assert hf_version.card["origin"]["kind"] == "huggingface"


@pytest.mark.parametrize("names", [[], ["model.safetensors"], ["model.onnx", "w.pkl"],
                                   ["model.gguf", "notes.txt"]])
def test_bare_weights_folder_is_rejected_with_a_clear_message(tmp_path: Path,
                                                              names: list[str]) -> None:
    folder = tmp_path / "bare"
    folder.mkdir()
    content = {".safetensors": hf.safetensors_bytes([("w", "F32", [2])]),
               ".onnx": b"\x08\x07\x12\x04onnx", ".pkl": b"\x80\x04K\x01.",
               ".gguf": b"GGUF\x03\x00\x00\x00", ".txt": b"hello\n"}
    for name in names:
        (folder / name).write_bytes(content[Path(name).suffix])
    with pytest.raises(InvalidManifest) as err:
        read_drop(folder)
    assert "is not a recognised drop: add a modelyard.yaml (see README) or drop a Hugging " \
           "Face or MLflow folder" in str(err.value)
    if names:
        assert "it holds only weights" in str(err.value)


def test_tracking_store_without_registered_versions_is_rejected(tmp_path: Path) -> None:
    ml = mf.build_file_store(tmp_path / "proj")
    for model in (ml / "models").iterdir():
        for path in sorted(model.rglob("*"), key=lambda p: -len(p.parts)):
            path.unlink() if path.is_file() else path.rmdir()
        model.rmdir()
    with pytest.raises(InvalidManifest, match="without registered model versions"):
        read_drop(tmp_path / "proj")


def test_ingest_never_writes_into_the_drop(tmp_path: Path, store: Store) -> None:
    folder = mf.build_file_store(tmp_path / "proj")
    before = sorted((str(p), p.stat().st_mtime_ns) for p in folder.rglob("*"))
    for fv in read_drop(tmp_path / "proj"):
        add(store, fv)
    assert sorted((str(p), p.stat().st_mtime_ns) for p in folder.rglob("*")) == before
    assert os.access(folder, os.R_OK)


def test_mlflow_times_are_milliseconds_whatever_their_size(tmp_path: Path) -> None:
    """5,000 ms after the epoch is 5 s, not 5,000 s (a guess by magnitude would say so)."""
    import yaml

    ml = mf.build_file_store(tmp_path / "proj")
    meta = ml / "1" / mf.RUN_A / "meta.yaml"
    data = yaml.safe_load(meta.read_text())
    data.update(start_time=5_000, end_time=65_000)
    meta.write_text(yaml.safe_dump(data))
    training = read_mlflow_tracking(ml)[0].card["training"]
    assert training["started_at"] == "1970-01-01T00:00:05.000000Z"
    assert training["ended_at"] == "1970-01-01T00:01:05.000000Z"
