"""What both MLflow backends (file store, SQLite) hand the importer, and where artifacts are.

Records are small plain dataclasses so the mapping to model cards does not care which
backend read them. Artifact paths inside an MLflow store are URIs of the machine that wrote
them; `resolve_artifacts` finds the same tail (`<exp>/<run_id>/artifacts/...` or
`<exp>/models/m-<id>/artifacts`) inside the imported folder, and never reads outside it, so a
hostile drop cannot pull in files from elsewhere on this machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Protocol
from urllib.parse import unquote, urlparse

Point = tuple[int, float, int | None]  # step, value, timestamp in ms
RUN_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
_MODEL_ID = re.compile(r"^m-[0-9a-zA-Z]{8,}$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
ARTIFACT_BASES = ("", "mlruns", "mlartifacts")
DELETED_STAGE = "Deleted_Internal"  # MLflow's mark on a deleted model version


@dataclass
class DatasetRecord:
    """One `mlflow.log_input`: the data set and the context it was logged with."""

    name: str
    digest: str = ""
    source_type: str = ""
    source: str = ""
    schema: str = ""
    profile: str = ""
    context: str = ""


@dataclass
class RunRecord:
    run_id: str
    experiment_id: str = ""
    name: str = ""
    user: str = ""
    status: str = ""
    start_ms: int | None = None
    end_ms: int | None = None
    artifact_uri: str = ""
    lifecycle_stage: str = ""
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    series: dict[str, list[Point]] = field(default_factory=dict)
    datasets: list[DatasetRecord] = field(default_factory=list)


@dataclass
class LoggedModelRecord:
    model_id: str
    experiment_id: str = ""
    name: str = ""
    artifact_location: str = ""
    source_run_id: str = ""
    model_type: str = ""
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    series: dict[str, list[Point]] = field(default_factory=dict)


@dataclass
class VersionRecord:
    name: str
    version: int
    source: str = ""
    run_id: str = ""
    model_id: str = ""
    description: str = ""
    user: str = ""
    creation_ms: int | None = None
    last_updated_ms: int | None = None
    current_stage: str = ""
    status: str = ""
    storage_location: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def deleted(self) -> bool:
        """MLflow keeps a deleted version's row (SQLite) or folder (file store), marked."""
        return self.current_stage == DELETED_STAGE


@dataclass
class RegisteredRecord:
    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: list[VersionRecord] = field(default_factory=list)


class TrackingBackend(Protocol):
    """The few look-ups the importer needs from either backend."""

    root: Path
    kind: str
    uri: str  # the tracking store's identity, set by `open_backend`

    def registered_models(self) -> list[RegisteredRecord]: ...
    def run(self, run_id: str) -> RunRecord | None: ...
    def logged_model(self, model_id: str) -> LoggedModelRecord | None: ...
    def logged_models_of_run(self, run_id: str) -> list[LoggedModelRecord]: ...
    def experiment_name(self, experiment_id: str) -> str: ...


def status_name(status: object) -> str:
    """File stores write run status as an int, SQLite as text."""
    if isinstance(status, int):
        return RUN_STATUS.get(status, str(status))
    text = str(status or "")
    return RUN_STATUS.get(int(text), text) if text.isdigit() else text


def parse_value(text: str) -> float | None:
    """An MLflow metric value: a number, `nan`, `inf` or `-inf`."""
    try:
        return float(text)
    except ValueError:
        return None


def uri_parts(uri: str) -> list[str] | None:
    """Path components of a file URI, mlflow-artifacts URI or path; None for remote stores."""
    uri = (uri or "").strip()
    if not uri:
        return None
    if uri.startswith(("file:", "mlflow-artifacts:")):
        path = unquote(urlparse(uri).path)
    elif re.match(r"^[A-Za-z]:[\\/]", uri) or "\\" in uri:
        path = PureWindowsPath(uri).as_posix().split(":", 1)[-1]
    elif _SCHEME.match(uri):
        return None  # s3://, gs://, dbfs:/, runs:/, models:/ ...
    else:
        path = uri
    return [p for p in PurePosixPath(path).parts if p not in ("/", "", ".")]


def inside(path: Path, root: Path) -> bool:
    real, base = path.resolve(), root.resolve()
    return real == base or base in real.parents


def resolve_artifacts(root: Path, uri: str, anchors: set[str]) -> Path | None:
    """The local copy of `uri` inside `root`, matched by a tail that includes the run or model
    id and the experiment folder before it; None when no such copy exists."""
    parts = uri_parts(uri)
    if not parts or ".." in parts:
        return None
    anchors = {a for a in anchors if a} | {p for p in parts if _MODEL_ID.match(p)}
    hits = [i for i, p in enumerate(parts) if p in anchors]
    if not hits:
        return _relative(root, parts) if not uri.startswith(("/", "file:")) else None
    last_start = max(hits[0] - 1, 0)
    for start in range(0, last_start + 1):
        for base in ARTIFACT_BASES:
            candidate = root.joinpath(base, *parts[start:])
            if candidate.exists() and inside(candidate, root):
                return candidate
    return None


def _relative(root: Path, parts: list[str]) -> Path | None:
    """A relative artifact path (`./mlruns/1/...`) is relative to the imported folder."""
    candidate = root.joinpath(*parts)
    return candidate if candidate.exists() and inside(candidate, root) else None


def sub_path(base: Path, rel: str) -> Path | None:
    """`base/rel` if rel stays inside base and exists (the path part of `runs:/<id>/<rel>`)."""
    parts = [p for p in PurePosixPath(rel).parts if p not in ("/", ".")]
    if ".." in parts:
        return None
    candidate = base.joinpath(*parts)
    return candidate if candidate.exists() and inside(candidate, base) else None
