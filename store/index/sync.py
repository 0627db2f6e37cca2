"""Catch the index up with the store's files: only what was written since the last look.

Version and event numbers are contiguous per model, so the index remembers the highest of
each it has seen and probes for the next numbers: new files only, never a full rescan.
Concurrent catch-ups on one host serialize on a write transaction and re-read what the
other already did, so nothing is inserted twice. New records go in by batches, table by
table (a thousand records touch each index page once, not once per record); a full
rebuild goes through bulk.py and rebuild.py instead.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from modelyard.store.disk import changes, faults
from modelyard.store.disk.events import Event, read_event
from modelyard.store.disk.fsclock import fs_now
from modelyard.store.disk.layout import Layout, numbered_files, readable_model
from modelyard.store.errors import StoreCorrupt
from modelyard.store.index import bulk, changes_seen, schema
from modelyard.store.index.policy_rows import apply_policy_check, check_alias_event
from modelyard.store.index.rows import Rows, insert_record, record_rows, tags_text
from modelyard.store.names import model_from_dirname

WAIT_FOR_RECORD_SECONDS = 300.0  # see _apply_events
BATCH = 2000  # records per catch-up transaction
CATCH_UP_CACHE_MIB = 256  # page cache while a big catch-up inserts


@dataclass
class SyncReport:
    versions: int = 0
    events: int = 0
    problems: int = 0


def catch_up(conn: sqlite3.Connection, layout: Layout, *, full_listing: bool = False,
             model: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> SyncReport:
    """Index every record and event not yet seen. `full_listing` also finds gaps; `model`
    probes that one model whatever the change log says (a writer about to deduplicate
    against the index must see a record even if its writer was killed before logging it).
    Otherwise only the models the change log names since the last look are probed (see
    store/disk/changes.py), plus those whose events wait for a version not seen yet.
    `progress(read, total)` follows a first build of an empty index (see bulk.py)."""
    report = SyncReport()
    if model is not None:
        if os.path.isdir(layout.model_dir(model)):
            _sync_models(conn, layout, [model], report, full_listing)
        return report
    changed, counter = changes_seen.look(conn, layout.models)
    waiting = changes_seen.waiting(conn)
    if changed is not None and not full_listing:
        todo = sorted(waiting | {model_from_dirname(f) if "%" in f else f for f in changed
                                 if os.path.isdir(os.path.join(layout.models, f))
                                 and readable_model(layout.models, f)})
        if todo:
            _sync_models(conn, layout, todo, report, full_listing)
        changes_seen.remember(conn, counter, full=False)
        return report
    known = {name: (mid, vs, es) for mid, name, vs, es in
             conn.execute("SELECT id, name, versions_seen, events_seen FROM models")}
    folders = model_folders(layout)
    names = [name for name, _ in folders]
    if not known and names and _rebuild(conn, layout, names, report, progress):
        changes_seen.remember(conn, counter, full=True)
        return report
    models = os.fspath(layout.models)
    todo = [name for name, folder in folders
            if full_listing or name in waiting
            or _has_news(f"{models}/{folder}", *known.get(name, (0, 0, 0))[1:])]
    if todo:
        _sync_models(conn, layout, todo, report, full_listing)
    changes_seen.remember(conn, counter, full=True)
    return report


def model_folders(layout: Layout) -> list[tuple[str, str]]:
    """(model name, folder name) of every model, by name: the listing of `models/` and
    every folder the change log names that exists (a network filesystem's cached listing
    can miss a model created seconds ago; opening its path cannot)."""
    try:
        entries = set(os.listdir(layout.models))
    except FileNotFoundError:
        return []
    entries |= {f for f in changes.all_names(layout.models) if f not in entries
                and os.path.isdir(os.path.join(layout.models, f))}
    return sorted((model_from_dirname(e) if "%" in e else e, e) for e in entries
                  if not e.startswith(".") and readable_model(layout.models, e))


def _rebuild(conn: sqlite3.Connection, layout: Layout, names: list[str],
             report: SyncReport, progress: Callable[[int, int], None] | None = None) -> bool:
    """Index everything into an empty index in one transaction (see `bulk`); False when
    another process indexed something first, so the caller catches up as usual."""
    with bulk.temp_files(conn):  # for the index sorts: set outside the transaction
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM models LIMIT 1").fetchone() is not None:
                conn.execute("ROLLBACK")
                return False
            saved = schema.secondary_indexes(conn)
            bulk.drop_secondary_indexes(conn)
            listing, report.versions, report.problems = bulk.load_versions(
                conn, layout, names, progress=progress)
            apply_loaded_events(conn, layout, listing, report)
            bulk.create_secondary_indexes(conn, saved)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    faults.point("index.updated")
    return True


def apply_loaded_events(conn: sqlite3.Connection, layout: Layout, listing: dict,
                        report: SyncReport) -> None:
    """After a bulk load of versions ({model: (model_id, numbers)}): fold every model's
    events and set its counters, as a catch-up would have."""
    for name, (mid, numbers) in listing.items():
        vseen = numbers[-1] if numbers else 0
        eseen, blocked = _apply_events(conn, layout, name, mid,
                                       numbered_files(layout.events_dir(name)), 0, vseen, report)
        conn.execute("UPDATE models SET versions_seen = ?, events_seen = ? WHERE id = ?",
                     (vseen, eseen, mid))
        if blocked:
            changes_seen.set_waiting(conn, changes_seen.waiting(conn) | {name})


def index_own_record(conn: sqlite3.Connection, layout: Layout, record: dict) -> None:
    """Index a record this process just linked, if the catch-up did not find it: on a
    network filesystem the probe for the numbers before it can fail for a few seconds (the
    records of other hosts not visible here yet), and a writer must still find its own
    version. The model's probe counter does not move, so those records are indexed later."""
    model, number = record["model"], record["version"]
    if conn.execute("SELECT 1 FROM versions WHERE model = ? AND number = ?",
                    (model, number)).fetchone():
        return
    path = layout.record_path(model, number)
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT id FROM models WHERE name = ?", (model,)).fetchone()
        mid = row[0] if row else _add_model(conn, model)
        if not conn.execute("SELECT 1 FROM versions WHERE model = ? AND number = ?",
                            (model, number)).fetchone():
            insert_record(conn, mid, bulk.read_record(path, model, number),
                          os.path.relpath(path, layout.root))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _add_model(conn: sqlite3.Connection, name: str) -> int:
    """The id of a new `models` row."""
    rowid = conn.execute("INSERT INTO models(name) VALUES (?)", (name,)).lastrowid
    assert rowid is not None  # None only when a statement inserted no row
    return rowid


