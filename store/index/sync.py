"""Catch the index up with the store's files: only what was written since the last look.

Version and event numbers are contiguous per model, so the index remembers the highest of
each it has seen and probes for the next numbers: new files only, never a full rescan.
Concurrent catch-ups on one host serialize on a write transaction and re-read what the
other already did, so nothing is inserted twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass

from .. import faults
from ..errors import StoreCorrupt
from ..events import Event, read_event
from ..layout import Layout, numbered_files
from .rows import insert_record, tags_text

BATCH = 2000


@dataclass
class SyncReport:
    versions: int = 0
    events: int = 0
    problems: int = 0


def catch_up(conn: sqlite3.Connection, layout: Layout, *, full_listing: bool = False
             ) -> SyncReport:
    """Index every record and event not yet seen. `full_listing` also finds gaps."""
    report = SyncReport()
    known = {name: (mid, vs, es) for mid, name, vs, es in
             conn.execute("SELECT id, name, versions_seen, events_seen FROM models")}
    for name in layout.model_names():
        mid, vseen, eseen = known.get(name, (None, 0, 0))
        if not full_listing and not _has_news(layout, name, vseen, eseen):
            continue
        _sync_model(conn, layout, name, report, full_listing)
    return report


def _has_news(layout: Layout, model: str, vseen: int, eseen: int) -> bool:
    return (layout.record_path(model, vseen + 1).exists()
            or layout.event_path(model, eseen + 1).exists())


def _probe(folder_numbers: list[int] | None, exists, start: int) -> list[int]:
    if folder_numbers is not None:
        return [n for n in folder_numbers if n > start]
    out, n = [], start + 1
    while exists(n):
        out.append(n)
        n += 1
    return out


def _sync_model(conn: sqlite3.Connection, layout: Layout, model: str, report: SyncReport,
                full_listing: bool) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT id, versions_seen, events_seen FROM models WHERE name = ?",
                           (model,)).fetchone()
        if row is None:
            mid = conn.execute("INSERT INTO models(name) VALUES (?)", (model,)).lastrowid
            vseen = eseen = 0
        else:
            mid, vseen, eseen = row
        listing = numbered_files(layout.versions_dir(model)) if full_listing else None
        for number in _probe(listing, lambda n: layout.record_path(model, n).exists(), vseen):
            path = layout.record_path(model, number)
            try:
                record = _read_record(path, model, number)
                insert_record(conn, mid, record, os.path.relpath(path, layout.root))
                report.versions += 1
            except StoreCorrupt as exc:
                _problem(conn, path, str(exc))
                report.problems += 1
            vseen = max(vseen, number)
        elisting = numbered_files(layout.events_dir(model)) if full_listing else None
        for seq in _probe(elisting, lambda n: layout.event_path(model, n).exists(), eseen):
            try:
                apply_event(conn, mid, read_event(layout, model, seq))
                report.events += 1
            except StoreCorrupt as exc:
                _problem(conn, layout.event_path(model, seq), str(exc))
                report.problems += 1
            eseen = max(eseen, seq)
        conn.execute("UPDATE models SET versions_seen = ?, events_seen = ? WHERE id = ?",
                     (vseen, eseen, mid))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    faults.point("index.updated")


def _problem(conn: sqlite3.Connection, path, message: str) -> None:
    conn.execute("INSERT OR REPLACE INTO problems VALUES (?, ?)", (str(path), message))


def _read_record(path, model: str, number: int) -> dict:
    try:
        record = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        raise StoreCorrupt(f"{path} is not valid JSON: the version record is damaged") from None
    except OSError as exc:
        raise StoreCorrupt(f"{path} cannot be read ({exc.strerror})") from None
    if not isinstance(record, dict) or record.get("schema") != "modelyard.version/1":
        raise StoreCorrupt(f"{path} is not a modelyard version record")
    if record.get("model") != model or record.get("version") != number:
        raise StoreCorrupt(f"{path} claims to be {record.get('model')}:{record.get('version')}")
    for key in ("created_at", "files"):
        if key not in record:
            raise StoreCorrupt(f"{path} lacks the field {key!r}")
    return record


def _version_id(conn: sqlite3.Connection, mid: int, number: int | None) -> int | None:
    if number is None:
        return None
    row = conn.execute("SELECT id FROM versions WHERE model_id = ? AND number = ?",
                       (mid, number)).fetchone()
    return row[0] if row else None


def apply_event(conn: sqlite3.Connection, mid: int, event: Event) -> None:
    """Fold one event into the current state (aliases, tags, descriptions, deprecation)."""
    conn.execute("INSERT OR REPLACE INTO events VALUES (?,?,?,?,?,?,?,?)",
                 (mid, event.seq, event.type, event.version, event.at, event.user, event.host,
                  json.dumps(event.data, sort_keys=True)))
    vid = _version_id(conn, mid, event.version)
    data = event.data
    if event.type == "alias.set" and vid is not None:
        conn.execute("INSERT OR REPLACE INTO aliases VALUES (?,?,?)", (mid, data["alias"], vid))
    elif event.type == "alias.removed":
        conn.execute("DELETE FROM aliases WHERE model_id = ? AND alias = ?", (mid, data["alias"]))
    elif event.type == "tag.set" and vid is not None:
        conn.execute("INSERT OR REPLACE INTO tags VALUES (?,?,?)",
                     (vid, data["key"], str(data.get("value", ""))))
        _refresh_tags_fts(conn, vid)
    elif event.type == "tag.removed" and vid is not None:
        conn.execute("DELETE FROM tags WHERE version_id = ? AND key = ?", (vid, data["key"]))
        _refresh_tags_fts(conn, vid)
    elif event.type == "description.set":
        if event.version is None:
            conn.execute("UPDATE models SET description = ? WHERE id = ?", (data["text"], mid))
        elif vid is not None:
            conn.execute("UPDATE versions SET description = ? WHERE id = ?", (data["text"], vid))
            conn.execute("UPDATE versions_fts SET description = ? WHERE rowid = ?",
                         (data["text"], vid))
    elif event.type == "deprecated.set" and vid is not None:
        conn.execute("UPDATE versions SET deprecated = ? WHERE id = ?",
                     (int(bool(data.get("deprecated", True))), vid))


def _refresh_tags_fts(conn: sqlite3.Connection, vid: int) -> None:
    tags = dict(conn.execute("SELECT key, value FROM tags WHERE version_id = ?", (vid,)))
    conn.execute("UPDATE versions_fts SET tags = ? WHERE rowid = ?", (tags_text(tags), vid))


def clear(conn: sqlite3.Connection) -> None:
    """Empty every table, for a rebuild from the files."""
    conn.execute("BEGIN IMMEDIATE")
    for table in ("models", "versions", "params", "metrics", "tags", "aliases", "datasets",
                  "parents", "files", "blob_refs", "events", "problems", "versions_fts"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute("COMMIT")
