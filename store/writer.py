"""Write one version: blobs first, then the record under the next free number.

A crash before the record is linked leaves only unreferenced blobs (harmless, reported
by fsck) or temp files; the version is then absent. Once linked, it is whole.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from . import atomic, series
from .blobs import BlobStore
from .card import check_card
from .errors import InvalidManifest
from .identity import stamp
from .layout import Layout, numbered_files, utc_now
from .names import check_model_name
from .sniff import sniff_file, sniff_head

RECORD_SCHEMA = "modelyard.version/1"
FileSource = Path | str | bytes


def safe_relpath(path: str, where: str) -> str:
    """A relative POSIX path that stays inside its folder, or InvalidManifest."""
    if not isinstance(path, str) or not path:
        raise InvalidManifest(f"{where}: a file path must be non-empty text")
    if "\\" in path or "\x00" in path or path.startswith(("/", "file:")) or ":" in path[:3]:
        raise InvalidManifest(
            f"{where}: {path!r} is not a relative path inside the folder; "
            "reference files by relative paths such as 'weights/model.safetensors'"
        )
    parts = PurePosixPath(path).parts
    if any(p in ("..", ".") for p in parts) or not parts:
        raise InvalidManifest(f"{where}: {path!r} leaves the folder ('..'); use a path inside it")
    return str(PurePosixPath(*parts))


def _put(blobs: BlobStore, source: FileSource, consume: bool) -> tuple[str, int, Any]:
    if isinstance(source, bytes):
        digest = blobs.put_bytes(source)
        return digest, len(source), sniff_head(source[:4096], size=len(source))
    path = Path(source)
    if path.is_symlink() or not path.is_file():
        raise InvalidManifest(f"{path} is not a regular file (symlinks, folders and FIFOs "
                              "are refused)")
    sniffed = sniff_file(path)
    digest, size = blobs.put_file(path, consume=consume)
    return digest, size, sniffed


def store_files(blobs: BlobStore, files: Mapping[str, FileSource], *, consume: bool = False
                ) -> list[dict[str, Any]]:
    out = []
    for rel, source in sorted(files.items()):
        rel = safe_relpath(rel, "files")
        digest, size, sniffed = _put(blobs, source, consume)
        fmt = sniffed.format
        if fmt in ("text", "binary"):
            fmt = _by_suffix(rel) or fmt
        out.append({"path": rel, "size": size, "digest": digest, "format": fmt,
                    "pickle": sniffed.pickle})
    return out


def _by_suffix(rel: str) -> str:
    return {".py": "python", ".md": "markdown", ".txt": "text", ".onnx": "onnx",
            ".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(
        PurePosixPath(rel).suffix.lower(), "")


def store_source(blobs: BlobStore, source: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not source:
        return None
    if not isinstance(source, Mapping):
        raise InvalidManifest("source must be a mapping: files, git, diff, entrypoint")
    files = source.get("files") or {}
    if isinstance(files, (list, tuple)):
        files = {Path(p).name: p for p in files}
    stored = [{k: f[k] for k in ("path", "size", "digest")}
              for f in store_files(blobs, files)]
    git = dict(source.get("git") or {})
    out: dict[str, Any] = {"files": stored, "entrypoint": str(source.get("entrypoint") or ""),
                           "git": {k: git.get(k) for k in ("commit", "branch", "remote", "dirty")
                                   if git.get(k) is not None}}
    diff = source.get("diff") or git.get("diff")
    if diff:
        raw = diff.encode() if isinstance(diff, str) else bytes(diff)
        out["diff"] = {"digest": blobs.put_bytes(raw), "size": len(raw)}
        out["git"]["dirty"] = True
    return out


def content_digest(model: str, card: dict, files: list, source: Any, series_digest: Any,
                   charts_digest: Any) -> str:
    """What makes two versions the same: used to make re-ingesting a drop idempotent."""
    body = {k: v for k, v in card.items() if k != "origin"}
    canonical = json.dumps({"model": model, "card": body,
                            "files": [(f["path"], f["digest"]) for f in files],
                            "source": source, "series": series_digest,
                            "charts": charts_digest}, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def prepare_record(layout: Layout, blobs: BlobStore, model: str, card: Mapping[str, Any], *,
                   files: Mapping[str, FileSource] | None = None,
                   metric_series: Mapping[str, Any] | None = None,
                   source: Mapping[str, Any] | None = None,
                   consume: bool = False) -> dict[str, Any]:
    """Check everything and store every blob; returns the record without its number."""
    check_model_name(model)
    checked = check_card(card)
    normalized = series.normalize_series(metric_series or {})
    series_info = None
    if normalized:
        data = series.to_parquet(normalized)
        summary = series.summarize(normalized)
        series_info = {"digest": blobs.put_bytes(data), "size": len(data),
                       "keys": {k: {kk: (vv if not isinstance(vv, float) or vv == vv else None)
                                    for kk, vv in s.items()} for k, s in summary.items()}}
        for key, s in summary.items():
            checked["metrics"].setdefault(key, s["last"])
    charts = checked.pop("charts")
    charts_info = None
    if charts:
        raw = json.dumps(charts, sort_keys=True).encode()
        charts_info = {"digest": blobs.put_bytes(raw), "kinds": sorted(charts)}
    stored_files = store_files(blobs, files or {}, consume=consume)
    stored_source = store_source(blobs, source)
    checked["metrics"] = {k: (v if v == v and v not in (float("inf"), float("-inf")) else str(v))
                          for k, v in checked["metrics"].items()}
    digest = content_digest(model, checked, stored_files, stored_source,
                            series_info and series_info["digest"],
                            charts_info and charts_info["digest"])
    return {"schema": RECORD_SCHEMA, "model": model, **checked,
            "metric_series": series_info, "charts": charts_info, "files": stored_files,
            "source": stored_source, "content_digest": digest}


def claim_version(layout: Layout, record: dict[str, Any], *, hint: int = 0) -> dict[str, Any]:
    """Give the prepared record the next free version number, atomically, and write it."""
    model = record["model"]
    folder = layout.versions_dir(model)
    atomic.ensure_dir(folder)
    atomic.ensure_dir(layout.events_dir(model))
    existing = numbered_files(folder)
    number = max(existing[-1] if existing else 0, hint) + 1
    who = stamp()
    while True:
        final = {**record, "version": number, "created_at": utc_now(), "created_by": who}
        body = json.dumps(final, sort_keys=True, ensure_ascii=False, indent=1).encode() + b"\n"
        if atomic.write_exclusive(layout.record_path(model, number), body, stage="record"):
            return final
        number += 1


def files_of_folder(folder: Path, *, exclude: Iterable[str] = ()) -> dict[str, Path]:
    """Every regular file under `folder` as {relative path: path}; refuses links and FIFOs."""
    folder = Path(folder)
    skip = set(exclude)
    out: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for d in list(dirnames):
            if (Path(dirpath) / d).is_symlink():
                raise InvalidManifest(f"{Path(dirpath) / d} is a symbolic link; copy the real "
                                      "folder into the drop instead")
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if rel in skip or name.startswith("."):
                continue
            if path.is_symlink() or not path.is_file():
                raise InvalidManifest(f"{path} is a link or special file; only regular files "
                                      "can be stored")
            out[rel] = path
    return out
