"""An MLflow model directory (`MLmodel` and its neighbours) as one version.

The MLmodel YAML says how the model is served (flavours, signature, environment); the
tracking importer reuses `mlmodel_card` for the artifacts of registered versions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.store.errors import InvalidManifest
from modelyard.store.ingest.manifest import FolderVersion
from modelyard.store.ingest.safe_read import (
    dict_at,
    load_json_text,
    load_yaml,
    read_small,
    read_text,
)
from modelyard.store.ingest.writer import check_card_storable, files_of_folder, safe_relpath

MAX_EXAMPLE_BYTES = 64 * 1024
MAX_REQUIREMENTS = 500
PYFUNC = "python_function"


def is_mlflow_model(folder: Path) -> bool:
    """A folder whose `MLmodel` file is a regular file."""
    path = Path(folder) / "MLmodel"
    return path.is_file() and not path.is_symlink()


def read_mlflow_model(folder: Path, *, model: str | None = None) -> FolderVersion:
    """Every file of the folder, described by its MLmodel; the model is named after the folder."""
    folder = Path(folder)
    if not is_mlflow_model(folder):
        raise InvalidManifest(f"{folder} has no MLmodel file; it is not an MLflow model folder")
    card = mlmodel_card(folder)
    mlmodel = card.pop("_mlmodel")
    card["training"] = {"run_id": str(mlmodel.get("run_id") or "")}
    card["origin"] = {"kind": "mlflow-model", "folder": folder.name, **_ids(mlmodel)}
    try:  # now, to name the file; add_version would name only the field
        check_card_storable(card)
    except InvalidManifest as exc:
        raise InvalidManifest(f"{folder.name}/MLmodel (or its environment files): {exc}"
                              ) from None
    return FolderVersion(model or folder.name, card, files_of_folder(folder))


def mlmodel_card(folder: Path) -> dict[str, Any]:
    """serving and summary from MLmodel and its environment files (plus the raw MLmodel)."""
    mlmodel = load_yaml(folder / "MLmodel", where=f"{folder.name}/MLmodel")
    if not isinstance(mlmodel, dict):
        raise InvalidManifest(f"{folder.name}/MLmodel must hold a mapping (flavors, signature…)")
    flavors = dict_at(mlmodel, "flavors")
    framework = next((name for name in flavors if name != PYFUNC), PYFUNC if flavors else "")
    serving: dict[str, Any] = {"framework": framework, "runtime": "mlflow",
                               "flavors": list(flavors)}
    version = _flavor_version(flavors.get(framework))
    if version:
        serving["framework_version"] = version
    pyfunc = dict_at(flavors, PYFUNC)
    for key in ("loader_module", "python_version"):
        if pyfunc.get(key):
            serving[key] = str(pyfunc[key])
    if mlmodel.get("mlflow_version"):
        serving["mlflow_version"] = str(mlmodel["mlflow_version"])
    signature = _signature(mlmodel.get("signature"), folder.name)
    if signature:
        serving["signature"] = signature
    example = _input_example(folder, mlmodel)
    if example is not None:
        serving["input_example"] = example
    python, requirements = environment(folder)
    if requirements:
        serving["requirements"] = requirements
    if python:
        serving["python_version"] = python
    summary: dict[str, Any] = {}
    if isinstance(mlmodel.get("model_size_bytes"), int):
        summary["model_size_bytes"] = mlmodel["model_size_bytes"]
    return {"serving": serving, "summary": summary, "_mlmodel": mlmodel}


def _ids(mlmodel: dict[str, Any]) -> dict[str, Any]:
    keys = ("run_id", "model_id", "model_uuid", "artifact_path", "utc_time_created",
            "mlflow_version", "metadata")
    return {k: mlmodel[k] for k in keys if mlmodel.get(k) not in (None, "")}


def _flavor_version(flavor: Any) -> str:
    """`sklearn_version`, `pytorch_version`, `xgb_version`…: the framework's version."""
    if not isinstance(flavor, dict):
        return ""
    for key, value in flavor.items():
        if key.endswith("_version") and key != "python_version" and value:
            return str(value)
    return ""


def _signature(signature: Any, where: str) -> dict[str, Any]:
    """Inputs, outputs and params are JSON strings inside the YAML: parse them into lists."""
    if not isinstance(signature, dict):
        return {}
    out: dict[str, Any] = {}
    for key in ("inputs", "outputs", "params"):
        value = signature.get(key)
        if isinstance(value, str) and value.strip():
            out[key] = load_json_text(value, f"{where}/MLmodel signature.{key}")
        elif isinstance(value, (list, dict)):
            out[key] = value
    return out


def _input_example(folder: Path, mlmodel: dict[str, Any]) -> Any:
    """The saved input example when it is small enough to show; else its size."""
    info = mlmodel.get("saved_input_example_info")
    name = info.get("artifact_path") if isinstance(info, dict) else None
    try:
        rel = safe_relpath(str(name), "saved_input_example_info") if name else None
    except InvalidManifest:
        rel = None
    path = folder / (rel or "input_example.json")
    if not path.is_file() or path.is_symlink():
        return None
    size = path.stat().st_size
    if size > MAX_EXAMPLE_BYTES:
        return {"file": path.name, "size": size, "note": "too large to inline"}
    try:
        return load_json_text(read_text(path, limit=MAX_EXAMPLE_BYTES), path.name)
    except InvalidManifest:
        return {"file": path.name, "size": size, "note": "not JSON"}


def environment(folder: Path) -> tuple[str, list[str]]:
    """Python version and pip requirements from requirements.txt, python_env.yaml, conda.yaml."""
    python = ""
    requirements = _requirement_lines(read_small(folder / "requirements.txt") or "")
    env = _yaml_or_empty(folder / "python_env.yaml")
    if env.get("python"):
        python = str(env["python"])
    for dep in env.get("dependencies") or []:
        if isinstance(dep, str) and not dep.startswith("-"):
            requirements.append(dep)
    conda = _yaml_or_empty(folder / "conda.yaml")
    for dep in conda.get("dependencies") or []:
        if isinstance(dep, dict):
            requirements += [p for p in dep.get("pip") or [] if isinstance(p, str)
                             and not p.startswith("-")]
        elif isinstance(dep, str) and dep.startswith("python=") and not python:
            python = dep.split("=", 1)[1]
    unique = list(dict.fromkeys(r.strip() for r in requirements if r.strip()))
    return python, unique[:MAX_REQUIREMENTS]


def _requirement_lines(text: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def _yaml_or_empty(path: Path) -> dict[str, Any]:
    if not path.is_file() or path.is_symlink():
        return {}
    data = load_yaml(path, where=f"{path.parent.name}/{path.name}")
    return data if isinstance(data, dict) else {}
