"""Opening the index: where it lives, its pragmas, and rebuilding it when it is unusable."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from modelyard.store.disk.fskind import is_network_fs
from modelyard.store.index import schema, textmatch


@dataclass
class Index:
    """An open index."""

    conn: sqlite3.Connection


def cache_home() -> Path:
    base = os.environ.get("MODELYARD_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "modelyard" if xdg else Path.home() / ".cache" / "modelyard"


def default_index_path(store_root: Path, store_id: str) -> Path:
    """Per host, per store: keyed by the store's id and where it is mounted here."""
    real = os.path.realpath(store_root)
    key = hashlib.sha256(f"{store_id}\0{real}".encode()).hexdigest()[:16]
    return cache_home() / "index" / f"{store_id[:12]}-{key}.sqlite"


def connect(path: Path) -> Index:
    """Open (creating or migrating) the index at `path`; a damaged file is replaced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        conn = sqlite3.connect(path, timeout=60, isolation_level=None,
                               check_same_thread=False)
        try:
            _pragmas(conn, path)
            if schema.migrate(conn):
                return Index(conn)
        except sqlite3.DatabaseError:
            if attempt == 2:
                raise
        conn.close()
        _discard(path)  # newer schema or not a database: it is a cache, rebuild it
    raise AssertionError("unreachable")


def open_connection(path: Path) -> sqlite3.Connection:
    """Another connection to an index that `connect` already prepared (one per thread)."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    _pragmas(conn, Path(path), cache_mib=READER_CACHE_MIB)
    conn.row_factory = sqlite3.Row
    return conn


# SQLite's page cache, per connection. The app opens one connection per worker thread, and
# the operating system caches the file anyway: a small cache per reader keeps the app's
# memory flat on a million versions; the owner's connection, which rebuilds, gets more.
OWNER_CACHE_MIB, READER_CACHE_MIB = 64, 8


def _pragmas(conn: sqlite3.Connection, path: Path, *, cache_mib: int = OWNER_CACHE_MIB) -> None:
    # WAL only where the file is local: it needs shared memory that NFS cannot give.
    mode = "DELETE" if is_network_fs(path.parent) else "WAL"
    conn.execute(f"PRAGMA journal_mode={mode}")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=60000")
    conn.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    textmatch.register(conn)


def _discard(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(str(path) + suffix)
        except FileNotFoundError:
            pass
