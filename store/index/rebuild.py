"""`reindex`: build a whole new index in a file beside the old one, then put it in place.

The new file is written without fsync until it is complete (a killed rebuild leaves a
temp file, which the next one removes, never a half-built index), then fsynced and swapped
in:

- when no other connection has the old index open, by a rename (and a directory fsync);
- otherwise by SQLite's backup API, page by page into the live file in one transaction,
  so other processes' connections, which would keep reading a renamed-away file and could
  delete a new WAL by its name when they close, see the new index at their next read.

Until the swap, the old index keeps answering queries.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from modelyard.store.disk import changes
from modelyard.store.disk.atomic import HOST, TEMP_PREFIX, fsync_dir, temp_name, temp_writer
from modelyard.store.disk.identity import process_alive
from modelyard.store.disk.layout import Layout
from modelyard.store.index import bulk, changes_seen, schema
from modelyard.store.index.sync import SyncReport, apply_loaded_events, model_folders

BUILD_CACHE_MIB = 512  # the builder's page cache while loading (not while sorting: see bulk)
# Full-text segments: while loading, merge only when a level holds 64 segments, then once
# into one at the end ('optimize'): each version's text is rewritten about twice instead
# of once per level (25% less FTS work at 100,000 versions, more at a million). Then back
# to FTS5's defaults, for the catch-ups that follow.
FTS_BULK = {"automerge": 0, "crisismerge": 64}
FTS_DEFAULTS = {"automerge": 4, "crisismerge": 16}


def build(index: Path, layout: Layout, *, workers: int | None = None,
          progress: Callable[[int, int], None] | None = None,
          indexes: Callable[[str], bool] | None = None) -> tuple[Path, SyncReport]:
    """A complete new index of the store's files, in a temp file beside `index`;
    `progress(read, total)` after each chunk of records (see bulk.load_versions);
    `indexes(name)` chooses the secondary indexes built (all by default: a scratch index
    that only compares rows needs few of them)."""
    index.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(index)
    temp = temp_name(index)
    conn = sqlite3.connect(temp, isolation_level=None)
    try:
        report = _fill(conn, layout, temp_name(index), workers, progress, indexes)
        conn.execute("PRAGMA journal_mode=DELETE")  # an ordinary file, for `connect`
        conn.close()
        _fsync(temp)
    except BaseException:
        conn.close()
        for suffix in ("", "-journal"):
            Path(f"{temp}{suffix}").unlink(missing_ok=True)
        raise
    return temp, report


def _fill(conn: sqlite3.Connection, layout: Layout, scratch: Path, workers: int | None,
          progress: Callable[[int, int], None] | None = None,
          indexes: Callable[[str], bool] | None = None) -> SyncReport:
    # No fsync until the end, and a journal in memory: new pages are not journaled, and
    # savepoints still roll back (a record SQLite refuses is taken out that way).
    for pragma in ("journal_mode=MEMORY", "synchronous=OFF", "locking_mode=EXCLUSIVE",
                   "temp_store=MEMORY", f"cache_size=-{BUILD_CACHE_MIB * 1024}"):
        conn.execute(f"PRAGMA {pragma}")
    schema.migrate(conn)
    saved = [(name, sql) for name, sql in schema.secondary_indexes(conn)
             if indexes is None or indexes(name)]
    bulk.drop_secondary_indexes(conn)
    _fts_settings(conn, FTS_BULK)
    report = SyncReport()
    changes.settle(layout.models)
    counter = changes.counter(layout.models)  # before listing: the late catch-up reads on
    names = [name for name, _ in model_folders(layout)]
    listing, report.versions, report.problems = bulk.load_versions(
        conn, layout, names, scratch=scratch, workers=workers, progress=progress)
    conn.execute("INSERT INTO versions_fts(versions_fts) VALUES ('optimize')")
    _fts_settings(conn, FTS_DEFAULTS)
    with bulk.temp_files(conn):  # for the index sorts (the load keeps its journals in memory)
        conn.execute("BEGIN")
        apply_loaded_events(conn, layout, listing, report)
        bulk.create_secondary_indexes(conn, saved)
        changes_seen.remember(conn, counter, full=True)
        conn.execute("COMMIT")
    return report


def _fts_settings(conn: sqlite3.Connection, settings: dict[str, int]) -> None:
    for name, value in settings.items():
        conn.execute("INSERT INTO versions_fts(versions_fts, rank) VALUES (?, ?)", (name, value))


def remove_stale(index: Path) -> None:
    """Remove what killed rebuilds on this host left beside `index` (a new index file can
    be gigabytes): temp files and shard folders whose process is gone."""
    prefix = f"{TEMP_PREFIX}{index.name}."
    try:
        names = [n for n in os.listdir(index.parent) if n.startswith(prefix)]
    except FileNotFoundError:
        return
    for name in names:
        writer = temp_writer(name)
        if writer is None or writer[0] != HOST or process_alive(writer[1]):
            continue
        path = index.parent / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def install(built: Path, index: Path) -> None:
    """Put the index `build` made in place of `index`. Close this process's connections to
    `index` first: an open one makes the swap take the slower backup path."""
    if not _swap_if_alone(built, index):
        try:
            _copy_into(built, index)
        finally:
            built.unlink(missing_ok=True)


def _swap_if_alone(built: Path, index: Path) -> bool:
    """Rename `built` over `index` if no connection (in any process) has it open."""
    if not index.exists():
        _replace(built, index)
        return True
    probe = sqlite3.connect(index, timeout=0, isolation_level=None)
    try:
        # In WAL mode every connection holds a shared lock on the file while it is open:
        # leaving WAL mode needs them all gone, and BEGIN EXCLUSIVE then keeps new ones out
        # of the old file while it is renamed away. Leaving WAL mode also checkpoints and
        # deletes the old -wal file, which must not be replayed into the new index.
        probe.execute("PRAGMA locking_mode=EXCLUSIVE")
        probe.execute("PRAGMA journal_mode=DELETE")
        probe.execute("BEGIN EXCLUSIVE")
    except sqlite3.OperationalError as exc:
        probe.close()
        if "locked" in str(exc) or "busy" in str(exc):
            return False
        _replace(built, index)  # not usable as a database: nobody can be reading it
        return True
    except sqlite3.DatabaseError:
        probe.close()
        _replace(built, index)
        return True
    try:
        _replace(built, index)
    finally:
        probe.close()
    return True


def _replace(built: Path, index: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    os.replace(built, index)
    fsync_dir(index.parent)


def _copy_into(built: Path, index: Path) -> None:
    """Copy the new index into the live file in one transaction (SQLite's backup API)."""
    from modelyard.store.index.db import _pragmas

    source = sqlite3.connect(built, isolation_level=None)
    target = sqlite3.connect(index, timeout=60, isolation_level=None)
    try:
        _pragmas(target, index)
        source.backup(target)
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        source.close()
        target.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
