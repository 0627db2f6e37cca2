"""Decide what a dropped folder is and read it: our manifest first, then MLflow, then Hugging Face.

A folder that holds only weights says nothing about what they are (no name, no lineage, no
metrics), so it is refused with a message that says how to describe it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidManifest
from ..manifest import FolderVersion, find_manifest, read_folder
from ..sniff import sniff_file
from .huggingface import is_huggingface, read_huggingface
from .mlflow_model import is_mlflow_model, read_mlflow_model
from .mlflow_tracking import is_mlflow_tracking, read_mlflow_tracking

NOT_RECOGNISED = ("{folder} is not a recognised drop: add a modelyard.yaml (see README) or drop "
                  "a Hugging Face or MLflow folder")
WEIGHT_FORMATS = {"safetensors", "onnx", "gguf", "pickle", "pytorch", "joblib", "numpy", "hdf5",
                  "skops", "zip", "binary"}


def read_drop(folder: Path, *, model: str | None = None) -> list[FolderVersion]:
    """The versions a drop folder describes. `model` renames a single-model drop; an MLflow
    tracking store keeps its registered names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidManifest(f"{folder} is not a folder; drop a folder holding the model")
    if find_manifest(folder) is not None:
        return [read_folder(folder, model=model)]
    if is_mlflow_tracking(folder):
        versions = read_mlflow_tracking(folder)
        if not versions:
            raise InvalidManifest(f"{folder} is an MLflow tracking store without registered "
                                  "model versions; register the models to import in MLflow "
                                  "(mlflow.register_model) and drop it again")
        return versions
    if is_mlflow_model(folder):
        return [read_mlflow_model(folder, model=model)]
    if is_huggingface(folder):
        return [read_huggingface(folder, model=model)]
    raise InvalidManifest(NOT_RECOGNISED.format(folder=folder) + _weights_hint(folder))


def _weights_hint(folder: Path) -> str:
    """Name the weights files found, so the person sees why a bare folder is not enough."""
    weights = sorted(p.name for p in folder.iterdir()
                     if p.is_file() and not p.is_symlink()
                     and sniff_file(p).format in WEIGHT_FORMATS)[:5]
    if not weights:
        return ""
    return (f" (it holds only weights, {', '.join(weights)}, and nothing saying what they "
            "are)")
