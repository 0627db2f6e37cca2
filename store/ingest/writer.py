"""Write one version: blobs first, then the record under the next free number.

A crash before the record is linked leaves only unreferenced blobs (harmless, reported
by fsck) or temp files; the version is then absent. Once linked, it is whole.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path, PurePosixPath
from typing import Any

from modelyard.store.disk import atomic, faults
from modelyard.store.disk.blobs import BlobStore
from modelyard.store.disk.drop_limits import MAX_FILES as MAX_FOLDER_FILES
from modelyard.store.disk.dropfs import open_regular
from modelyard.store.disk.identity import stamp
from modelyard.store.disk.layout import Layout, numbered_files, utc_now
from modelyard.store.disk.records import RECORD_SCHEMA
from modelyard.store.errors import DropRejected, InvalidManifest
from modelyard.store.ingest.sniff import HEAD_BYTES, sniff_fd, sniff_head
from modelyard.store.names import check_model_name, unsafe_char
from modelyard.store.series import frames as series
from modelyard.store.versions.card import check_card

MAX_PATH = 1024
FileSource = Path | str | bytes


def safe_relpath(path: str, where: str) -> str:
    """A relative POSIX path that stays inside its folder, or InvalidManifest."""
    if not isinstance(path, str) or not path:
        raise InvalidManifest(f"{where}: a file path must be non-empty text")
    _check_text(path, where)  # first: the length check below encodes it
    if len(path) > MAX_PATH or any(len(p.encode()) > 255 for p in path.split("/")):
        raise InvalidManifest(f"{where}: {path[:60]!r}… is too long for a file path")
    bad = unsafe_char(path)
    if bad is not None:
        raise InvalidManifest(f"{where}: {path!r} holds the character U+{ord(bad):04X}; "
                              "rename the file to plain printable text")
    if "\\" in path or path.startswith(("/", "file:")) or ":" in path[:3]:
        raise InvalidManifest(
            f"{where}: {path!r} is not a relative path inside the folder; "
            "reference files by relative paths such as 'weights/model.safetensors'"
        )
    parts = PurePosixPath(path).parts
    if any(p in ("..", ".") for p in parts) or not parts:
        raise InvalidManifest(f"{where}: {path!r} leaves the folder ('..'); use a path inside it")
    return str(PurePosixPath(*parts))


def _checked_card(card: Mapping[str, Any]) -> dict[str, Any]:
    """check_card, then what the record and every host's index must be able to hold."""
    try:
        checked = check_card(card)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise InvalidManifest(f"the version's description holds a value modelyard cannot "
                              f"store ({type(exc).__name__}: {str(exc)[:200]}); check times, "
                              "numbers and nesting") from None
    for name in ("origin", "summary", "serving", "training", "params", "tags", "metrics"):
        if not isinstance(checked.get(name) or {}, Mapping):  # every index reads them so
            raise InvalidManifest(f"{name} must be a mapping of fields, not "
                                  f"{type(checked[name]).__name__}")
    count = checked["summary"].get("param_count") if checked.get("summary") else None
    if isinstance(count, float) and not -(2.0**63) <= count < 2.0**63:
        raise InvalidManifest(f"summary.param_count is {count:g}; it must fit in 64 bits")
    check_storable(checked, "")
    return checked


def check_card_storable(card: Mapping[str, Any]) -> None:
    """Raise InvalidManifest if `card` could not become a record (importers call this to name
    the file a bad value came from)."""
    _checked_card(card)


def check_storable(value: Any, where: str) -> None:
    """Refuse what would poison the record or the index on every host that reads it:
    integers beyond 64 bits (SQLite cannot hold them) and text that is not valid Unicode
    (a lone surrogate cannot be written as UTF-8). Iterative: depth is bounded elsewhere."""
    stack = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        if isinstance(item, int):
            if not -(2**63) <= item < 2**63:
                raise InvalidManifest(f"{at or 'a value'} is a {item.bit_length()}-bit integer; "
                                      "numbers must fit in 64 bits (write it as text)")
        elif isinstance(item, str):
            _check_text(item, at)
        elif isinstance(item, Mapping):
            for k, v in item.items():
                _check_text(str(k), at or "a key")
                stack.append((v, f"{at}.{k}" if at else str(k)))
        elif isinstance(item, (list, tuple)):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(item))


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidManifest(f"{where or 'a value'} holds text that is not valid Unicode (a "
                              "lone surrogate); fix its encoding") from None