def highest_waiting_version(conn: sqlite3.Connection, layout: Layout, model: str) -> int:
    """The highest version number named by this model's events that wait (not folded into
    the index yet, see `_apply_events`): a writer claims above it."""
    row = conn.execute("SELECT events_seen FROM models WHERE name = ?", (model,)).fetchone()
    highest, seq = 0, (row[0] if row else 0) + 1
    while layout.event_path(model, seq).exists():
        try:
            highest = max([highest, *_named_versions(read_event(layout, model, seq))])
        except StoreCorrupt:
            pass
        seq += 1
    return highest


def _has_news(folder: str, vseen: int, eseen: int) -> bool:
    return (os.path.exists(f"{folder}/versions/{vseen + 1}.json")
            or os.path.exists(f"{folder}/events/{eseen + 1}.json"))


def _probe(folder_numbers: list[int] | None, exists, start: int) -> list[int]:
    """The numbers above `start`: those that follow it without a gap, found by opening
    their paths (fresh even where a network filesystem caches listings), plus those of a
    listing when one is given (to find what lies past a gap)."""
    out, n = [], start + 1
    while exists(n):
        out.append(n)
        n += 1
    if folder_numbers is not None:
        out = sorted(set(out).union(k for k in folder_numbers if k > start))
    return out


@dataclass
class _Pending:
    """New records read but not yet inserted, and the models whose events and counters
    follow them: a catch-up inserts them together, table by table (see `_flush`)."""

    records: list[tuple[int, dict, str, str]] = field(default_factory=list)  # mid, record,
    models: list[tuple[str, int, int, int, list[int]]] = field(default_factory=list)  # path


def _sync_models(conn: sqlite3.Connection, layout: Layout, names: list[str],
                 report: SyncReport, full_listing: bool) -> None:
    """Catch up `names` in write transactions of up to BATCH records. Each model's row is
    re-read inside the transaction, so a catch-up that another process finished first is
    not done twice."""
    pending = _Pending()
    saved_cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name in names:
            _read_model(conn, layout, name, pending, report, full_listing)
            if len(pending.records) >= BATCH:
                _flush(conn, layout, pending, report)
                conn.execute("COMMIT")
                faults.point("index.updated")
                conn.execute("BEGIN IMMEDIATE")
        _flush(conn, layout, pending, report)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute(f"PRAGMA cache_size={saved_cache}")
    faults.point("index.updated")


