"""Check an index that came from a shared snapshot against the records, model by model.

A snapshot is a cache that any member of the store's group can write, so it can lie (an
alias moved, a metric changed, a version left out). After a host starts from one, this
check indexes each model again from its record and event files, into a scratch index
beside this host's (`<index>.verify.sqlite`), and compares the two model by model, row by
row, with row ids replaced by version numbers and model names. It is resumable (the models
done are in `<index>.snapshot.json`, the scratch index is kept) and runs at low priority
in a background process started by the restore; `modelyard index verify` runs it in the
foreground and `modelyard index status` shows its progress.

At the first model that differs, the differences are reported as an fsck-style problem
naming the versions, the snapshot is marked as lying on this host (never used here again),
and the index is rebuilt from the records (`reindex`). When every model matches, the
index is marked verified and may be published in turn.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.store.disk import faults
from modelyard.store.disk.clock import now_iso
from modelyard.store.errors import Problem
from modelyard.store.index import schema, snapshots
from modelyard.store.index.snapshot_restore import read_state, write_state
from modelyard.store.index.sync import model_folders

if TYPE_CHECKING:
    from modelyard.store.api import Store
    from modelyard.store.index.reads import Index

# Per-version tables: every column but version_id, keyed by the version's number.
VERSION_TABLES = ("params", "metrics", "tags", "datasets", "files", "parents", "run_fields",
                  "policy_checks", "policy_results")
# blob_refs has no index by version: compared once for the whole index, at the end.
SAVE_EVERY = 1.0  # seconds between progress saves


@dataclass
class VerifyReport:
    state: str  # verified, differs, running elsewhere, nothing (index built from records)
    snapshot: str | None = None
    models_checked: int = 0
    models_total: int = 0
    problems: list[Problem] = field(default_factory=list)
    rebuilt: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "snapshot": self.snapshot,
                "models_checked": self.models_checked, "models_total": self.models_total,
                "problems": [p.to_dict() for p in self.problems], "rebuilt": self.rebuilt,
                "seconds": round(self.seconds, 3)}


def scratch_path(index: Path) -> Path:
    return Path(f"{index}.verify.sqlite")


def verify(store: Store, *, progress: Callable[[int, int], None] | None = None,
           rebuild: bool = True) -> VerifyReport:
    """Verify this host's index if it came from a snapshot not verified yet (see module)."""
    started = time.perf_counter()
    index = Path(store.index_path)
    meta = dict(store.index.conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)",
                                  snapshots.PRIVATE_KEYS))
    name = meta.get(snapshots.FROM_KEY)
    if not name:
        return VerifyReport("nothing")
    if meta.get(snapshots.VERIFIED_KEY):
        return VerifyReport("verified", name)
    lock = _lock(index)
    if lock is None:
        return VerifyReport("running elsewhere", name)
    try:
        report = _run(store, index, name, progress)
        if report.state == "differs" and rebuild:
            store.reindex()  # from the records alone: the snapshot is not used again here
            report.rebuilt = True
            _save(index, name, report, done_models=None)
    finally:
        os.close(lock)
    report.seconds = time.perf_counter() - started
    return report


def lock_path(index: Path) -> str:
    """The file a verifier holds a lock on: one verifier per index on this host."""
    return f"{index}.verify.lock"