def json_safe(value: Any) -> Any:
    """`value` with NaN and infinities as None: records and blobs are strict JSON, which
    every other tool (jq, JavaScript) can read."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _put(blobs: BlobStore, source: FileSource, consume: bool) -> tuple[str, int, Any]:
    if isinstance(source, bytes):
        digest = blobs.put_bytes(source)
        return digest, len(source), sniff_head(source[:HEAD_BYTES], size=len(source),
                                               whole=lambda: io.BytesIO(source))
    if not isinstance(source, (str, Path)):
        raise InvalidManifest(f"a file must be given as bytes or a path, not "
                              f"{type(source).__name__}")
    path = Path(source)
    try:  # one descriptor, never through a link, serves the sniffing, hashing and linking
        opened = open_regular(path)
    except DropRejected as exc:
        raise InvalidManifest(f"{exc} (symlinks, folders and FIFOs are refused)") from None
    try:
        sniffed = sniff_fd(opened.fd, size=opened.st.st_size)
        digest, size = blobs.put_opened(opened, consume=consume)
    finally:
        opened.close()
    return digest, size, sniffed


def store_files(blobs: BlobStore, files: Mapping[str, FileSource], *, consume: bool = False
                ) -> list[dict[str, Any]]:
    if not isinstance(files, Mapping):
        raise InvalidManifest("files must map relative paths to files")
    out = []
    for rel, source in sorted(files.items()):
        rel = safe_relpath(rel, "files")
        digest, size, sniffed = _put(blobs, source, consume)
        out.append({"path": rel, "size": size, "digest": digest, "format": sniffed.format,
                    "pickle": sniffed.pickle})
    return out


def store_source(blobs: BlobStore, source: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not source:
        return None
    if not isinstance(source, Mapping):
        raise InvalidManifest("source must be a mapping: files, git, diff, entrypoint")
    files = source.get("files") or {}
    if isinstance(files, (list, tuple)):
        if not all(isinstance(p, (str, Path)) for p in files):
            raise InvalidManifest("source.files must list file paths")
        files = {Path(p).name: p for p in files}
    if not isinstance(files, Mapping):
        raise InvalidManifest("source.files must list file paths or map names to files")
    stored = [{k: f[k] for k in ("path", "size", "digest")}
              for f in store_files(blobs, files)]
    git = source.get("git") or {}
    if not isinstance(git, Mapping):
        raise InvalidManifest("source.git must be a mapping: commit, branch, remote, dirty")
    out: dict[str, Any] = {"files": stored, "entrypoint": str(source.get("entrypoint") or ""),
                           "git": {k: git[k] if isinstance(git[k], (str, bool)) else str(git[k])
                                   for k in ("commit", "branch", "remote", "dirty")
                                   if git.get(k) is not None}}
    diff = source.get("diff") or git.get("diff")
    if diff:
        if not isinstance(diff, (str, bytes)):
            raise InvalidManifest("source.diff must be the text of a diff")
        raw = diff.encode("utf-8", "replace") if isinstance(diff, str) else diff
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


def _series_blob(metric_series: Any) -> tuple[bytes, dict[str, dict], Any] | None:
    """The Parquet bytes to store, the per-key summary and the frame they hold, or None for
    no curves. A drop's file already in the stored shape is kept as it is; anything else is
    checked, sorted and encoded (series_check.py)."""
    if metric_series is None:
        return None
    same = series.passthrough(metric_series)
    if same is not None:
        return (*same, metric_series.frame)
    if isinstance(metric_series, Mapping) and not isinstance(
            metric_series, series.SeriesTable) and not metric_series:
        return None
    normalized = series.normalize_series(metric_series)
    if not normalized.height:
        return None
    summary = series.sorted_summary(normalized) or series.summarize(normalized)
    return series.to_parquet(normalized), summary, normalized


def _series_info(blobs: BlobStore, data: bytes, summary: dict[str, dict],
                 frame: Any) -> dict[str, Any]:
    """The record's `metric_series`: the series blob, its summary and, when some curve is
    long, the blob of their overview (series.overview: what a first draw reads)."""
    info: dict[str, Any] = {"digest": blobs.put_bytes(data), "size": len(data),
                            "keys": json_safe(summary)}
    brief = series.overview(frame, summary)
    if brief is not None:
        raw, keys = brief
        info["overview"] = {"digest": blobs.put_bytes(raw), "size": len(raw), "keys": keys,
                            "buckets": series.OVERVIEW_BUCKETS}
    return info


def prepare_record(layout: Layout, blobs: BlobStore, model: str, card: Mapping[str, Any], *,
                   files: Mapping[str, FileSource] | None = None,
                   metric_series: Mapping[str, Any] | None = None,
                   source: Mapping[str, Any] | None = None,
                   consume: bool = False) -> dict[str, Any]:
    """Check everything and store every blob; returns the record without its number."""
    model = check_model_name(model)  # NFC, and its folder name fits the filesystem
    _check_text(model, "the model name")
    checked = _checked_card(card)
    series_info = None
    stored = _series_blob(metric_series)
    if stored is not None:
        data, summary, frame = stored
        series_info = _series_info(blobs, data, summary, frame)
        for key, s in summary.items():
            if s.get("last") is not None:
                checked["metrics"].setdefault(key, s["last"])
    charts = checked.pop("charts")
    charts_info = None
    if charts:
        raw = json.dumps(json_safe(charts), sort_keys=True, allow_nan=False).encode()
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


# Called right before a record is linked; a drop's ingester sets it to check that it still
# holds its claim (a watcher paused past the claim timeout has lost the drop to another,
# which ingests it: this one must not publish it too). It raises to stop the link.
BEFORE_LINK: ContextVar[Callable[[], None] | None] = ContextVar("modelyard_before_link",
                                                                default=None)


def claim_version(layout: Layout, record: dict[str, Any], *, hint: int = 0) -> dict[str, Any]:
    """Give the prepared record the next free version number, atomically, and write it."""
    check = BEFORE_LINK.get()
    if check is not None:
        check()
    model = record["model"]
    folder = _record_folders(layout, model)
    existing = numbered_files(folder)
    number = max(existing[-1] if existing else 0, hint) + 1
    who = stamp()
    while True:
        final, body = _numbered(record, number, who)
        if atomic.write_exclusive(layout.record_path(model, number), body, stage="record"):
            return final
        number += 1


def _record_folders(layout: Layout, model: str) -> Path:
    """The model's records folder (and its events folder), made if new."""
    folder = layout.versions_dir(model)
    atomic.ensure_dir(folder, sticky=True)
    atomic.ensure_dir(layout.events_dir(model), sticky=True)
    return folder


