"""What is known to be broken, for the app and the CLI: versions whose blobs fsck or a read
found corrupt or missing, this host's index checked and rebuilt.

    from modelyard.store.check import integrity
    integrity.corrupt_refs(store.index)          # {"resnet:3": ["blob sha256:… is corrupt…"]}
    integrity.verify_version(version, store.blobs)  # hash one version's blobs now (a worker)
    integrity.note_read_error(store.index, exc)  # a BlobCorrupt/BlobMissing a read raised

Findings live in a small JSON file beside the index (per host, like the index): fsck
rewrites it, reads add to it, and a version is unmarked when fsck finds it whole again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.store.check.problems import FsckReport, Problem, record_blobs
from modelyard.store.disk import atomic
from modelyard.store.disk.clock import now_iso
from modelyard.store.disk.layout import Layout
from modelyard.store.index.reads import Index

if TYPE_CHECKING:
    from modelyard.store.disk.blobs import BlobStore
    from modelyard.store.versions.version import Version

BLOB_KINDS = ("corrupt-blob", "missing-blob", "unreadable-blob", "bad-record")
_lock = threading.Lock()


def _path(index: Index) -> Path:
    return Path(str(index.path) + ".problems.json")


def known_problems(index: Index) -> list[dict[str, Any]]:
    """The problems last found (by fsck or a read), each {kind, path, message, versions}."""
    try:
        data = json.loads(_path(index).read_text(encoding="utf-8"))
        return [p for p in data.get("problems", []) if isinstance(p, dict)]
    except (OSError, ValueError, AttributeError):
        return []


def corrupt_refs(index: Index) -> dict[str, list[str]]:
    """Version refs whose bytes are known to be bad, with why: the app marks these."""
    out: dict[str, list[str]] = {}
    for problem in known_problems(index):
        if problem.get("kind") in BLOB_KINDS:
            for ref in problem.get("versions") or []:
                out.setdefault(str(ref), []).append(str(problem.get("message", "")))
    return out


def remember(index: Index, report: FsckReport) -> None:
    """Replace what is known with what fsck just found (a whole check is the truth)."""
    _save(index, [p.to_dict() for p in report.problems if p.kind in BLOB_KINDS])


def note_read_error(index: Index, exc: Exception) -> list[str]:
    """Record that reading a blob failed (BlobCorrupt or BlobMissing from a read); returns
    the refs of every version that uses that blob, which are now marked."""
    digest = getattr(exc, "digest", None)
    if not digest:
        return []
    refs = index.refs_using_blob(digest)
    kind = "missing-blob" if type(exc).__name__ == "BlobMissing" else "corrupt-blob"
    problem = Problem(kind, str(getattr(exc, "path", "")), str(exc), refs).to_dict()
    with _lock:
        kept = [p for p in known_problems(index) if p.get("path") != problem["path"]]
        _save(index, [*kept, problem])
    return refs


def verify_version(version: Version, blobs: BlobStore, *, read_data: bool = True
                   ) -> list[Problem]:
    """Check one version's blobs now: present, of the recorded size and (with `read_data`)
    hashing to their names. Slow for big models: call it from a worker thread."""
    problems = []
    for digest, size in record_blobs(version.record):
        path = blobs.path(digest)
        if not path.exists():
            problems.append(Problem("missing-blob", str(path), f"blob {digest} is missing",
                                    [version.ref]))
            continue
        actual = path.stat().st_size
        trouble = (f"it holds {actual:,} bytes, the record says {size:,}"
                   if size is not None and actual != size else None)
        if trouble is None and read_data:
            try:
                trouble = blobs.verify(digest)
            except OSError as exc:
                trouble = f"cannot be read ({exc.strerror})"
        if trouble:
            problems.append(Problem("corrupt-blob", str(path),
                                    f"blob {digest} is corrupt: {trouble}", [version.ref]))
    return problems


def _save(index: Index, problems: list[dict[str, Any]]) -> None:
    body = json.dumps({"checked_at": now_iso(), "problems": problems}, indent=1,
                      ensure_ascii=True).encode() + b"\n"
    try:
        atomic.write_replace(_path(index), body)
    except Exception:  # noqa: BLE001 - a cache: failing to write it must not fail the check
        pass


# the index -----------------------------------------------------------------------------------

def check_index(layout: Layout, index: Index, on_disk: set[tuple[str, int]]) -> list[Problem]:
    """Compare this host's index with the records on disk (`on_disk`: the readable ones);
    rebuild it when it is damaged or out of step. The problem names the versions affected."""
    where = str(index.path)
    try:
        index.catch_up(layout, full_listing=True)  # by listing, not the change log
    except sqlite3.DatabaseError:
        pass  # the checks below find it and rebuild
    except Exception as exc:  # noqa: BLE001 - a file the index code cannot take in
        return [Problem("index", where, f"this host's index cannot take in the store's files "
                                        f"({type(exc).__name__}: {str(exc)[:200]}); fix or "
                                        "restore the damaged file fsck names, then reindex")]
    try:
        verdict = index.quick_check()
        indexed = index.indexed_versions()
    except sqlite3.DatabaseError as exc:
        rebuild_index(layout, index)
        return [Problem("index", where, f"this host's index was damaged ({str(exc)[:200]}); "
                                        "rebuilt it from the files")]
    if verdict != ["ok"]:
        rebuild_index(layout, index)
        detail = "; ".join(line for line in "\n".join(verdict).splitlines()
                           if line and not line.startswith("***"))[:200]
        return [Problem("index", where, f"this host's index was damaged ({detail}); "
                                        "rebuilt it from the files")]
    missing = on_disk - indexed
    extra = {(m, n) for m, n in indexed - on_disk if not _readable(layout, m, n)}  # else new
    if not missing and not extra:
        return []
    index.rebuild(layout)
    refs = sorted(f"{m}:{n}" for m, n in missing | extra)
    return [Problem("index", where, f"this host's index was out of step with the files "
                                    f"({len(missing)} versions missing from it, {len(extra)} "
                                    "listed that are not readable); rebuilt it", refs)]


def _readable(layout: Layout, model: str, number: int) -> bool:
    from modelyard.store.disk.records import read_record
    from modelyard.store.errors import StoreCorrupt

    try:
        read_record(layout.record_path(model, number), model, number)
    except StoreCorrupt:
        return False
    return True


def rebuild_index(layout: Layout, index: Index) -> None:
    """Throw this host's index away and build it again from the files: a damaged SQLite file
    cannot be trusted even to empty itself."""
    index.reopen(empty=True)
    index.rebuild(layout)
