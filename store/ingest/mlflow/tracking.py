"""Import the registered model versions of an MLflow tracking store (file store or SQLite).

Each registered version becomes one modelyard version of the same name, in MLflow's version
order, carrying its run's params, full metric history, tags, user and times, its data sets,
its aliases and the files of its artifacts. Runs that were never registered are not imported:
the registry is where a team says "this is a model". A version MLflow marks deleted is not
read. Importing again is a sync (`mlflow_sync.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.store.errors import InvalidManifest, InvalidName
from modelyard.store.ingest.manifest import FolderVersion
from modelyard.store.ingest.mlflow.artifacts import DEFAULT_MAX_ARTIFACT_BYTES, run_artifacts
from modelyard.store.ingest.mlflow.common import (
    LoggedModelRecord,
    Point,
    RegisteredRecord,
    RunRecord,
    TrackingBackend,
    VersionRecord,
    resolve_artifacts,
    sub_path,
)
from modelyard.store.ingest.mlflow.datasets import card_datasets
from modelyard.store.ingest.mlflow.filestore import FileStoreBackend, is_file_store
from modelyard.store.ingest.mlflow.model import is_mlflow_model, mlmodel_card
from modelyard.store.ingest.mlflow.sqlite import DB_NAME, SqliteBackend, is_sqlite_file
from modelyard.store.ingest.safe_read import clean_tags
from modelyard.store.ingest.writer import files_of_folder
from modelyard.store.names import check_alias
from modelyard.store.versions.card import parse_time

if TYPE_CHECKING:
    pass

# MLflow's bookkeeping tags kept under their own keys: searches such as
# tags.`mlflow.runName` = 'x' answer as in MLflow
_MLFLOW_BOOKKEEPING = ("mlflow.log-model.history",)  # JSON of every model logged: in files
RUN_DELETED_TAG = "mlflow.run.deleted"  # the run behind the version was deleted in MLflow


def _locate(path: Path) -> tuple[str, Path] | None:
    """Which backend and where: `mlflow.db`, an `mlruns/` folder, or a folder holding one."""
    path = Path(path)
    if path.is_file():
        return ("sqlite", path) if is_sqlite_file(path) else None
    db = path / DB_NAME
    if db.is_file() and not db.is_symlink() and is_sqlite_file(db):
        return "sqlite", db
    if is_file_store(path):
        return "file", path
    if is_file_store(path / "mlruns"):
        return "file", path / "mlruns"
    return None


def is_mlflow_tracking(folder: Path) -> bool:
    """An `mlruns/` file store (or a folder holding one), or a folder with `mlflow.db`."""
    return _locate(Path(folder)) is not None


def open_backend(path: Path) -> TrackingBackend:
    found = _locate(Path(path))
    if found is None:
        raise InvalidManifest(f"{path} holds no MLflow tracking store (an mlruns/ folder or "
                              "mlflow.db)")
    kind, where = found
    root = Path(path) if Path(path).is_dir() else Path(path).parent
    backend: TrackingBackend = (SqliteBackend(where, root) if kind == "sqlite"
                                else FileStoreBackend(where, root))
    backend.uri = store_uri(kind, where)
    return backend


def store_uri(kind: str, where: Path) -> str:
    """The tracking store's identity: MLflow's tracking URI of the absolute path."""
    real = Path(where).resolve()
    return f"sqlite:///{real}" if kind == "sqlite" else real.as_uri()


def close_backend(backend: TrackingBackend) -> None:
    close = getattr(backend, "close", None)
    if close:
        close()


def read_mlflow_tracking(path: Path) -> list[FolderVersion]:
    """Every live registered model version, by model name then MLflow version number.

    For drops: a dropped store sits in a claim folder that differs on every drop, so the
    path is no identity and is left out (an identical drop then dedupes by content, and a
    later `import-mlflow` recognises these versions by model, version and run)."""
    backend = open_backend(Path(path))
    try:
        found = [folder_version(backend, model, version)
                 for model in sorted(backend.registered_models(), key=lambda m: m.name)
                 for version in model.versions if not version.deleted]
    finally:
        close_backend(backend)
    for fv in found:
        fv.card["origin"].pop("tracking_store", None)
    return found


def folder_version(backend: TrackingBackend, model: RegisteredRecord, version: VersionRecord,
                   *, max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES) -> FolderVersion:
    """One version: the model's files at the top, the run's other artifacts below
    `mlflow-run/` (those above `max_artifact_bytes` as references in the origin)."""
    model_id = version.model_id or _logged_id(version.source)
    logged = backend.logged_model(model_id) if model_id else None
    run_id = version.run_id or (logged.source_run_id if logged else "")
    run = backend.run(run_id) if run_id else None
    artifacts = _artifacts(backend, version, run, logged)
    aliases, skipped = _aliases(model, version.version)
    origin = _origin(backend, model, version, run, logged, run_id)
    if artifacts is None:
        origin["missing_artifacts"] = (f"the artifacts of {version.source or 'this version'} "
                                       f"were not found inside {backend.root.name}")
    if skipped:
        origin["skipped_aliases"] = skipped
    model_dir = artifacts if artifacts is not None and artifacts.is_dir() else None
    run_files, references = run_artifacts(backend, run, model_dir, max_artifact_bytes)
    if references:
        origin["artifact_references"] = references
    card = _card(model, version, run, logged, origin)
    if artifacts is not None and artifacts.is_dir() and is_mlflow_model(artifacts):
        try:
            extra = mlmodel_card(artifacts)
        except InvalidManifest as exc:
            raise InvalidManifest(f"{model.name} version {version.version}: {exc}") from None
        card["serving"], card["summary"] = extra["serving"], extra["summary"]
    files = {**run_files, **_files(artifacts)}
    return FolderVersion(model.name, card, files, _series(run, logged), _source(run), aliases)


def ms_time(ms: int, where: str) -> str | None:
    """MLflow writes epoch milliseconds, whatever their size (a small one is no epoch
    second: `parse_time` alone would guess by magnitude)."""
    moment: datetime | int
    try:
        moment = datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        moment = ms  # parse_time names the field and the value
    return parse_time(moment, where)


def _logged_id(source: str) -> str:
    """`models:/m-<hex>` (an MLflow 3 logged model) → `m-<hex>`."""
    rest = source.removeprefix("models:/")
    return rest.split("/")[0] if rest != source and rest.startswith("m-") else ""


def _artifacts(backend: TrackingBackend, version: VersionRecord, run: RunRecord | None,
               logged: LoggedModelRecord | None) -> Path | None:
    """Where the version's files are inside the imported folder, or None."""
    root, source = backend.root, version.source
    found = None
    if logged is not None and (not source or source.startswith("models:/")):
        found = resolve_artifacts(root, logged.artifact_location, {logged.model_id})
    elif source.startswith("runs:/"):
        run_id, _, rel = source.removeprefix("runs:/").partition("/")
        found = _run_artifacts(backend, run if run and run.run_id == run_id else
                               backend.run(run_id), rel)
    elif not source.startswith("models:/"):
        found = resolve_artifacts(root, source, {version.run_id, version.model_id})
    if found is None and version.storage_location:
        found = resolve_artifacts(root, version.storage_location,
                                  {version.run_id, version.model_id})
    return found


