"""The deployment handoff: KServe InferenceServices that validate against KServe's schema,
and exports laid out the way each serving runtime loads them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import jsonschema
import pytest
import yaml

from modelyard.store import Store
from modelyard.store.demo import files as df
from modelyard.store.errors import InvalidManifest
from modelyard.store.versions.serving import (
    DeployFormatError,
    DeployRefused,
    dns_name,
    inference_service,
    plan,
)

# KServe's own InferenceService schema (v1beta1 openAPIV3Schema; source in tests/kserve/)
SCHEMA = json.loads((Path(__file__).parent / "kserve" /
                     "inferenceservice_v1beta1_schema.json").read_text())
MLMODEL = """\
artifact_path: model
flavors:
  python_function: {loader_module: mlflow.sklearn, model_path: model.pkl, python_version: 3.11.9}
  sklearn: {pickled_model: model.pkl, sklearn_version: 1.5.2, serialization_format: cloudpickle}
mlflow_version: 3.1.0
"""


def _validate(text: str) -> dict:
    spec = yaml.safe_load(text)
    jsonschema.Draft202012Validator(SCHEMA).validate(spec)
    return spec


@pytest.fixture
def versions(store: Store) -> dict[str, str]:
    rng = random.Random(3)
    sig = {"inputs": [{"name": "x", "type": "double"}]}
    sk = store.add_version("churn-sk", files={"model.bin": df.pickle_bytes(rng, 400, ["a"]),
                                              "README.md": b"# churn\n"},
                           serving={"framework": "sklearn", "framework_version": "1.5.2",
                                    "signature": sig, "resources": {"cpu": 1, "memory": "1Gi"}})
    onnx = store.add_version("churn-onnx", files={"model.onnx": df.onnx_bytes(rng, 600),
                                                  "labels.txt": b"stay\nchurn\n"},
                             serving={"framework": "xgboost", "runtime": "onnxruntime-1.20",
                                      "resources": {"cpu": "500m", "memory": "2 GB"}})
    hf = store.add_version("vit-food101", files={
        "config.json": json.dumps({"architectures": ["ViTForImageClassification"]}).encode(),
        "model.safetensors": df.safetensors_bytes(df.vit_tensors(3), {"format": "pt"}),
        "preprocessor_config.json": b"{}"},
        serving={"framework": "transformers", "resources": {"cpu": 4, "memory": "16Gi",
                                                             "gpu": 1}})
    mlflow = store.add_version("2fast-mlflow", files={
        "MLmodel": MLMODEL.encode(), "model.pkl": df.pickle_bytes(rng, 300, ["b"]),
        "conda.yaml": b"name: env\n", "requirements.txt": b"scikit-learn==1.5.2\n"},
        origin={"kind": "mlflow-model"})
    return {"sklearn": sk.ref, "onnx": onnx.ref, "huggingface": hf.ref, "mlflow": mlflow.ref}


@pytest.mark.parametrize("kind, fmt, runtime, protocol", [
    ("sklearn", "sklearn", "kserve-sklearnserver", None),
    ("onnx", "onnx", "kserve-tritonserver", "v2"),
    ("huggingface", "huggingface", "kserve-huggingfaceserver", None),
    ("mlflow", "mlflow", "kserve-mlserver", "v2"),
])
def test_inference_service_validates_against_kserve_v1beta1(
        store: Store, versions: dict[str, str], kind: str, fmt: str, runtime: str,
        protocol: str | None) -> None:
    ref = versions[kind]
    spec = _validate(store.deploy_spec(ref, format="kserve"))
    model = spec["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": fmt}
    assert model["runtime"] == runtime
    assert model.get("protocolVersion") == protocol
    v = store.get(ref)
    assert spec["metadata"]["name"] == dns_name(v.model, v.number)
    assert model["storageUri"] == f"pvc://models/{dns_name(v.model, v.number)}"
    assert spec["metadata"]["annotations"]["modelyard/ref"] == ref


def test_resources_come_from_the_serving_facts(store: Store, versions: dict[str, str]) -> None:
    hf = _validate(store.deploy_spec(versions["huggingface"]))["spec"]["predictor"]["model"]
    assert hf["resources"]["limits"] == {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}
    assert hf["resources"]["requests"] == hf["resources"]["limits"]
    assert hf["args"] == ["--model_name=vit-food101"]
    onnx = _validate(store.deploy_spec(versions["onnx"]))["spec"]["predictor"]["model"]
    assert onnx["resources"]["limits"] == {"cpu": "500m", "memory": "2G"}  # '2 GB' normalized
    assert "resources" not in _validate(store.deploy_spec(versions["mlflow"]))["spec"][
        "predictor"]["model"]


def test_a_resource_that_is_no_quantity_is_refused_naming_it(store: Store) -> None:
    v = store.add_version("odd", files={"model.onnx": b"\x08\x01"},
                          serving={"resources": {"cpu": "two", "memory": "1Gi"}})
    with pytest.raises(DeployRefused, match=r"serving\.resources\.cpu is 'two'"):
        store.deploy_spec(v.ref)


def test_storage_uri_from_argument_and_from_store_settings(store: Store,
                                                           versions: dict[str, str]) -> None:
    spec = _validate(store.deploy_spec(versions["onnx"], storage_uri="s3://models/x/"))
    assert spec["spec"]["predictor"]["model"]["storageUri"] == "s3://models/x/"
    store.config["settings"]["deploy_storage_base"] = "gs://acme-models/prod"
    spec = _validate(store.deploy_spec(versions["onnx"]))
    assert spec["spec"]["predictor"]["model"]["storageUri"] == \
        "gs://acme-models/prod/churn-onnx-v1"


def test_names_are_dns_labels_kserve_accepts(store: Store) -> None:
    for model in ("2fast", "resnet[/bold]", "A" * 120, "x" * 44 + "-" * 10 + "y"):
        v = store.add_version(model, metrics={"a": 1.0}, serving={"framework": "sklearn"})
        name = _validate(store.deploy_spec(v.ref))["metadata"]["name"]
        assert len(name) <= 45 and name[0].isalpha() and name.endswith("-v1")


def test_unknown_format_is_refused(store: Store, versions: dict[str, str]) -> None:
    with pytest.raises(DeployFormatError, match="use kserve"):
        store.deploy_spec(versions["onnx"], format="seldon")


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_export_lays_onnx_out_as_a_triton_repository(store: Store, versions: dict[str, str],
                                                     tmp_path: Path) -> None:
    dest = store.export(versions["onnx"], tmp_path / "out")
    assert _tree(dest) == {"churn-onnx/1/model.onnx", "churn-onnx/1/labels.txt",
                           "churn-onnx/config.pbtxt", "modelyard-version.json"}
    assert (dest / "churn-onnx/1/model.onnx").read_bytes() == \
        store.get(versions["onnx"]).open("model.onnx")
    config = (dest / "churn-onnx/config.pbtxt").read_text()
    assert 'name: "churn-onnx"' in config and 'backend: "onnxruntime"' in config


def test_export_names_a_pickled_sklearn_model_as_the_server_expects(
        store: Store, versions: dict[str, str], tmp_path: Path) -> None:
    dest = store.export(versions["sklearn"], tmp_path / "out")
    assert _tree(dest) == {"model.pkl", "README.md", "modelyard-version.json"}
    assert (dest / "model.pkl").read_bytes() == store.get(versions["sklearn"]).open("model.bin")


@pytest.mark.parametrize("kind", ["huggingface", "mlflow"])
def test_export_keeps_hugging_face_and_mlflow_folders_as_they_are(
        store: Store, versions: dict[str, str], tmp_path: Path, kind: str) -> None:
    v = store.get(versions[kind])
    dest = store.export(v.ref, tmp_path / kind)
    assert _tree(dest) == {f["path"] for f in v.files} | {"modelyard-version.json"}
    assert plan(v).layout == kind


def test_export_as_stored_copies_files_unchanged(store: Store, versions: dict[str, str],
                                                 tmp_path: Path) -> None:
    dest = store.export(versions["onnx"], tmp_path / "raw", layout="files")
    assert _tree(dest) == {"model.onnx", "labels.txt", "modelyard-version.json"}
    with pytest.raises(InvalidManifest, match="layout"):
        store.export(versions["onnx"], tmp_path / "other", layout="zip")


def test_storage_uri_points_at_a_nested_model_folder(store: Store) -> None:
    v = store.add_version("nested", files={"hf/config.json": b"{}",
                                           "hf/model.safetensors": df.safetensors_bytes(
                                               df.vit_tensors(2), {})})
    spec = inference_service(v)
    assert spec["spec"]["predictor"]["model"]["storageUri"] == "pvc://models/nested-v1/hf"
    assert spec["spec"]["predictor"]["model"]["runtime"] == "kserve-huggingfaceserver"
    jsonschema.Draft202012Validator(SCHEMA).validate(spec)
