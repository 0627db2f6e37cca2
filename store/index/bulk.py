"""Fill an empty index from the store's files in one pass: the path `reindex` and a new
host's first open take.

Rows go into tables without secondary indexes; the indexes are built at the end by
sorting, which beats keeping them up to date row by row once the index outgrows SQLite's
page cache. On a big store, worker processes parse the records *and* write their rows into
shard SQLite files, which the parent copies with `INSERT ... SELECT`: no Python object
crosses processes (pickling rows back was tried and cost as much as it saved), and the
parent's copy runs in SQLite's C code, several times cheaper than binding the rows from
Python.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from pathlib import Path

from modelyard.store.disk.layout import Layout, numbered_files
from modelyard.store.disk.records import read_ahead, read_record
from modelyard.store.errors import StoreCorrupt
from modelyard.store.index import schema
from modelyard.store.index.rows import COLUMNS, Rows, record_rows

CHUNK = 2000  # records per executemany batch, and per shard file
PARALLEL_MIN = 20_000  # fewer records than this: starting workers costs more than it saves


Job = tuple[str, list[tuple[str, int, int, int]]]  # root, [(model, model_id, number, vid)]


UNINDEXABLE = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


def rows_of_chunk(job: Job) -> tuple[Rows, list[tuple[str, str]]]:
    """Worker: the rows of every record in the chunk, and (path, message) for bad ones."""
    root, items = job
    layout = Layout(Path(root))
    rows = Rows()
    problems: list[tuple[str, str]] = []
    folders: dict[str, str] = {}
    owner_names: dict[int, str] = {}  # for the chunk: see record_rows
    relatives = []
    for model, _model_id, number, _vid in items:
        folder = folders.get(model)
        if folder is None:
            folder = folders[model] = os.path.relpath(layout.versions_dir(model), root)
        relatives.append(f"{folder}/{number}.json")
    paths = [Path(root, relative) for relative in relatives]
    bodies = read_ahead(paths, network=on_network(root))
    for (model, model_id, number, vid), relative, path, owned in zip(
            items, relatives, paths, bodies, strict=True):
        try:
            record = read_record(path, model, number, owned=owned)
            rows.extend(record_rows(record, vid, model_id, relative,  # all or nothing
                                    owner_names=owner_names))
        except (StoreCorrupt, *UNINDEXABLE) as exc:
            problems.append((str(path), _message(path, exc)))
    return rows, problems


@lru_cache(maxsize=4)
def on_network(root: str) -> bool:
    """Whether the store is on a network filesystem (asked once per store and process)."""
    from modelyard.store.disk.fskind import is_network_fs

    return is_network_fs(Path(root))


def _message(path: Path | str, exc: Exception) -> str:
    if isinstance(exc, StoreCorrupt):
        return str(exc)
    return f"{path} is not a valid version record ({type(exc).__name__}: {exc})"


def insert_chunk(conn: sqlite3.Connection, job: Job,
                 insert: Callable[[sqlite3.Connection, Rows], None] | None = None
                 ) -> tuple[int, list[tuple[str, str]]]:
    """Parse and insert one chunk: (versions inserted, problems). When SQLite refuses a
    value (a string that is not Unicode, an integer over 64 bits), the chunk is redone
    record by record, so that only the bad record is left out: one file that the index
    cannot take never stops a rebuild. Needs a journal that can roll back."""
    insert = insert or _insert_rows
    rows, bad = rows_of_chunk(job)
    conn.execute("SAVEPOINT chunk")
    try:
        insert(conn, rows)
        return len(rows.tables["versions"]), bad
    except (sqlite3.Error, *UNINDEXABLE):
        conn.execute("ROLLBACK TO chunk")
    finally:
        conn.execute("RELEASE chunk")
    root, items = job
    done = 0
    for item in items:
        one, _ = rows_of_chunk((root, [item]))
        if not one.tables["versions"]:
            continue  # unreadable: already among `bad`
        conn.execute("SAVEPOINT one")
        try:
            insert(conn, one)
            done += 1
        except (sqlite3.Error, *UNINDEXABLE) as exc:
            conn.execute("ROLLBACK TO one")
            path = Path(root, one.tables["versions"][0][-1])  # its record_path
            bad.append((str(path), _message(path, exc)))
        finally:
            conn.execute("RELEASE one")
    return done, bad


def plan(layout: Layout, models: list[str], first_id: int) -> tuple[list[Job], dict, int]:
    """Chunks of (model, model_id, number, version id) and {model: (model_id, numbers)}."""
    jobs: list[Job] = []
    listing: dict[str, tuple[int, list[int]]] = {}
    current: list[tuple[str, int, int, int]] = []
    vid = first_id
    for model_id, model in enumerate(models, start=1):
        numbers = numbered_files(layout.versions_dir(model))
        listing[model] = (model_id, numbers)
        for number in numbers:
            current.append((model, model_id, number, vid))
            vid += 1
            if len(current) >= CHUNK:
                jobs.append((str(layout.root), current))
                current = []
    if current:
        jobs.append((str(layout.root), current))
    return jobs, listing, vid - first_id


def load_versions(conn: sqlite3.Connection, layout: Layout, models: list[str], *,
                  scratch: Path | None = None, workers: int | None = None,
                  progress: Callable[[int, int], None] | None = None
                  ) -> tuple[dict, int, int]:
    """Insert every version of `models` into an empty index (secondary indexes dropped).
    Returns ({model: (model_id, numbers)}, versions, problems).

    With `scratch` (a folder to create for shard files, and remove) the work goes to
    `workers` forked processes (by default one per core, when the store is big enough to
    pay, and when `can_fork`). `progress(read, total)` is called after each chunk of
    records (the app shows a first build's progress).
    The shards are copied in with ATTACH, which SQLite refuses inside a transaction: the
    parallel path is for a new index file that nobody else reads yet (see rebuild.py)."""
    conn.executemany("INSERT INTO models (id, name) VALUES (?, ?)",
                     [(i, m) for i, m in enumerate(models, start=1)])
    jobs, listing, total = plan(layout, models, 1)
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if total >= PARALLEL_MIN else 1
    if scratch is not None and workers > 1 and can_fork():
        results = _in_workers(conn, jobs, scratch, workers)
    else:
        results = _in_process(conn, jobs)
    versions = problems = 0
    if progress is not None:
        progress(0, total)
    for count, bad in results:
        versions += count
        if progress is not None:
            progress(versions, total)
        problems += len(bad)
        conn.executemany("INSERT OR REPLACE INTO problems VALUES (?, ?)", bad)
    return listing, versions, problems


def _insert_rows(conn: sqlite3.Connection, rows: Rows) -> None:
    rows.insert(conn)


def _in_process(conn: sqlite3.Connection, jobs: list[Job]
                ) -> Iterator[tuple[int, list[tuple[str, str]]]]:
    for job in jobs:
        yield insert_chunk(conn, job)


def _in_workers(conn: sqlite3.Connection, jobs: list[Job], scratch: Path, workers: int
                ) -> Iterator[tuple[int, list[tuple[str, str]]]]:
    """Workers write shards while the parent copies finished ones in, in order; at most
    a few shards wait on disk at a time."""
    scratch.mkdir()
    try:
        with _pool(workers) as pool:
            waiting: deque = deque()
            for i, (root, items) in enumerate(jobs):
                shard = (root, items, str(scratch / f"{i}.sqlite"))
                waiting.append(pool.apply_async(write_shard, (shard,)))
                if len(waiting) > 2 * workers:
                    yield _copied(conn, waiting.popleft().get())
            while waiting:
                yield _copied(conn, waiting.popleft().get())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _copied(conn: sqlite3.Connection, result: tuple[str, int, list[tuple[str, str]]]
            ) -> tuple[int, list[tuple[str, str]]]:
    path, count, bad = result
    copy_shard(conn, path)
    os.unlink(path)
    return count, bad


def can_fork() -> bool:
    """Worker processes are forked, and only from a process running one Python thread: a
    fork copies only the calling thread, so a lock another thread held (SQLite's, the
    logging module's) would stay locked in the child. Spawning instead would re-import the
    caller's main script in each worker, which a script without a `__main__` guard cannot
    survive; a process with threads (the app) rebuilds in process instead."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def _pool(workers: int):
    return multiprocessing.get_context("fork").Pool(workers)


def _shard_table(table: str) -> str:
    return "fts_rows" if table == "versions_fts" else table


def _shard_columns(table: str) -> list[str]:
    return ["id" if c == "rowid" else c for c in COLUMNS[table]]


ROWS_PER_INSERT = 100  # rows per multi-row INSERT: binding is most of a worker's SQLite time


def insert_shard_rows(conn: sqlite3.Connection, rows: Rows) -> None:
    """Rows into a shard's plain tables, a hundred per statement: that halves the cost of
    stepping one statement per row (measured: 0.52 against 0.98 us a row)."""
    for table, data in rows.tables.items():
        if not data:
            continue
        one = f"({', '.join('?' * len(data[0]))})"
        full = len(data) - len(data) % ROWS_PER_INSERT
        if full:
            many = ", ".join([one] * ROWS_PER_INSERT)
            conn.executemany(f"INSERT INTO {_shard_table(table)} VALUES {many}",
                             [tuple(chain.from_iterable(data[i:i + ROWS_PER_INSERT]))
                              for i in range(0, full, ROWS_PER_INSERT)])
        conn.executemany(f"INSERT INTO {_shard_table(table)} VALUES {one}", data[full:])


def write_shard(job: tuple[str, list[tuple[str, int, int, int]], str]
                ) -> tuple[str, int, list[tuple[str, str]]]:
    """Worker: parse one chunk of records and write their rows into a new SQLite file
    (plain tables, no index, a journal in memory: a failed rebuild throws it away)."""
    root, items, path = job
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=MEMORY")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        for table in COLUMNS:
            conn.execute(f"CREATE TABLE {_shard_table(table)} "
                         f"({', '.join(_shard_columns(table))})")
        count, bad = insert_chunk(conn, (root, items), insert_shard_rows)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return path, count, bad


def copy_shard(conn: sqlite3.Connection, path: str) -> None:
    """Copy a shard's rows into the index, in SQLite (outside any transaction: ATTACH)."""
    conn.execute("ATTACH DATABASE ? AS shard", (path,))
    try:
        conn.execute("BEGIN")
        for table, columns in COLUMNS.items():
            verb = "INSERT OR REPLACE" if table == "tags" else "INSERT"
            conn.execute(f"{verb} INTO main.{table} ({', '.join(columns)}) SELECT "
                         f"{', '.join(_shard_columns(table))} FROM shard.{_shard_table(table)}")
        conn.execute("COMMIT")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute("DETACH DATABASE shard")


def drop_secondary_indexes(conn: sqlite3.Connection) -> None:
    for name, _sql in schema.secondary_indexes(conn):
        conn.execute(f"DROP INDEX IF EXISTS {name}")


# While the secondary indexes are built: temp files, a small page cache and helper threads.
# SQLite's sorter sizes its sorted runs by the page cache, and runs of a few MiB sort in
# the CPU's caches, on the helper threads, then merge. With temp_store=MEMORY it writes no
# runs and starts no helper threads, and sorts one list of separately allocated records on
# one thread. Measured: the index builds of 100,000 versions took 12-15 s that way,
# 6-8 s with 8 MiB runs and two threads; of a million (the same rows ten times over) 280 s
# and 130 s. The runs go to SQLite's temp folder (SQLITE_TMPDIR, else /var/tmp, else
# /tmp) as deleted files, about as much as the biggest index holds.
SORT_CACHE_MIB = 8


def create_secondary_indexes(conn: sqlite3.Connection, saved: list[tuple[str, str]]) -> None:
    """Create the indexes by sorting: run inside `temp_files`, whose setting SQLite lets
    change only outside a transaction (once the schema is read, as migrate does)."""
    before = [conn.execute(f"PRAGMA {name}").fetchone()[0] for name in ("cache_size", "threads")]
    conn.execute(f"PRAGMA cache_size=-{SORT_CACHE_MIB * 1024}")
    conn.execute(f"PRAGMA threads={min(os.cpu_count() or 1, 4)}")
    try:
        for _name, sql in saved:
            conn.execute(sql)
    finally:
        conn.execute(f"PRAGMA cache_size={int(before[0])}")
        conn.execute(f"PRAGMA threads={int(before[1])}")


@contextmanager
def temp_files(conn: sqlite3.Connection) -> Iterator[None]:
    """temp_store=FILE in the block (entered and left outside any transaction), so that
    `create_secondary_indexes` sorts in runs. Left by an error inside a transaction, the
    setting stays (changing it would fail and hide the error): the caller discards the
    connection or rolls back first."""
    before = conn.execute("PRAGMA temp_store").fetchone()[0]
    conn.execute("PRAGMA temp_store=FILE")
    try:
        yield
    finally:
        if not conn.in_transaction:
            conn.execute(f"PRAGMA temp_store={int(before)}")