def _run_artifacts(backend: TrackingBackend, run: RunRecord | None, rel: str) -> Path | None:
    """`runs:/<id>/<rel>`: under the run's artifacts, else (MLflow 3) its logged model `rel`."""
    if run is None:
        return None
    base = resolve_artifacts(backend.root, run.artifact_uri, {run.run_id})
    found = (sub_path(base, rel) if rel else base) if base is not None else None
    if found is None:
        for logged in backend.logged_models_of_run(run.run_id):
            if logged.name == rel.strip("/"):
                found = resolve_artifacts(backend.root, logged.artifact_location,
                                          {logged.model_id})
    return found


def _files(artifacts: Path | None) -> dict[str, Path]:
    if artifacts is None:
        return {}
    if artifacts.is_file() and not artifacts.is_symlink():
        return {artifacts.name: artifacts}
    return files_of_folder(artifacts)


def _aliases(model: RegisteredRecord, number: int) -> tuple[list[str], list[str]]:
    """Aliases of this version that modelyard accepts, and those it cannot name."""
    kept, skipped = [], []
    for alias, target in sorted(model.aliases.items()):
        if target != number:
            continue
        try:
            kept.append(check_alias(alias))
        except InvalidName:
            skipped.append(alias)
    return kept, skipped


def _visible_tags(tags: dict[str, str]) -> dict[str, str]:
    """The run's tags with their exact keys, MLflow's own `mlflow.*` ones included
    (`mlflow.user`, `mlflow.runName`, `mlflow.source.git.commit`, `mlflow.parentRunId`...),
    so MLflow's filters on them answer here; only its bulky bookkeeping is left out."""
    return {k: v for k, v in tags.items() if k not in _MLFLOW_BOOKKEEPING}