def _read_model(conn: sqlite3.Connection, layout: Layout, model: str, pending: _Pending,
                report: SyncReport, full_listing: bool) -> None:
    """Read one model's new events, then its new records. In that order: an event is written
    after the version it names, so every version an event seen here names is found by the
    record probe that follows (unless the filesystem shows files out of order; see
    `_apply_events`)."""
    row = conn.execute("SELECT id, versions_seen, events_seen FROM models WHERE name = ?",
                       (model,)).fetchone()
    if row is None:
        mid = _add_model(conn, model)
        vseen = eseen = 0
    else:
        mid, vseen, eseen = row
    elisting = numbered_files(layout.events_dir(model)) if full_listing else None
    seqs = _probe(elisting, lambda n: layout.event_path(model, n).exists(), eseen)
    waiting = model in changes_seen.waiting(conn)
    listing = numbered_files(layout.versions_dir(model)) if full_listing or waiting else None
    indexed = {n for (n,) in conn.execute("SELECT number FROM versions WHERE model = ? AND "
                                          "number > ?", (model, vseen))}
    for number in _probe(listing, lambda n: layout.record_path(model, n).exists(), vseen):
        vseen = max(vseen, number)
        if number in indexed:  # a writer indexed its own record ahead of the probe
            continue
        path = layout.record_path(model, number)
        try:
            record = bulk.read_record(path, model, number)
            pending.records.append((mid, record, os.path.relpath(path, layout.root), str(path)))
        except StoreCorrupt as exc:
            _problem(conn, path, _why(path, exc))
            report.problems += 1
    pending.models.append((model, mid, vseen, eseen, seqs))


def _flush(conn: sqlite3.Connection, layout: Layout, pending: _Pending,
           report: SyncReport) -> None:
    """Insert the pending records, then fold their models' events and move the counters.

    All records' rows go in together, each table's sorted by its index key, which touches
    each index page once instead of once per record; when that fails (a value SQLite
    refuses), the batch is redone record by record so that only the bad one is left out."""
    if len(pending.records) > 200:  # room for the pages a big batch dirties
        conn.execute(f"PRAGMA cache_size=-{CATCH_UP_CACHE_MIB * 1024}")
    first = int(conn.execute("SELECT coalesce(max(id), 0) + 1 FROM versions").fetchone()[0])
    batch = Rows()
    good: list[tuple[int, dict, str, str]] = []
    owner_names: dict[int, str] = {}  # for the batch: see record_rows
    for mid, record, relative, path in pending.records:
        try:
            batch.extend(record_rows(record, first + len(good), mid, relative,
                                     owner_names=owner_names))
            good.append((mid, record, relative, path))
        except bulk.UNINDEXABLE as exc:
            _problem(conn, path, _why(path, exc))
            report.problems += 1
    for table in ("params", "metrics"):  # clustered by version: only their indexes care
        batch.tables[table].sort(key=_by_key_value)
    try:
        with _one_file(conn):
            batch.insert(conn)
        report.versions += len(good)
    except (sqlite3.Error, *bulk.UNINDEXABLE):
        for mid, record, relative, path in good:
            try:
                with _one_file(conn):
                    insert_record(conn, mid, record, relative)
                report.versions += 1
            except (sqlite3.Error, *bulk.UNINDEXABLE) as exc:
                _problem(conn, path, _why(path, exc))
                report.problems += 1
    waiting = changes_seen.waiting(conn)
    for model, mid, vseen, eseen, seqs in pending.models:
        eseen, blocked = _apply_events(conn, layout, model, mid, seqs, eseen, vseen, report)
        conn.execute("UPDATE models SET versions_seen = ?, events_seen = ? WHERE id = ?",
                     (vseen, eseen, mid))
        (waiting.add if blocked else waiting.discard)(model)
    changes_seen.set_waiting(conn, waiting)
    pending.records.clear()
    pending.models.clear()


def _by_key_value(row: tuple) -> tuple:
    return row[1], row[2] if row[2] is not None else float("-inf")


def _apply_events(conn: sqlite3.Connection, layout: Layout, model: str, mid: int,
                  seqs: Iterable[int], seen: int, vseen: int, report: SyncReport
                  ) -> tuple[int, bool]:
    """Fold events `seqs` of one model in order, up to the first that names a version above
    `vseen` (the highest version number this index has probed): that version's record is
    not visible here yet, so the event and those after it wait for the next catch-up
    (`changes_seen.waiting`) instead of being skipped for good. They wait at most
    WAIT_FOR_RECORD_SECONDS by the file server's clock (longer than any filesystem's
    cache), so that an event naming a version that will never exist cannot freeze a
    model's index. An event naming a version whose record is missing or unreadable goes
    into the history and is reported as a problem; it changes nothing else. Returns (the
    highest event number folded, whether events wait)."""
    for seq in seqs:
        path = layout.event_path(model, seq)
        try:
            event = read_event(layout, model, seq)
        except StoreCorrupt as exc:
            _problem(conn, path, _why(path, exc))
            report.problems += 1
            seen = max(seen, seq)
            continue
        named = _named_versions(event)
        if named and max(named) > vseen and _recent(path):
            return seen, True
        try:
            with _one_file(conn):
                apply_event(conn, mid, event)
                for number in named:
                    if _version_id(conn, mid, number) is None:
                        _problem(conn, path, f"{path} names {model}:{number}, whose record "
                                 f"is missing or unreadable; see `modelyard fsck`")
                        report.problems += 1
            report.events += 1
        except bulk.UNINDEXABLE as exc:
            _problem(conn, path, _why(path, exc))
            report.problems += 1
        seen = max(seen, seq)
    return seen, False


