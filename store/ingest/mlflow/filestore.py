"""Read MLflow's legacy file store (`mlruns/`): registry, runs and MLflow 3 logged models.

Only what registered versions need is read: runs and logged models are looked up by id.
Keys containing `/` are nested folders (`metrics/train/loss`), so value folders are walked
recursively; links are never followed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from modelyard.store.errors import InvalidManifest
from modelyard.store.ingest.mlflow.common import (
    DatasetRecord,
    LoggedModelRecord,
    Point,
    RegisteredRecord,
    RunRecord,
    VersionRecord,
    parse_value,
    status_name,
)
from modelyard.store.ingest.safe_read import load_yaml, read_small

_NOT_RUNS = {"models", "tags", "datasets", "traces"}
MAX_METRIC_FILE = 2 * 1024 ** 3


def is_file_store(folder: Path) -> bool:
    """Numbered experiment folders with meta.yaml, or a registry under `models/`."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    for child in _dirs(folder):
        if child.name.isdigit() and (child / "meta.yaml").is_file():
            return True
    models = folder / "models"
    return models.is_dir() and any((m / "meta.yaml").is_file() for m in _dirs(models))


def _dirs(folder: Path) -> list[Path]:
    """Sub-folders, skipping links and hidden ones (`.trash` holds deleted experiments)."""
    try:
        return sorted(p for p in folder.iterdir()
                      if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    except OSError:
        return []


def _meta(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    rel = "/".join(path.parts[-3:])
    data = load_yaml(path, where=rel)
    return data if isinstance(data, dict) else {}


def read_values(folder: Path, *, limit: int = 1024 * 1024) -> dict[str, str]:
    """One file per key (tags/, params/, metrics/), keys with '/' as sub-folders."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) / d).is_symlink())
        for name in sorted(filenames):
            path = Path(dirpath) / name
            text = read_small(path, limit)
            if text is not None:
                out[path.relative_to(folder).as_posix()] = text
    return out


def read_metrics(folder: Path) -> dict[str, list[Point]]:
    """Metric files: `ts value step` lines (2 fields in old files; 4-6 for logged models)."""
    series: dict[str, list[Point]] = {}
    for key, text in read_values(folder, limit=MAX_METRIC_FILE).items():
        points: list[Point] = []
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 2:
                continue
            value = parse_value(fields[1])
            try:
                stamp = int(float(fields[0]))
                step = int(fields[2]) if len(fields) > 2 else 0
            except ValueError:
                continue
            if value is not None:
                points.append((step, value, stamp))
        series[key] = points
    return series


class FileStoreBackend:
    """The `mlruns/` folder at `store_dir`; artifacts are resolved inside `root`."""

    kind = "file"
    uri = ""

    def __init__(self, store_dir: Path, root: Path) -> None:
        self.store_dir = Path(store_dir)
        self.root = Path(root)
        self._experiments = [d for d in _dirs(self.store_dir) if d.name != "models"]
        self._runs: dict[str, RunRecord | None] = {}  # versions often share a run

    def experiment_name(self, experiment_id: str) -> str:
        return str(_meta(self.store_dir / experiment_id / "meta.yaml").get("name") or "")

    def registered_models(self) -> list[RegisteredRecord]:
        out = []
        for folder in _dirs(self.store_dir / "models"):
            meta = _meta(folder / "meta.yaml")
            if not meta:
                continue
            model = RegisteredRecord(name=str(meta.get("name") or folder.name),
                                     description=str(meta.get("description") or ""),
                                     tags=read_values(folder / "tags"),
                                     aliases=_aliases(folder / "aliases"))
            model.versions = sorted((self._version(model.name, d) for d in _dirs(folder)
                                     if d.name.startswith("version-")),
                                    key=lambda v: v.version)
            out.append(model)
        return out

    def _version(self, name: str, folder: Path) -> VersionRecord:
        meta = _meta(folder / "meta.yaml")
        try:
            number = int(meta.get("version") or folder.name.removeprefix("version-"))
        except ValueError:
            raise InvalidManifest(f"{folder}: version is not a number") from None
        return VersionRecord(
            name=name, version=number, source=str(meta.get("source") or ""),
            run_id=str(meta.get("run_id") or ""), model_id=str(meta.get("model_id") or ""),
            description=str(meta.get("description") or ""),
            user=str(meta.get("user_id") or ""), creation_ms=_int(meta.get("creation_timestamp")),
            last_updated_ms=_int(meta.get("last_updated_timestamp")),
            current_stage=str(meta.get("current_stage") or ""),
            status=str(meta.get("status") or ""),
            storage_location=str(meta.get("storage_location") or ""),
            tags=read_values(folder / "tags"))

    def run(self, run_id: str) -> RunRecord | None:
        if run_id not in self._runs:
            self._runs[run_id] = self._find_run(run_id)
        return self._runs[run_id]

    def _find_run(self, run_id: str) -> RunRecord | None:
        if not run_id or "/" in run_id or run_id.startswith(".") or run_id in _NOT_RUNS:
            return None
        for experiment in self._experiments:
            if _is_entry(experiment / run_id):
                return self._run(experiment / run_id)
        return None

    def _run(self, folder: Path) -> RunRecord:
        meta = _meta(folder / "meta.yaml")
        return RunRecord(
            run_id=str(meta.get("run_id") or meta.get("run_uuid") or folder.name),
            experiment_id=str(meta.get("experiment_id") or folder.parent.name),
            name=str(meta.get("run_name") or ""), user=str(meta.get("user_id") or ""),
            status=status_name(meta.get("status")), start_ms=_int(meta.get("start_time")),
            end_ms=_int(meta.get("end_time")), artifact_uri=str(meta.get("artifact_uri") or ""),
            lifecycle_stage=str(meta.get("lifecycle_stage") or ""),
            params=read_values(folder / "params"), tags=read_values(folder / "tags"),
            series=read_metrics(folder / "metrics"), datasets=_datasets(folder))

    def logged_model(self, model_id: str) -> LoggedModelRecord | None:
        if not model_id.startswith("m-") or "/" in model_id:
            return None
        for experiment in self._experiments:
            folder = experiment / "models" / model_id
            if _is_entry(folder):
                return self._logged(folder)
        return None

    def logged_models_of_run(self, run_id: str) -> list[LoggedModelRecord]:
        found = []
        for experiment in self._experiments:
            for folder in _dirs(experiment / "models"):
                meta = _meta(folder / "meta.yaml")
                if meta.get("source_run_id") == run_id:
                    found.append(self._logged(folder))
        return found

    def _logged(self, folder: Path) -> LoggedModelRecord:
        meta = _meta(folder / "meta.yaml")
        params = _pairs(meta.get("params"))
        params.update(read_values(folder / "params"))
        tags = _pairs(meta.get("tags"))
        tags.update(read_values(folder / "tags"))
        return LoggedModelRecord(
            model_id=str(meta.get("model_id") or folder.name),
            experiment_id=str(meta.get("experiment_id") or folder.parent.parent.name),
            name=str(meta.get("name") or ""),
            artifact_location=str(meta.get("artifact_location") or ""),
            source_run_id=str(meta.get("source_run_id") or ""),
            model_type=str(meta.get("model_type") or ""), params=params, tags=tags,
            series=read_metrics(folder / "metrics"))


def _datasets(run: Path) -> list[DatasetRecord]:
    """`inputs/<id>/meta.yaml` of a run point at `<experiment>/datasets/<source_id>/`."""
    out = []
    for entry in _dirs(run / "inputs"):
        link = _meta(entry / "meta.yaml")
        source_id = str(link.get("source_id") or "")
        if (link.get("source_type") != "DATASET" or link.get("destination_type") != "RUN"
                or not source_id or "/" in source_id or source_id.startswith(".")):
            continue
        meta = _meta(run.parent / "datasets" / source_id / "meta.yaml")
        if not meta:
            continue
        tags = _pairs(link.get("tags"))
        out.append(DatasetRecord(
            name=str(meta.get("name") or ""), digest=str(meta.get("digest") or ""),
            source_type=str(meta.get("source_type") or ""), source=str(meta.get("source") or ""),
            schema=str(meta.get("schema") or ""), profile=str(meta.get("profile") or ""),
            context=tags.get("mlflow.data.context", "")))
    return out


def _is_entry(folder: Path) -> bool:
    return not folder.is_symlink() and (folder / "meta.yaml").is_file()


def _aliases(folder: Path) -> dict[str, int]:
    out = {}
    for alias, text in read_values(folder).items():
        if text.strip().isdigit():
            out[alias] = int(text.strip())
    return out


def _pairs(value: Any) -> dict[str, str]:
    """Params or tags kept in meta.yaml: a mapping or a list of {key, value}."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {str(p["key"]): str(p.get("value", "")) for p in value
                if isinstance(p, dict) and "key" in p}
    return {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    try:
        return int(str(value))
    except ValueError:
        return None
