"""Reading one version record back: the one check, shared by the index and fsck, that a
`versions/<n>.json` file is a modelyard record and is the version its name says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from modelyard.store.disk.owners import MTIME_KEY, OWNER_KEY, read_owned
from modelyard.store.errors import StoreCorrupt

RECORD_SCHEMA = "modelyard.version/1"
REQUIRED = ("created_at", "files")


class RecordMissing(StoreCorrupt):
    """The record file is not there (deleted, or not yet visible on this host)."""


def read_record(path: Path, model: str, number: int, *, file_facts: bool = True,
                owned: tuple[bytes, int, int] | OSError | None = None) -> dict[str, Any]:
    """The record at `path`, or StoreCorrupt saying what is wrong with it (RecordMissing
    when the file is gone, so a reader can say so). With `file_facts` the
    record also carries its file's owner and mtime (OWNER_KEY, MTIME_KEY) for the index.
    `owned` is what `read_owned(path)` gave (or raised) if it was read already (read_ahead)."""
    try:
        if owned is None:
            owned = read_owned(path)
        if isinstance(owned, OSError):
            raise owned
        body, uid, mtime_ms = owned
        record = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise StoreCorrupt(f"record is damaged: {path} is not valid JSON") from None
    except FileNotFoundError as exc:
        raise RecordMissing(f"record cannot be read: {exc.strerror}") from None
    except OSError as exc:
        raise StoreCorrupt(f"record cannot be read: {exc.strerror}") from None
    if not isinstance(record, dict) or record.get("schema") != RECORD_SCHEMA:
        raise StoreCorrupt(f"record is damaged: {path} is not a modelyard version record")
    if record.get("model") != model or record.get("version") != number:
        raise StoreCorrupt(f"record is damaged: {path} claims to be "
                           f"{record.get('model')!r}:{record.get('version')!r}")
    for key in REQUIRED:
        if key not in record:
            raise StoreCorrupt(f"record is damaged: {path} lacks the field {key!r}")
    record.pop(OWNER_KEY, None)  # never from the file: a record cannot claim its own owner
    record.pop(MTIME_KEY, None)
    if file_facts:
        record[OWNER_KEY] = uid
        record[MTIME_KEY] = mtime_ms
    return record


READ_AHEAD_THREADS = 16  # reads in flight on a network filesystem


def read_ahead(paths: list[Path], *, network: bool
               ) -> Iterator[tuple[bytes, int, int] | OSError]:
    """`read_owned` of each path, in order, for `read_record(owned=...)`. On a network
    filesystem each read waits a round trip (about a millisecond through sshfs: two
    minutes for 100,000 records one after another), so READ_AHEAD_THREADS read at once and
    the latency is hidden; on a local disk one thread reads, as threads would only add
    their cost."""
    if not network or len(paths) < 2:
        yield from map(_owned_or_error, paths)
        return
    with ThreadPoolExecutor(READ_AHEAD_THREADS, thread_name_prefix="modelyard-read") as pool:
        yield from pool.map(_owned_or_error, paths)


def _owned_or_error(path: Path) -> tuple[bytes, int, int] | OSError:
    try:
        return read_owned(path)
    except OSError as exc:
        return exc
