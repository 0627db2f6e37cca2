"""How to serve a version: a KServe InferenceService and the export command for it.

The predictor's model format comes from the detected framework and file formats; the
storage URI from where `modelyard export` lays the files out; resources from the card.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from .version import Version

# framework or weights format -> KServe modelFormat name
KSERVE_FORMATS = {
    "sklearn": "sklearn", "scikit-learn": "sklearn", "skops": "sklearn",
    "xgboost": "xgboost", "lightgbm": "lightgbm", "onnx": "onnx",
    "pytorch": "pytorch", "torch": "pytorch", "transformers": "huggingface",
    "huggingface": "huggingface", "tensorflow": "tensorflow", "keras": "tensorflow",
    "mlflow": "mlflow", "pmml": "pmml", "paddle": "paddle", "triton": "triton",
}


def kserve_format(version: Version) -> str:
    """The KServe model format: the declared framework first, then the weights' format."""
    for candidate in (version.framework, (version.serving or {}).get("runtime", ""),
                      version.format):
        name = KSERVE_FORMATS.get(str(candidate or "").lower())
        if name:
            return name
    if version.origin.get("kind", "").startswith("mlflow"):
        return "mlflow"
    return "custom"


def dns_name(model: str, number: int) -> str:
    """A DNS-1123 name (lower case, digits, '-', at most 63) for Kubernetes objects."""
    base = re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-") or "model"
    return f"{base[:56].rstrip('-')}-v{number}"


def storage_uri(version: Version, base: str = "pvc://models") -> str:
    return f"{base.rstrip('/')}/{dns_name(version.model, version.number)}"


def inference_service(version: Version, *, base_uri: str = "pvc://models") -> dict[str, Any]:
    """A KServe v1beta1 InferenceService for this version, as plain data."""
    resources = dict((version.serving or {}).get("resources") or {})
    limits: dict[str, str] = {}
    if resources.get("cpu") is not None:
        limits["cpu"] = str(resources["cpu"])
    if resources.get("memory") is not None:
        limits["memory"] = str(resources["memory"])
    if resources.get("gpu"):
        limits["nvidia.com/gpu"] = str(resources["gpu"])
    predictor: dict[str, Any] = {
        "model": {
            "modelFormat": {"name": kserve_format(version)},
            "storageUri": storage_uri(version, base_uri),
        }
    }
    fw_version = (version.serving or {}).get("framework_version")
    if fw_version:
        predictor["model"]["modelFormat"]["version"] = str(fw_version)
    if limits:
        predictor["model"]["resources"] = {"requests": dict(limits), "limits": dict(limits)}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": dns_name(version.model, version.number),
            "annotations": {"modelyard/ref": version.ref,
                            "modelyard/content-digest": version.content_digest},
        },
        "spec": {"predictor": predictor},
    }


def inference_service_yaml(version: Version, *, base_uri: str = "pvc://models") -> str:
    import yaml

    return yaml.safe_dump(inference_service(version, base_uri=base_uri), sort_keys=False,
                          allow_unicode=False)


def export_command(version: Version, store_root: str) -> str:
    dest = dns_name(version.model, version.number)
    return (f"modelyard --store {shlex.quote(store_root)} export "
            f"{shlex.quote(version.ref)} ./{dest}")
