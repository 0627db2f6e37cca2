"""How to serve a version: which KServe runtime, how its files are laid out, and the
InferenceService that points at them.

`plan` reads the files and the card: an MLflow model directory goes to MLServer as is, a
Hugging Face folder to the Hugging Face server as is, ONNX weights to Triton under
`<name>/1/model.onnx`, a pickled scikit-learn model to the sklearn server as `model.pkl`;
other frameworks get their KServe runtime and their files as stored. `modelyard export`
writes that layout (export.py) and the InferenceService's `storageUri` is where it goes.

Every version gets its own name and storage path: when making the model name a DNS label
changed it or cut it short, a digest of the exact name goes into the label, so `resnet_50`,
`ResNet.50` and `resnet-50` (or two long names with one prefix) never share a deployment.
Values KServe or Kubernetes would refuse (a format no shipped runtime serves, a runtime
name that is no object name, negative or fractional-GPU resources) raise DeployRefused
naming the field (see kserve_runtimes.py).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import Any

from modelyard.store.errors import ModelyardError
from modelyard.store.index.rows import main_format
from modelyard.store.versions.kserve_runtimes import (
    KSERVE_VERSION,
    SHIPPED_FORMATS,
    SHIPPED_RUNTIMES,
    DeployRefused,
    check_runtime_name,
    quantity,
    runtimes_for,
    serves,
)
from modelyard.store.versions.version import Version

__all__ = ["DeployFormatError", "DeployRefused", "ServingPlan", "deploy_spec", "dns_name",
           "inference_service", "plan", "storage_uri"]

# framework, runtime or weights format -> KServe modelFormat name
KSERVE_FORMATS = {
    "sklearn": "sklearn", "scikit-learn": "sklearn", "skops": "sklearn",
    "xgboost": "xgboost", "lightgbm": "lightgbm", "onnx": "onnx",
    "pytorch": "pytorch", "torch": "pytorch", "transformers": "huggingface",
    "huggingface": "huggingface", "tensorflow": "tensorflow", "keras": "tensorflow",
    "mlflow": "mlflow", "pmml": "pmml", "paddle": "paddle", "triton": "triton",
}
# KServe modelFormat -> (ClusterServingRuntime, protocolVersion it needs or None)
RUNTIMES = {
    "sklearn": ("kserve-sklearnserver", None), "xgboost": ("kserve-xgbserver", None),
    "lightgbm": ("kserve-lgbserver", None), "onnx": ("kserve-tritonserver", "v2"),
    "triton": ("kserve-tritonserver", "v2"), "pytorch": ("kserve-torchserve", None),
    "tensorflow": ("kserve-tensorflow-serving", None),
    "huggingface": ("kserve-huggingfaceserver", None), "mlflow": ("kserve-mlserver", "v2"),
    "pmml": ("kserve-pmmlserver", None), "paddle": ("kserve-paddleserver", None),
}
SKLEARN_SUFFIXES = (".joblib", ".pkl", ".pickle")  # what the sklearn server loads
MAX_NAME = 45  # room for KServe's '-predictor-default' suffix within 63 characters
DIGEST_CHARS = 12  # hex of SHA-256(model name): 48 bits, too many to grind a collision
_DIGEST_TAIL = re.compile(rf"-[0-9a-f]{{{DIGEST_CHARS}}}$")


class DeployFormatError(ModelyardError):
    """A deployment format modelyard cannot write."""

    exit_code = 2


@dataclass(frozen=True)
class ServingPlan:
    """How one version is served: the KServe format and runtime, and the export layout."""

    model_format: str
    runtime: str | None
    protocol: str | None
    layout: str  # mlflow, huggingface, triton, sklearn or as-stored
    root: str = ""  # the folder inside the export that the runtime loads ("": the export)
    name: str = ""  # the name the runtime serves it under (Triton folder, HF --model_name)

    def to_dict(self) -> dict[str, Any]:
        return {"model_format": self.model_format, "runtime": self.runtime,
                "protocol": self.protocol, "layout": self.layout, "root": self.root,
                "name": self.name}


def plan(version: Version) -> ServingPlan:
    """The runtime and layout for `version`, from its files first, then its card."""
    files = version.files
    paths = [f["path"] for f in files]
    serving = version.serving or {}
    framework = str(serving.get("framework") or "").lower()
    name = _base(version.model)
    mlmodel = _marker(paths, "MLmodel")
    if mlmodel is not None:
        return _plan("mlflow", "mlflow", posixpath.dirname(mlmodel), name, serving)
    hf = _marker(paths, "config.json") or _marker(paths, "adapter_config.json")
    main = main_format(files)
    if KSERVE_FORMATS.get(framework) == "huggingface" or (
            hf is not None and main in ("safetensors", "pytorch")):
        return _plan("huggingface", "huggingface", posixpath.dirname(hf or ""), name, serving)
    if main == "onnx":
        return _plan("onnx", "triton", "", name, serving)
    fmt = KSERVE_FORMATS.get(framework) or KSERVE_FORMATS.get(main)
    if fmt is None and str(version.origin.get("kind", "")).startswith("mlflow"):
        fmt = "mlflow"
    if fmt == "sklearn" and main in ("pickle", "joblib"):
        return _plan("sklearn", "sklearn", "", name, serving)
    return _plan(fmt or main or "custom", "as-stored", "", name, serving)


def _plan(fmt: str, layout: str, root: str, name: str, serving: dict) -> ServingPlan:
    runtime, protocol = RUNTIMES.get(fmt, (None, None))
    declared = str(serving.get("runtime") or "")
    if declared.startswith("kserve-"):  # the card names a KServe runtime: use it
        runtime = declared
    return ServingPlan(fmt, runtime, protocol, layout, root, name)


def check_plan(how: ServingPlan, serving: dict) -> None:
    """Refuse a plan KServe would not serve: a runtime name that is no Kubernetes name, a
    shipped runtime that does not serve the format, or a format no shipped runtime serves
    and no runtime of your own was named for."""
    declared = str(serving.get("runtime") or "")
    if declared.startswith("kserve-"):
        check_runtime_name(declared, "serving.runtime (spec.predictor.model.runtime)")
    if how.runtime in SHIPPED_RUNTIMES and not serves(how.runtime, how.model_format):
        others = ", ".join(runtimes_for(how.model_format)) or "a runtime of your own"
        raise DeployRefused(
            f"serving.runtime is {how.runtime}, which KServe {KSERVE_VERSION} ships for "
            f"{', '.join(SHIPPED_RUNTIMES[how.runtime])}, not for modelFormat "
            f"{how.model_format!r}; use {others}, or remove serving.runtime to let modelyard "
            "choose")
    if how.runtime is None and how.model_format not in SHIPPED_FORMATS:
        raise DeployRefused(
            f"spec.predictor.model.modelFormat would be {how.model_format!r}, which no "
            f"ServingRuntime shipped with KServe {KSERVE_VERSION} serves (they serve "
            f"{', '.join(sorted(SHIPPED_FORMATS, key=str.lower))}); "
            + _format_hint(how.model_format))


def _format_hint(fmt: str) -> str:
    if fmt == "safetensors":
        return ("add the Hugging Face config.json beside the weights (served by "
                "kserve-huggingfaceserver), or name your own ServingRuntime in "
                "serving.runtime (kserve-<name>)")
    if fmt == "gguf":
        return ("serve it with a ServingRuntime of your own (e.g. llama.cpp) named in "
                "serving.runtime (kserve-<name>)")
    return ("set serving.framework to one of those, or name your own ServingRuntime in "
            "serving.runtime (kserve-<name>)")


def _marker(paths: list[str], filename: str) -> str | None:
    """The shallowest file called `filename` (an MLmodel or a config.json marks the root)."""
    hits = [p for p in paths if posixpath.basename(p) == filename]
    return min(hits, key=lambda p: (p.count("/"), p)) if hits else None


def placements(version: Version, how: ServingPlan) -> tuple[list[tuple[dict, str]],
                                                            dict[str, bytes]]:
    """Where each stored file goes in the export, and files the layout adds (Triton's
    config.pbtxt). Paths are relative to the export folder."""
    files = version.files
    if how.layout == "triton":
        main = max((f for f in files if f.get("format") == "onnx"), key=lambda f: f["size"])
        home = posixpath.dirname(main["path"])
        placed, extra = [], {}
        for f in files:
            if f is main:
                placed.append((f, f"{how.name}/1/model.onnx"))
            elif posixpath.basename(f["path"]) == "config.pbtxt":
                placed.append((f, f"{how.name}/config.pbtxt"))
            else:
                rel = posixpath.relpath(f["path"], home) if home else f["path"]
                placed.append((f, f"{how.name}/1/{rel if not rel.startswith('..') else f['path']}"))
        if not any(dest.endswith("/config.pbtxt") for _, dest in placed):
            extra[f"{how.name}/config.pbtxt"] = (f'name: "{how.name}"\n'
                                                 'backend: "onnxruntime"\n').encode()
        return placed, extra
    if how.layout == "sklearn":
        weights = [f for f in files if f.get("format") in ("pickle", "joblib")]
        main = max(weights, key=lambda f: f["size"])
        base = posixpath.basename(main["path"])
        target = base if base.endswith(SKLEARN_SUFFIXES) else (
            "model.joblib" if main.get("format") == "joblib" else "model.pkl")
        return [(f, target if f is main else f["path"]) for f in files], {}
    return [(f, f["path"]) for f in files], {}


def _base(model: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-") or "model"
    return base if base[0].isalpha() else f"m-{base}"


def dns_name(model: str, number: int) -> str:
    """A DNS-1035 label (starts with a letter; lower case, digits, '-') short enough for
    KServe to add its suffixes: the InferenceService and export folder name.

    One per model version, and stable: a name that is already such a label and fits is
    kept (`churn-xgb` gives `churn-xgb-v3`); any other gets the first 12 hex digits of
    SHA-256 of the exact name (`ResNet.50` gives `resnet-50-<digest>-v1`). A kept name
    never ends in 12 hex digits (such a name gets a digest too), so the two kinds cannot
    meet."""
    suffix = f"-v{number}"
    base = _base(model)
    room = MAX_NAME - len(suffix)
    if base == model and len(base) <= room and not _DIGEST_TAIL.search(base):
        return base + suffix
    digest = hashlib.sha256(model.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]
    return f"{base[:room - DIGEST_CHARS - 1].rstrip('-')}-{digest}{suffix}"


def storage_uri(version: Version, base: str = "pvc://models") -> str:
    """Where the export of `version` is expected: `<base>/<dns name>` plus the plan's root."""
    root = plan(version).root
    uri = f"{base.rstrip('/')}/{dns_name(version.model, version.number)}"
    return f"{uri}/{root}" if root else uri


