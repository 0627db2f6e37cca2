"""Read a native manifest (`modelyard.yaml` or `modelyard.json`) from a folder, safely.

YAML is loaded with a safe loader that also refuses anchors and aliases (an alias bomb
expands to gigabytes once serialized); JSON nesting and file size are bounded; every path
must stay inside the folder.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard.store import safe_yaml
from modelyard.store.errors import InvalidManifest
from modelyard.store.ingest.safe_read import read_text
from modelyard.store.ingest.writer import check_card_storable, files_of_folder, safe_relpath
from modelyard.store.versions.card import CARD_FIELDS

MANIFEST_NAMES = ("modelyard.yaml", "modelyard.yml", "modelyard.json")
MAX_MANIFEST_BYTES = 10 * 1024 * 1024
TOP_LEVEL = set(CARD_FIELDS) | {"model", "metric_series", "files", "source", "format"}


def find_manifest(folder: Path) -> Path | None:
    for name in MANIFEST_NAMES:
        path = Path(folder) / name
        if path.is_file() and not path.is_symlink():
            return path
    return None


def load_manifest_file(path: Path) -> dict[str, Any]:
    size = path.lstat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise InvalidManifest(f"{path.name} is {size:,} bytes; a manifest is limited to "
                              f"{MAX_MANIFEST_BYTES:,}. Put metric curves in a Parquet or CSV "
                              "file and reference it")
    # Opened as every drop file is (dropfs): no link on the way, beneath the claimed drop.
    text = read_text(path, limit=MAX_MANIFEST_BYTES, where=path.name)
    try:
        data = safe_yaml.parse(text, where=path.name, json_only=path.suffix == ".json",
                               max_depth=64)
    except safe_yaml.Unreadable as exc:
        raise InvalidManifest(str(exc)) from None
    if not isinstance(data, dict):
        raise InvalidManifest(f"{path.name} must hold a mapping of fields (model, params, ...)")
    unknown = set(data) - TOP_LEVEL
    if unknown:
        names = ", ".join(sorted(map(str, unknown)))
        raise InvalidManifest(f"{path.name} has unknown fields {names}; "
                              f"valid fields: {', '.join(sorted(TOP_LEVEL))}")
    return data


@dataclass
class FolderVersion:
    """What `add` needs to write a version described by a manifest in a folder."""

    model: str
    card: dict[str, Any]
    files: dict[str, Path]
    metric_series: Any = field(default_factory=dict)  # {key: points}; a SeriesTable from a file
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


def _paths(value: Any, where: str) -> list[str]:
    """A manifest's list of relative paths (None is an empty list)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidManifest(f"{where} must be a list of relative paths")
    return value


def _small(path: Path, limit: int = 64 * 1024 * 1024) -> bytes:
    """A file read whole (the dirty diff): regular and bounded, so a FIFO or a huge file
    cannot hang or exhaust the reader."""
    if not path.is_file() or path.stat().st_size > limit:
        raise InvalidManifest(f"{path.name} must be a regular file of at most {limit:,} bytes")
    return path.read_bytes()


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
    try:  # now, to name the file; add_version would name only the field
        check_card_storable(card)
    except InvalidManifest as exc:
        raise InvalidManifest(f"{manifest.name}: {exc}") from None
    source = data.get("source")
    source_files: dict[str, Path] = {}
    if source is not None:
        if not isinstance(source, dict):
            raise InvalidManifest(f"{manifest.name}: source must be a mapping")
        for rel in _paths(source.get("files"), f"{manifest.name}: source.files"):
            source_files[safe_relpath(rel, "source.files")] = _inside(folder, rel,
                                                                      "source.files")
        source = dict(source)
        source["files"] = source_files
        diff_file = source.pop("diff_file", None)
        if diff_file:
            if not isinstance(diff_file, str):
                raise InvalidManifest(f"{manifest.name}: source.diff_file must be a path")
            source["diff"] = _small(_inside(folder, diff_file, "source.diff_file"))
    if "files" in data:
        files = {safe_relpath(rel, "files"): _inside(folder, rel, "files")
                 for rel in _paths(data["files"], f"{manifest.name}: files")}
    else:
        files = files_of_folder(folder, exclude=[manifest.name, *source_files])
    series = data.get("metric_series") or {}
    if isinstance(series, str):
        series = _series_file(_inside(folder, series, "metric_series"))
    return FolderVersion(name, card, files, series, source)


WHOLE_SERIES_BYTES = 64 << 20  # a Parquet metric file this small is read whole, once


def _series_file(path: Path) -> Any:
    """Curves from a Parquet or CSV file (told apart by content) with columns key, step,
    value[, timestamp], as one polars frame: never a Python object per point, and never
    more than MAX_POINTS + 1 rows loaded (the row count is checked before a big file is
    loaded). A small Parquet file is read into memory once and kept with the frame, so a
    file already in the stored shape (the SDK's) can become the blob as it is."""
    import polars as pl

    from modelyard.store.series.frames import COLUMNS, MAX_POINTS, SeriesTable

    if not path.is_file():
        raise InvalidManifest(f"{path.name} is not a regular file; metric_series must name one")
    raw = None
    with open(path, "rb") as f:
        parquet = f.read(4) == b"PAR1"
        if parquet and os.fstat(f.fileno()).st_size <= WHOLE_SERIES_BYTES:
            f.seek(0)
            raw = f.read(WHOLE_SERIES_BYTES + 1)  # bounded even if it grows meanwhile
            raw = raw if len(raw) <= WHOLE_SERIES_BYTES else None
    try:
        if raw is not None:
            names = list(pl.read_parquet_schema(io.BytesIO(raw)))
            _check_columns(path, names)
            wanted = [c for c in COLUMNS if c in names]
            frame = pl.read_parquet(io.BytesIO(raw), columns=wanted, n_rows=MAX_POINTS + 1)
            _check_rows(path, frame.height)
            return SeriesTable(frame, raw if names == list(COLUMNS) else None)
        lazy = pl.scan_parquet(path) if parquet else pl.scan_csv(path, infer_schema_length=10_000)
        names = lazy.collect_schema().names()
        _check_columns(path, names)
        _check_rows(path, lazy.select(pl.len()).collect().item())
        frame = lazy.select([c for c in COLUMNS if c in names]).collect()
    except InvalidManifest:
        raise
    except Exception as exc:  # noqa: BLE001 - polars raises many kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidManifest(f"{path.name} could not be read as a metric table: "
                              f"{first[:300]}") from None
    return SeriesTable(frame)


def _check_columns(path: Path, names: list[str]) -> None:
    missing = {"key", "step", "value"} - set(names)
    if missing:
        raise InvalidManifest(f"{path.name} lacks the columns {', '.join(sorted(missing))}")


def _check_rows(path: Path, rows: int) -> None:
    from modelyard.store.series.frames import MAX_POINTS

    if rows > MAX_POINTS:
        raise InvalidManifest(f"{path.name} holds {rows:,} points; the limit is "
                              f"{MAX_POINTS:,}; thin the curves before dropping them")
