"""Decide what a dropped folder is and read it: our manifest first, then MLflow, then Hugging Face.

A folder that holds only weights says nothing about what they are (no name, no lineage, no
metrics), so it is refused with a message that says how to describe it.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from modelyard.store.errors import InvalidManifest, ModelyardError
from modelyard.store.ingest.huggingface.folder import is_huggingface, read_huggingface
from modelyard.store.ingest.manifest import FolderVersion, find_manifest, read_folder
from modelyard.store.ingest.mlflow.model import is_mlflow_model, read_mlflow_model
from modelyard.store.ingest.mlflow.tracking import is_mlflow_tracking, read_mlflow_tracking
from modelyard.store.ingest.sniff import sniff_file

NOT_RECOGNISED = ("{folder} is not a recognised drop: add a modelyard.yaml (see README) or drop "
                  "a Hugging Face or MLflow folder")
WEIGHT_FORMATS = {"safetensors", "onnx", "gguf", "pickle", "pytorch", "joblib", "numpy", "hdf5",
                  "skops", "zip", "binary"}


# What a parser raises when the bytes it reads are hostile (nested 200,000 deep, a 5,000-digit
# number, a string where a list belongs) rather than when the disk fails (OSError).
CONTENT_ERRORS = (RecursionError, OverflowError, ValueError, TypeError, KeyError, IndexError,
                  AttributeError, UnicodeError, ZeroDivisionError)


def read_drop(folder: Path, *, model: str | None = None) -> list[FolderVersion]:
    """The versions a drop folder describes. `model` renames a single-model drop; an MLflow
    tracking store keeps its registered names.

    Whatever the content, the answer is versions or a ModelyardError (a rejection, at the
    first try); only I/O errors (OSError) pass through, to be retried.
    """
    try:
        return _read(Path(folder), model)
    except ModelyardError:
        raise
    except CONTENT_ERRORS as exc:
        raise InvalidManifest(content_error(Path(folder), exc)) from None


def content_error(folder: Path, exc: BaseException) -> str:
    """The reason for a drop whose content broke a reader: the file being read when it broke
    (from the traceback's innermost frame that held a path inside the drop) and the error."""
    where = _file_in_traceback(folder, exc.__traceback__)
    kind = "nested too deeply" if isinstance(exc, RecursionError) else type(exc).__name__
    return (f"{where or folder.name} could not be read ({kind}: {str(exc)[:200]}); fix or "
            "remove the value it names, or describe the model with a modelyard.yaml")


def _file_in_traceback(folder: Path, tb: TracebackType | None) -> str | None:
    found = None
    base = str(folder.resolve())
    seen = 0
    while tb is not None and seen < 200:
        for value in tb.tb_frame.f_locals.values():
            if isinstance(value, Path) and value != folder:
                try:
                    text = str(value.resolve())
                except (OSError, RuntimeError):
                    continue
                if text.startswith(base + os.sep):
                    found = text[len(base) + 1:]
        tb, seen = tb.tb_next, seen + 1
    return found


def _read(folder: Path, model: str | None) -> list[FolderVersion]:
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