def inference_service(version: Version, *, base_uri: str = "pvc://models",
                      storage: str | None = None) -> dict[str, Any]:
    """A KServe v1beta1 InferenceService for this version, as plain data. `storage` is the
    URI the export was uploaded to (default: `base_uri` plus the export folder name)."""
    how = plan(version)
    check_plan(how, version.serving or {})
    model: dict[str, Any] = {"modelFormat": {"name": how.model_format}}
    if how.runtime:
        model["runtime"] = how.runtime
    if how.protocol:
        model["protocolVersion"] = how.protocol
    if storage:
        model["storageUri"] = f"{storage.rstrip('/')}/{how.root}" if how.root else storage
    else:
        model["storageUri"] = storage_uri(version, base_uri)
    if how.layout == "huggingface":
        model["args"] = [f"--model_name={how.name}"]
    limits = _resources((version.serving or {}).get("resources") or {})
    if limits:
        model["resources"] = {"requests": dict(limits), "limits": dict(limits)}
    serving = version.serving or {}
    annotations = {"modelyard/ref": version.ref,
                   "modelyard/content-digest": version.content_digest}
    if serving.get("framework"):
        annotations["modelyard/framework"] = " ".join(
            str(x) for x in (serving["framework"], serving.get("framework_version") or "") if x)
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": dns_name(version.model, version.number),
                     "annotations": annotations},
        "spec": {"predictor": {"model": model}},
    }


