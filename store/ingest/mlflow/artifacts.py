"""Every artifact of the run behind a version, not only the logged model's folder.

The model's files stay at the top of the version (MLmodel first: that is what serving and
export read); the run's other artifacts (plots, configs, predictions, notes, autolog's
`estimator.html`...) go under `mlflow-run/`, with their paths as MLflow lists them. A file
above the size limit is not copied: it is recorded in the origin as a reference (its path,
size and the URI MLflow gave it), and the import's report says so. Run artifacts that cannot
be stored (a link among them, too many files) are one such entry with `not_copied` saying
why; the version is imported with its model all the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.store.errors import InvalidManifest
from modelyard.store.ingest.mlflow.common import (
    RunRecord,
    TrackingBackend,
    inside,
    resolve_artifacts,
)
from modelyard.store.ingest.writer import files_of_folder

RUN_PREFIX = "mlflow-run/"
DEFAULT_MAX_ARTIFACT_BYTES = 100 * 1024 ** 2  # store setting `mlflow_artifact_max_bytes`


def run_artifacts(backend: TrackingBackend, run: RunRecord | None, model_dir: Path | None,
                  max_bytes: int) -> tuple[dict[str, Path], list[dict[str, Any]]]:
    """`{path in the version: file}` for the run's artifacts outside the model's folder, and
    the references kept instead of files above `max_bytes`."""
    if run is None:
        return {}, []
    base = resolve_artifacts(backend.root, run.artifact_uri, {run.run_id})
    if base is None or not base.is_dir():
        return {}, []
    try:
        found = files_of_folder(base)
    except InvalidManifest as exc:  # a link or too many files: the model itself still counts
        return {}, [{"path": "", "size": 0, "uri": run.artifact_uri,
                     "not_copied": f"the run's artifacts were not copied: {exc}"}]
    files, refs = {}, []
    for rel, path in found.items():
        if model_dir is not None and _under(path, model_dir):
            continue  # already the version's own files (a `runs:/<id>/model` source)
        size = path.stat().st_size
        if size > max_bytes:
            refs.append({"path": rel, "size": size,
                         "uri": f"{run.artifact_uri.rstrip('/')}/{rel}"})
            continue
        files[RUN_PREFIX + rel] = path
    return files, refs


def max_artifact_bytes(settings: dict[str, Any] | None, override: int | None) -> int:
    if override is not None:
        return override
    value = (settings or {}).get("mlflow_artifact_max_bytes")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return DEFAULT_MAX_ARTIFACT_BYTES


def _under(path: Path, folder: Path) -> bool:
    return folder.is_dir() and inside(path, folder) or path == folder
