"""Build an empty index from the store's files in one pass: the path `reindex` and a new
host's first open take.

Rows go into tables without secondary indexes, in one transaction; the indexes are built
at the end by sorting, which beats keeping them up to date row by row once the index
outgrows SQLite's page cache. (Parsing in worker processes was tried: pickling the rows
back cost more than it saved on two cores.)
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import StoreCorrupt
from ..layout import Layout, numbered_files
from ..records import read_record
from . import schema
from .rows import Rows, record_rows

CHUNK = 2000  # records per executemany batch


Job = tuple[str, list[tuple[str, int, int, int]]]  # root, [(model, model_id, number, vid)]


UNINDEXABLE = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


def rows_of_chunk(job: Job) -> tuple[Rows, list[tuple[str, str]]]:
    """Worker: the rows of every record in the chunk, and (path, message) for bad ones."""
    root, items = job
    layout = Layout(Path(root))
    rows = Rows()
    problems: list[tuple[str, str]] = []
    folders: dict[str, str] = {}
    for model, model_id, number, vid in items:
        folder = folders.get(model)
        if folder is None:
            folder = folders[model] = os.path.relpath(layout.versions_dir(model), root)
        relative = f"{folder}/{number}.json"
        path = Path(root, relative)
        try:
            record = read_record(path, model, number)
            rows.extend(record_rows(record, vid, model_id, relative))  # all or nothing
        except (StoreCorrupt, *UNINDEXABLE) as exc:
            message = str(exc) if isinstance(exc, StoreCorrupt) else \
                f"{path} is not a valid version record ({type(exc).__name__}: {exc})"
            problems.append((str(path), message))
    return rows, problems


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


def load_versions(conn: sqlite3.Connection, layout: Layout,
                  models: list[str]) -> tuple[dict, int, int]:
    """Insert every version of `models` into an empty index (inside the caller's transaction,
    secondary indexes dropped). Returns ({model: (model_id, numbers)}, versions, problems)."""
    conn.executemany("INSERT INTO models (id, name) VALUES (?, ?)",
                     [(i, m) for i, m in enumerate(models, start=1)])
    jobs, listing, _total = plan(layout, models, 1)
    versions = problems = 0
    for rows, bad in map(rows_of_chunk, jobs):
        rows.insert(conn)
        versions += len(rows.tables["versions"])
        problems += len(bad)
        conn.executemany("INSERT OR REPLACE INTO problems VALUES (?, ?)", bad)
    return listing, versions, problems


def drop_secondary_indexes(conn: sqlite3.Connection) -> None:
    for name, _sql in schema.secondary_indexes(conn):
        conn.execute(f"DROP INDEX IF EXISTS {name}")


def create_secondary_indexes(conn: sqlite3.Connection, saved: list[tuple[str, str]]) -> None:
    for _name, sql in saved:
        conn.execute(sql)