def _numbered(record: dict[str, Any], number: int, who: dict[str, str]
              ) -> tuple[dict[str, Any], bytes]:
    """The record as version `number` of its model, and the bytes of its file."""
    final = {**record, "version": number, "created_at": utc_now(), "created_by": who}
    body = json.dumps(json_safe(final), sort_keys=True, ensure_ascii=False, indent=1,
                      allow_nan=False).encode() + b"\n"
    return final, body


GROUP_MAX = 256  # records written and fsynced together (each holds a descriptor meanwhile)
Claimed = dict[str, Any] | Exception


def claim_versions(layout: Layout, records: list[dict[str, Any]], *,
                   hints: Mapping[str, int], checks: list[Callable[[], None] | None]
                   ) -> list[Claimed]:
    """`claim_version` of many records with one group commit: every record's temp file is
    written, then all are fsynced together (one journal commit, not one each), then linked
    in order; each records folder is synced once, at the end. A record is still complete
    before it gets its name, so a crash leaves each version whole or absent.

    `checks[i]` (a drop's BEFORE_LINK) runs right before record i is linked; what it raises
    is returned in that record's place, and the others go on. Returns the written records
    (with their numbers), in the order given."""
    out: list[Claimed] = []
    with atomic.deferred_dir_syncs():  # nested in a caller's block: that block syncs
        for start in range(0, len(records), GROUP_MAX):
            out += _claim_group(layout, records[start:start + GROUP_MAX], hints,
                                checks[start:start + GROUP_MAX], out)
    return out