def _lock(index: Path) -> int | None:
    """One verifier per index on this host (flock on a local file)."""
    fd = os.open(lock_path(index), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _run(store: Store, index: Path, name: str,
         progress: Callable[[int, int], None] | None) -> VerifyReport:
    from modelyard.store.index.reads import Index

    state = read_state(index)
    verify_state = state.get("verify") or {}
    if verify_state.get("snapshot") != name:  # a new restore: start over
        verify_state = {}
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{scratch_path(index)}{suffix}").unlink(missing_ok=True)
    done = int(verify_state.get("models_checked") or 0)
    last = verify_state.get("last_model")
    names = sorted({n for n, _ in model_folders(store.layout)}
                   | {r[0] for r in store.index.conn.execute("SELECT name FROM models")})
    report = VerifyReport("verifying", name, done, len(names))
    todo = [n for n in names if last is None or n > last]
    saved = time.monotonic() - SAVE_EVERY  # the first model's progress shows at once
    if not scratch_path(index).exists():
        _build_scratch(store, index)
    scratch = Index(scratch_path(index))  # never seeded from a snapshot
    _lean(scratch.conn)
    try:
        for model in todo:
            differences = compare_model(store, scratch, model)
            if differences:
                report.state = "differs"
                report.problems.append(_problem(store, name, model, differences))
                break
            report.models_checked += 1
            last = model
            if progress is not None:
                progress(report.models_checked, report.models_total)
            if time.monotonic() - saved >= SAVE_EVERY:
                _save(index, name, report, done_models=last)
                saved = time.monotonic()
                faults.point("verify.saved")
        else:
            refs = _blob_refs_differences(store, scratch)
            fts = _fts_check(store)
            if refs:
                report.state = "differs"
                versions = sorted({f"{m}:{n}" for _side, m, n, *_rest in refs})
                report.problems.append(Problem(
                    "snapshot-lie", _snapshot_path(store, name),
                    f"the index snapshot {name} differs from the records in the blobs "
                    f"{', '.join(versions[:20])} use; this host's index is rebuilt from the "
                    "records and the snapshot is not used here again", versions))
            elif fts:
                report.state = "differs"
                report.problems.append(Problem("snapshot-lie", _snapshot_path(store, name),
                                               f"the snapshot {name}'s full-text index "
                                               f"does not match its rows: {fts}", []))
            else:
                report.state = "verified"
    finally:
        scratch.close()
    if report.state == "verified":
        store.index.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                          (snapshots.VERIFIED_KEY, now_iso()))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{scratch_path(index)}{suffix}").unlink(missing_ok=True)
    _save(index, name, report, done_models=last)
    return report


def _save(index: Path, name: str, report: VerifyReport, *, done_models: str | None) -> None:
    state = read_state(index)
    state["verify"] = {**report.to_dict(), "snapshot": name, "last_model": done_models,
                       "updated_at": now_iso()}
    if report.state == "differs":
        state["distrusted"] = sorted(set(state.get("distrusted") or []) | {name})
    try:
        write_state(index, state)
    except Exception:  # noqa: BLE001 - progress is a convenience; the check goes on
        pass


def compare_model(store: Store, scratch: Index, model: str) -> dict[str, list]:
    """{table: differing rows} between this host's index and one built from the model's
    files now; each index is caught up with the model first, and a difference is checked
    once more after another catch-up (a write landing between the two is not a lie)."""
    for attempt in (1, 2):
        store.index.catch_up(store.layout, model=model)
        scratch.catch_up(store.layout, model=model)
        mine, truth = dump_model(store.index.conn, model), dump_model(scratch.conn, model)
        # dict's own comparison (in C): Counter's skips zero counts, which these never hold
        differences = {table: sorted(
            [("index", *r) for r in (mine[table] - truth[table]).elements()]
            + [("records", *r) for r in (truth[table] - mine[table]).elements()], key=repr)
            for table in mine if not dict.__eq__(mine[table], truth[table])}
        if not differences or attempt == 2:
            return differences
        time.sleep(0.2)
    return {}


def _build_scratch(store: Store, index: Path) -> None:
    """The records' own index, built in one pass as `reindex` builds one (forked workers
    on a big store, store/index/rebuild.py): three times cheaper than catching it up model
    by model. A verification resumed after a kill finds it there and catches it up."""
    from modelyard.store.index import rebuild

    built, _report = rebuild.build(scratch_path(index), store.layout, indexes=_compared_by)
    rebuild.install(built, scratch_path(index))