def _recent(path) -> bool:
    """Whether the event file is younger than WAIT_FOR_RECORD_SECONDS, by the clock that
    stamped it (store/disk/fsclock.py), so that skewed host clocks do not matter."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return False
    now = fs_now(path.parent)
    return (now if now is not None else time.time()) - mtime < WAIT_FOR_RECORD_SECONDS


def _named_versions(event: Event) -> list[int]:
    """The version numbers an event is about: its version, or a policy check's versions."""
    named = [event.version] if isinstance(event.version, int) else []
    versions = event.data.get("versions") if event.type == "policy.checked" else None
    if isinstance(versions, dict):
        named += [int(n) for n in versions if str(n).isdigit()]
    return named


@contextmanager
def _one_file(conn: sqlite3.Connection) -> Iterator[None]:
    """Index one record or event all or nothing: a file the index cannot take leaves no
    partial rows and does not stop the rest (one bad file must not brick every host)."""
    conn.execute("SAVEPOINT one_file")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO one_file")
        raise
    finally:
        conn.execute("RELEASE one_file")


def _why(path, exc: Exception) -> str:
    if isinstance(exc, StoreCorrupt):
        return str(exc)
    return f"{path} cannot be indexed ({type(exc).__name__}: {exc}); see `modelyard fsck`"


def _problem(conn: sqlite3.Connection, path, message: str) -> None:
    conn.execute("INSERT OR REPLACE INTO problems VALUES (?, ?)", (str(path), message))


def _version_id(conn: sqlite3.Connection, mid: int, number: int | None) -> int | None:
    if number is None:
        return None
    row = conn.execute("SELECT id FROM versions WHERE model = (SELECT name FROM models "
                       "WHERE id = ?) AND number = ?", (mid, number)).fetchone()
    return row[0] if row else None


def apply_event(conn: sqlite3.Connection, mid: int, event: Event) -> None:
    """Fold one event into the current state (aliases, tags, descriptions, deprecation,
    policy results); hook outcomes and forced aliases are history only."""
    conn.execute("INSERT OR REPLACE INTO events VALUES (?,?,?,?,?,?,?,?)",
                 (mid, event.seq, event.type, event.version, event.at, event.user, event.host,
                  json.dumps(event.data, sort_keys=True)))
    if event.file_uid is not None:
        conn.execute("INSERT OR REPLACE INTO owners VALUES ('e', ?, ?, ?, ?, ?)",
                     (mid, event.seq, event.file_uid, event.file_owner, event.user))
    vid = _version_id(conn, mid, event.version)
    data = event.data
    if event.type == "alias.set" and vid is not None:
        conn.execute("INSERT OR REPLACE INTO aliases VALUES (?,?,?)", (mid, data["alias"], vid))
        check_alias_event(conn, mid, event, vid)
    elif event.type == "alias.removed":
        conn.execute("DELETE FROM aliases WHERE model_id = ? AND alias = ?", (mid, data["alias"]))
    elif event.type in ("tag.set", "tag.removed") and event.version is None:
        _apply_model_tag(conn, mid, event)
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
    elif event.type == "policy.checked":
        _apply_checks(conn, mid, event)


def _apply_model_tag(conn: sqlite3.Connection, mid: int, event: Event) -> None:
    """A tag of the model itself (no version): set or removed."""
    key = event.data.get("key")
    if not isinstance(key, str):
        return
    if event.type == "tag.set":
        conn.execute("INSERT OR REPLACE INTO model_tags VALUES (?,?,?)",
                     (mid, key, str(event.data.get("value", ""))))
    else:
        conn.execute("DELETE FROM model_tags WHERE model_id = ? AND key = ?", (mid, key))


def _apply_checks(conn: sqlite3.Connection, mid: int, event: Event) -> None:
    """Results of one check of some of a model's versions (see store/policy/report.py)."""
    policy, versions = event.data.get("policy"), event.data.get("versions")
    if not isinstance(policy, int) or not isinstance(versions, dict):
        return
    for number, results in versions.items():
        vid = _version_id(conn, mid, int(number)) if str(number).isdigit() else None
        if vid is not None and isinstance(results, dict):
            apply_policy_check(conn, vid, policy, results, event.seq, event.at)


def _refresh_tags_fts(conn: sqlite3.Connection, vid: int) -> None:
    tags = dict(conn.execute("SELECT key, value FROM tags WHERE version_id = ?", (vid,)))
    conn.execute("UPDATE versions_fts SET tags = ? WHERE rowid = ?", (tags_text(tags), vid))