def _resources(declared: Any) -> dict[str, str]:
    """Kubernetes quantities from the card; a value Kubernetes would refuse raises
    DeployRefused naming `serving.resources.<key>`."""
    if not isinstance(declared, dict):
        raise DeployRefused("serving.resources must map cpu, memory and gpu to quantities")
    out: dict[str, str] = {}
    for key, target in (("cpu", "cpu"), ("memory", "memory"), ("gpu", "nvidia.com/gpu")):
        value = quantity(key, declared.get(key), f"serving.resources.{key}")
        if value is not None:
            out[target] = value
    return out


def inference_service_yaml(version: Version, *, base_uri: str = "pvc://models",
                           storage: str | None = None) -> str:
    import yaml

    return yaml.safe_dump(inference_service(version, base_uri=base_uri, storage=storage),
                          sort_keys=False, allow_unicode=False)


def deploy_spec(version: Version, *, format: str = "kserve", storage_uri: str | None = None,
                base_uri: str = "pvc://models") -> str:
    """The deployment manifest of `version` in `format` (only `kserve` so far), as text."""
    if format.lower() != "kserve":
        raise DeployFormatError(f"unknown deployment format {format!r}; use kserve")
    return inference_service_yaml(version, base_uri=base_uri, storage=storage_uri)


def export_command(version: Version, store_root: str) -> str:
    dest = dns_name(version.model, version.number)
    return (f"modelyard --store {shlex.quote(store_root)} export "
            f"{shlex.quote(version.ref)} ./{dest}")