def _card(model: RegisteredRecord, version: VersionRecord, run: RunRecord | None,
          logged: LoggedModelRecord | None, origin: dict[str, Any]) -> dict[str, Any]:
    run_tags = run.tags if run else {}
    tags = {**_visible_tags(logged.tags if logged else {}),  # the run's own win: MLflow's
            **_visible_tags(run_tags), **version.tags,        # run filters read them
            "mlflow.model_version": str(version.version)}
    if version.current_stage and version.current_stage != "None":
        tags["mlflow.stage"] = version.current_stage
    if run is not None and run.lifecycle_stage == "deleted":
        tags[RUN_DELETED_TAG] = "true"
    return {
        # the model's description and tags are the model's (see mlflow/sync.py), not copied
        "description": version.description or run_tags.get("mlflow.note.content", ""),
        "tags": clean_tags(tags),
        "training": _training(run, version),
        "params": {**(run.params if run else {}), **(logged.params if logged else {})},
        "datasets": card_datasets(run.datasets) if run else [],
        "parents": _lineage(run),
        "metrics": {key: _latest(points) for key, points in _merged(run, logged).items()
                    if points},
        "origin": origin,
    }


def _training(run: RunRecord | None, version: VersionRecord) -> dict[str, Any]:
    if run is None:
        return {"user": version.user}
    start = ms_time(run.start_ms, "start_time") if run.start_ms else None
    end = ms_time(run.end_ms, "end_time") if run.end_ms else None
    return {"user": run.user or run.tags.get("mlflow.user") or version.user,
            "started_at": start, "ended_at": end if not start or not end or end >= start
            else None, "status": run.status, "run_id": run.run_id}  # as MLflow writes it


def _lineage(run: RunRecord | None) -> list[dict[str, str]]:
    """The run that trained the version and, for a nested run, its parent run: outside
    refs `mlflow-run:<id>` (see mlflow/sync.py, which names a version instead when the
    parent run trained one)."""
    if run is None:
        return []
    out = [{"ref": f"mlflow-run:{run.run_id}", "relation": "trained-in-run"}]
    parent = run.tags.get("mlflow.parentRunId", "")
    if parent:
        out.append({"ref": f"mlflow-run:{parent}", "relation": "child-of-run"})
    return out


def _origin(backend: TrackingBackend, model: RegisteredRecord, version: VersionRecord,
            run: RunRecord | None, logged: LoggedModelRecord | None, run_id: str
            ) -> dict[str, Any]:
    experiment = (run.experiment_id if run else "") or (logged.experiment_id if logged else "")
    origin: dict[str, Any] = {
        "kind": "mlflow", "store": backend.kind, "registered_model": model.name,
        "model_version": version.version, "run_id": run_id, "experiment_id": experiment,
        "experiment_name": backend.experiment_name(experiment) if experiment else "",
        "source": version.source, "tracking_store": backend.uri}
    extras = {
        "run_name": (run.name or run.tags.get("mlflow.runName", "")) if run else "",
        "parent_run_id": run.tags.get("mlflow.parentRunId", "") if run else "",
        "run_lifecycle": run.lifecycle_stage if run else "",
        "artifact_uri": run.artifact_uri if run else "",  # MLflow's `attributes.artifact_uri`
        "logged_model_id": logged.model_id if logged else "",
        "current_stage": version.current_stage, "version_status": version.status,
        "registered_at": ms_time(version.creation_ms, "creation_time")
        if version.creation_ms else ""}
    origin.update({k: v for k, v in extras.items() if v and v != "None"})
    if run_id and run is None:
        origin["missing_run"] = run_id
    return origin


def _merged(run: RunRecord | None, logged: LoggedModelRecord | None
            ) -> dict[str, list[Point]]:
    """The run's curves, plus a logged model's curves for keys the run lacks."""
    series = dict(run.series) if run else {}
    for key, points in (logged.series if logged else {}).items():
        series.setdefault(key, points)
    return series


def _latest(points: list[Point]) -> float:
    """MLflow's latest value: highest step, then newest timestamp, then last logged."""
    best = max(range(len(points)), key=lambda i: (points[i][0], points[i][2] or 0, i))
    return points[best][1]


def _series(run: RunRecord | None, logged: LoggedModelRecord | None) -> dict[str, Any]:
    return {key: {"steps": [p[0] for p in points], "values": [p[1] for p in points],
                  "timestamps": [p[2] for p in points]}
            for key, points in _merged(run, logged).items() if points}


def _source(run: RunRecord | None) -> dict[str, Any] | None:
    """The run's source tags as modelyard's source record (entry point and git)."""
    tags = run.tags if run else {}
    git = {"commit": tags.get("mlflow.source.git.commit"),
           "branch": tags.get("mlflow.source.git.branch"),
           "remote": tags.get("mlflow.source.git.repoURL")}
    git = {k: v for k, v in git.items() if v}
    entry = tags.get("mlflow.source.name", "")
    if not git and not entry:
        return None
    return {"entrypoint": entry, "git": git}