def _tuples(conn: sqlite3.Connection) -> sqlite3.Cursor:
    """A cursor giving plain tuples (the index's connections give rows by name), which
    Counter takes as they come."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor


def _compared_by(index_name: str) -> bool:
    """Whether the scratch index needs this secondary index: it is only read model by
    model, through versions and the indexes by version; the search indexes (by key, value,
    time, user...) would only cost their upkeep, most of the cost of filling it."""
    return index_name.endswith("_version")


def _lean(conn: sqlite3.Connection) -> None:
    """Drop the search indexes from a scratch index that has them (one from before
    `_build_scratch` chose its indexes, resumed)."""
    for name, _sql in schema.secondary_indexes(conn):
        if not _compared_by(name):
            conn.execute(f"DROP INDEX IF EXISTS {name}")


def dump_model(conn: sqlite3.Connection, model: str) -> dict[str, Counter]:
    """Everything an index holds about one model, without its row ids: versions by number,
    the model by name. Owner names are left out (each host resolves uids itself)."""
    cursor = _tuples(conn)
    q = lambda sql: Counter(cursor.execute(sql, {"m": model}))  # noqa: E731
    out = {
        "models": q("SELECT name, description, versions_seen, events_seen FROM models "
                    "WHERE name = :m"),
        "versions": q(f"SELECT {_columns(conn, 'versions', ('id', 'model_id'))} FROM versions"
                      " WHERE model = :m"),
        "versions_fts": q("SELECT v.number, f.name, f.description, f.tags, f.params, f.files "
                          "FROM versions v JOIN versions_fts f ON f.rowid = v.id "
                          "WHERE v.model = :m"),
        "aliases": q("SELECT a.alias, v.number FROM aliases a JOIN models m ON m.id = "
                     "a.model_id LEFT JOIN versions v ON v.id = a.version_id WHERE m.name = :m"),
        "events": q("SELECT e.seq, e.type, e.version, e.at, e.user, e.host, e.data FROM events"
                    " e JOIN models m ON m.id = e.model_id WHERE m.name = :m"),
        "owners": q("SELECT o.kind, o.number, o.uid, o.claimed FROM owners o JOIN models m "
                    "ON m.id = o.model_id WHERE m.name = :m"),
        "alias_checks": q("SELECT c.seq, c.alias, v.number, c.claimed, c.floor, c.forced, "
                          "c.checked, c.results, c.violation FROM alias_checks c JOIN models"
                          " m ON m.id = c.model_id LEFT JOIN versions v ON v.id = c.version_id"
                          " WHERE m.name = :m"),
    }
    for table in VERSION_TABLES:
        cols = _columns(conn, table, ("version_id",), prefix="t.")
        out[table] = q(f"SELECT v.number, {cols} FROM {table} t JOIN versions v ON "
                       "v.id = t.version_id WHERE v.model = :m")
    return out


_COLUMNS: dict[tuple, str] = {}


def _columns(conn: sqlite3.Connection, table: str, leave_out: tuple[str, ...],
             prefix: str = "") -> str:
    key = (table, leave_out, prefix)
    if key not in _COLUMNS:
        names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")
                 if r[1] not in leave_out]
        _COLUMNS[key] = ", ".join(prefix + n for n in names)
    return _COLUMNS[key]


def _blob_refs_differences(store: Store, scratch: Index) -> list[tuple]:
    """(side, model, number, digest, role) of blob references only one index has."""
    sql = ("SELECT v.model, v.number, b.digest, b.role FROM blob_refs b "
           "JOIN versions v ON v.id = b.version_id")
    for _attempt in (1, 2):  # both caught up first: a version added meanwhile is no lie
        store.sync()
        scratch.catch_up(store.layout)
        mine, truth = (Counter(_tuples(conn).execute(sql))
                       for conn in (store.index.conn, scratch.conn))
        if mine == truth:
            return []
    return sorted([("index", *r) for r in (mine - truth).elements()]
                  + [("records", *r) for r in (truth - mine).elements()], key=repr)


def _fts_check(store: Store) -> str:
    """FTS5's own check that its index matches its rows ('' when it does)."""
    try:
        store.index.conn.execute("INSERT INTO versions_fts(versions_fts, rank) "
                          "VALUES ('integrity-check', 0)")
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return ""


def _snapshot_path(store: Store, name: str) -> str:
    return str(snapshots.folder(store.root) / name)


def _problem(store: Store, name: str, model: str, differences: dict[str, list]) -> Problem:
    """An fsck-style problem: the versions whose rows differ (by number), or the model."""
    numbers = set()
    for table, rows in differences.items():
        for row in rows:
            number = _number_of(table, row[1:])
            if isinstance(number, int):
                numbers.add(number)
    refs = [f"{model}:{n}" for n in sorted(numbers)] or [model]
    tables = ", ".join(sorted(differences))
    return Problem("snapshot-lie", _snapshot_path(store, name),
                   f"the index snapshot {name} differs from the records of {model} "
                   f"({tables}) for {', '.join(refs[:20])}"
                   f"{' …' if len(refs) > 20 else ''}; this host's index is rebuilt from "
                   "the records and the snapshot is not used here again", refs)


def _number_of(table: str, row: tuple) -> int | None:
    """The version number a dumped row is about, where it names one."""
    if table in VERSION_TABLES or table in ("versions_fts",):
        return row[0]
    if table == "versions":
        return row[1]  # model, number, ...
    if table == "aliases":
        return row[1]
    if table in ("events",):
        return row[2]
    if table == "alias_checks":
        return row[2]
    if table == "owners":
        return row[1] if row[0] == "v" else None
    return None
