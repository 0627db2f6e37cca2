"""Read a native manifest (`modelyard.yaml` or `modelyard.json`) from a folder, safely.

YAML is loaded with a safe loader that also refuses anchors and aliases (an alias bomb
expands to gigabytes once serialized); JSON nesting and file size are bounded; every path
must stay inside the folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .card import CARD_FIELDS
from .errors import InvalidManifest
from .writer import files_of_folder, safe_relpath

MANIFEST_NAMES = ("modelyard.yaml", "modelyard.yml", "modelyard.json")
MAX_MANIFEST_BYTES = 10 * 1024 * 1024
TOP_LEVEL = set(CARD_FIELDS) | {"model", "metric_series", "files", "source", "format"}


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise InvalidManifest(
                f"YAML aliases (*{event.anchor}) are not allowed in a manifest "
                f"(line {event.start_mark.line + 1}); write the values out in full")
        return super().compose_node(parent, index)


def find_manifest(folder: Path) -> Path | None:
    for name in MANIFEST_NAMES:
        path = Path(folder) / name
        if path.is_file() and not path.is_symlink():
            return path
    return None


def load_manifest_file(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise InvalidManifest(f"{path.name} is {size:,} bytes; a manifest is limited to "
                              f"{MAX_MANIFEST_BYTES:,}. Put metric curves in a Parquet or CSV "
                              "file and reference it")
    text = path.read_bytes().decode("utf-8", "replace")
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - safe loader subclass
    except RecursionError:
        raise InvalidManifest(f"{path.name} is nested too deeply to read") from None
    except json.JSONDecodeError as exc:
        raise InvalidManifest(f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno} "
                              f"column {exc.colno}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidManifest(f"{path.name} is not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise InvalidManifest(f"{path.name} must hold a mapping of fields (model, params, ...)")
    _check_depth(data, path.name)
    unknown = set(data) - TOP_LEVEL
    if unknown:
        names = ", ".join(sorted(map(str, unknown)))
        raise InvalidManifest(f"{path.name} has unknown fields {names}; "
                              f"valid fields: {', '.join(sorted(TOP_LEVEL))}")
    return data


def _check_depth(value: Any, where: str, limit: int = 64) -> None:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise InvalidManifest(f"{where} is nested more than {limit} levels deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


@dataclass
class FolderVersion:
    """What `add` needs to write a version described by a manifest in a folder."""

    model: str
    card: dict[str, Any]
    files: dict[str, Path]
    metric_series: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] | None = None
    aliases: list[str] = field(default_factory=list)  # set after writing (MLflow imports)


def _inside(folder: Path, rel: str, where: str) -> Path:
    rel = safe_relpath(rel, where)
    path = folder / rel
    if path.is_symlink():
        raise InvalidManifest(f"{where}: {rel!r} is a symbolic link; copy the real file in")
    real, root = path.resolve(), folder.resolve()
    if root not in real.parents and real != root:
        raise InvalidManifest(f"{where}: {rel!r} leads outside the folder")
    if not path.exists():
        raise InvalidManifest(f"{where}: {rel!r} does not exist in {folder}")
    return path


def read_folder(folder: Path, *, model: str | None = None) -> FolderVersion:
    """A folder with a manifest: its fields, its files (all but the manifest by default)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidManifest(f"{folder} is not a folder")
    manifest = find_manifest(folder)
    if manifest is None:
        raise InvalidManifest(f"{folder} has no modelyard.yaml or modelyard.json; write one "
                              "(see the README's manifest section) or drop a Hugging Face or "
                              "MLflow folder")
    data = load_manifest_file(manifest)
    name = model or data.get("model") or folder.name
    if not isinstance(name, str):
        raise InvalidManifest(f"{manifest.name}: model must be text")
    card = {k: data[k] for k in CARD_FIELDS if k in data}
    card.setdefault("origin", {"kind": "manifest", "folder": folder.name})
    source = data.get("source")
    source_files: dict[str, Path] = {}
    if source is not None:
        if not isinstance(source, dict):
            raise InvalidManifest(f"{manifest.name}: source must be a mapping")
        for rel in source.get("files") or []:
            source_files[safe_relpath(str(rel), "source.files")] = _inside(folder, str(rel),
                                                                           "source.files")
        source = dict(source)
        source["files"] = source_files
        if source.get("diff_file"):
            source["diff"] = _inside(folder, str(source.pop("diff_file")),
                                     "source.diff_file").read_bytes()
    if "files" in data:
        listed = data["files"] or []
        if not isinstance(listed, list):
            raise InvalidManifest(f"{manifest.name}: files must be a list of relative paths")
        files = {safe_relpath(str(rel), "files"): _inside(folder, str(rel), "files")
                 for rel in listed}
    else:
        files = files_of_folder(folder, exclude=[manifest.name, *source_files])
    series = data.get("metric_series") or {}
    if isinstance(series, str):
        series = _series_file(_inside(folder, series, "metric_series"))
    return FolderVersion(name, card, files, series, source)


def _series_file(path: Path) -> dict[str, Any]:
    """Curves from a Parquet or CSV file with columns key, step, value[, timestamp]."""
    import polars as pl

    try:
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
    except Exception as exc:  # polars raises many kinds
        raise InvalidManifest(f"{path.name} could not be read as a metric table: {exc}") from None
    missing = {"key", "step", "value"} - set(frame.columns)
    if missing:
        raise InvalidManifest(f"{path.name} lacks the columns {', '.join(sorted(missing))}")
    out: dict[str, Any] = {}
    for (key,), part in frame.group_by("key", maintain_order=True):
        out[str(key)] = {"steps": part["step"].to_list(), "values": part["value"].to_list(),
                         "timestamps": part["timestamp"].to_list() if "timestamp" in
                         part.columns else None}
    return out
