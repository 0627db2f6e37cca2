"""Opening the index: where it lives, its pragmas, its connections (one per thread), and
throwing it away when it is unusable."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from modelyard.store.disk.fskind import is_network_fs
from modelyard.store.index import schema, textmatch


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


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating or migrating) the index at `path`; a damaged file is replaced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        conn = sqlite3.connect(path, timeout=60, isolation_level=None,
                               check_same_thread=False)
        try:
            _pragmas(conn, path)
            if schema.migrate(conn):
                conn.row_factory = sqlite3.Row
                return conn
        except sqlite3.DatabaseError:
            if attempt == 2:
                raise
        conn.close()
        discard(path)  # newer schema or not a database: it is a cache, rebuild it
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


def discard(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(str(path) + suffix)
        except FileNotFoundError:
            pass


class IndexConnections:
    """The one owner of this process's connections to one index file: the owner thread's
    (opened on first use: `init` never needs it, and creating the schema costs more than
    making the store), one per other thread (SQLite connections are not shared between
    threads; WAL lets them read while one writes), interrupting them, reopening after a
    rebuild swapped the file, and closing them all."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._owner_conn: sqlite3.Connection | None = None
        self.on_create: Callable[[], None] | None = None  # called before a new file is made
        self._reset()

    def _reset(self) -> None:
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._by_thread: dict[int, sqlite3.Connection] = {}
        self._lock = threading.Lock()

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        if threading.get_ident() == self._owner:
            return self._owner_connection()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                self._close_finished_threads()
                self._owner_connection()  # the owner's connect creates or migrates the file
                conn = open_connection(self.path)
                self._by_thread[threading.get_ident()] = conn
            self._local.conn = conn
        return conn

    def _owner_connection(self) -> sqlite3.Connection:
        if self._owner_conn is None:
            if self.on_create is not None and not self.path.exists():
                self.on_create()  # e.g. put a shared snapshot there first
            self._owner_conn = connect(self.path)
        return self._owner_conn

    def interrupt(self, thread_id: int) -> None:
        """Stop the query the connection of thread `thread_id` is running, if any (it raises
        sqlite3.OperationalError there): the app stops a search the user typed over."""
        conn = self._by_thread.get(thread_id)
        if conn is not None:
            conn.interrupt()

    def _close_finished_threads(self) -> None:
        """Each worker thread opens a connection; close those whose thread has ended, or a
        long-running app would keep one per page it ever fetched."""
        alive = {t.ident for t in threading.enumerate()}
        for ident in [i for i in self._by_thread if i not in alive]:
            try:
                self._by_thread.pop(ident).close()
            except sqlite3.Error:
                pass

    def close(self) -> None:
        with self._lock:
            connections = list(self._by_thread.values())
            if self._owner_conn is not None:
                connections.append(self._owner_conn)
            self._by_thread.clear()
            self._owner_conn = None
        for conn in connections:
            try:
                conn.close()
            except Exception:  # closing from another thread; the process is ending anyway
                pass

    def reopen(self, *, empty: bool = False) -> None:
        """Close every connection and open the file again, with the calling thread as the
        owner: after a rebuild swapped a new file in, or (`empty`) replacing a damaged file
        by a new, empty index."""
        self.close()
        if empty:
            discard(self.path)
        self._reset()
        self._owner_connection()