def _claim_group(layout: Layout, records: list[dict[str, Any]], hints: Mapping[str, int],
                 checks: list[Callable[[], None] | None], before: list[Claimed]
                 ) -> list[Claimed]:
    following: dict[str, int] = {}  # model: the number its next record is written as
    for record in records:
        model = record["model"]
        if model not in following:
            existing = numbered_files(_record_folders(layout, model))
            taken = [c["version"] for c in before
                     if isinstance(c, dict) and c["model"] == model]
            following[model] = max([existing[-1] if existing else 0, hints.get(model, 0),
                                    *taken]) + 1
    who = stamp()
    staged: list[tuple[dict[str, Any], Path, Path]] = []  # (record, temp file, its name)
    fds: list[int] = []
    try:
        for record in records:
            number = following[record["model"]]
            following[record["model"]] = number + 1
            final, body = _numbered(record, number, who)
            target = layout.record_path(record["model"], number)
            fd, tmp = atomic.create_temp(target)
            fds.append(fd)
            staged.append((final, tmp, target))
            atomic.write_all(fd, body, target)
        _sync_and_close(fds, staged)
    except BaseException:
        for fd in fds:
            _close_quietly(fd)
        for _final, tmp, _target in staged:
            atomic.unlink_quietly(tmp)
        raise
    for _ in staged:
        faults.point("record.temp_written")
    atomic.sync_deferred()  # the blobs the records name are durable before any record is
    out: list[Claimed] = []
    # Models whose next records cannot keep the numbers written into them: another writer
    # took one first, or a record was not linked (its check failed) and the ones after it
    # would leave a gap. Those are claimed one at a time, each taking the next free number.
    renumber: set[str] = set()
    for (final, tmp, target), record, check in zip(staged, records, checks, strict=True):
        model = record["model"]
        try:
            if check is not None:
                check()
        except Exception as exc:  # noqa: BLE001 - that record's caller decides
            atomic.unlink_quietly(tmp)
            out.append(exc)
            renumber.add(model)
            continue
        if model not in renumber and atomic.link_exclusive(tmp, target, sync_first=False):
            faults.point("record.linked")
            out.append(final)
            continue
        atomic.unlink_quietly(tmp)
        renumber.add(model)
        out.append(claim_version(layout, record, hint=hints.get(model, 0)))
    return out


def _sync_and_close(fds: list[int], staged: list[tuple[dict[str, Any], Path, Path]]) -> None:
    """fsync the temp files together, then close them (NFS reports a failed write at
    either); a failure is a named error about that record, and the caller removes them."""
    target = staged[0][2]
    try:
        for _final, _tmp, target in staged:
            faults.io("fsync", target)
        atomic.fsync_all(fds)
        while fds:
            target = staged[len(fds) - 1][2]
            faults.io("close", target)
            fd = fds.pop()  # released even when close fails: never closed twice
            os.close(fd)
    except OSError as exc:
        raise atomic.storage_error(exc, target, "write") from exc


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


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
            if len(out) >= MAX_FOLDER_FILES:
                raise InvalidManifest(f"{folder} holds more than {MAX_FOLDER_FILES:,} files; "
                                      "list the files to store in the manifest's `files`")
            if path.is_symlink() or not path.is_file():
                raise InvalidManifest(f"{path} is a link or special file; only regular files "
                                      "can be stored")
            out[rel] = path
    return out
