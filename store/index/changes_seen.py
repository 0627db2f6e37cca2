"""What this index remembers of the store's change log (store/disk/changes.py), in `meta`: how
much of it was read, when every model was last probed, and which models have events that
wait for a version this host cannot see yet."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from modelyard.store.disk import changes

COUNT_KEY, PROBED_KEY, WAITING_KEY = "changes_seen", "changes_probed_at", "events_waiting"
LAST_KEY = "changes_last_names"


def look(conn: sqlite3.Connection, models_dir: Path | str) -> tuple[set[str] | None, int]:
    """(the folder names of the models changed since this index last looked, how far the
    log is read: its size now, or less when its last bytes were not readable yet). The
    names are None when every model must be probed: never looked, the log cannot be read
    or trusted, or the last full probe is older than FULL_PROBE_SECONDS. The log is read
    before probing, so a change made during the probe shows next time."""
    counter = changes.counter(models_dir)
    seen = dict(conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)",
                             (COUNT_KEY, PROBED_KEY)))
    try:
        count, probed_at = int(seen[COUNT_KEY]), float(seen[PROBED_KEY])
    except (KeyError, TypeError, ValueError):
        return None, counter
    if counter < 0 or not 0 <= time.time() - probed_at < changes.FULL_PROBE_SECONDS:
        return None, counter
    if counter == count:
        return set(), counter
    names, read_to = changes.names_between(models_dir, count, counter)
    if names is None:
        return None, read_to
    # The models named last time are probed once more: a writer killed between its record
    # and its second line was named before the record existed, maybe while we looked.
    last = conn.execute("SELECT value FROM meta WHERE key = ?", (LAST_KEY,)).fetchone()
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                 (LAST_KEY, json.dumps(sorted(names))))
    try:
        return names | set(json.loads(last[0]) if last else ()), read_to
    except (TypeError, ValueError):
        return names, read_to


def remember(conn: sqlite3.Connection, counter: int, *, full: bool) -> None:
    """After a probe: the log size it started from, and when, if it probed every model."""
    if counter < 0:
        return
    rows = [(COUNT_KEY, str(counter))] + ([(PROBED_KEY, repr(time.time()))] if full else [])
    conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", rows)


def waiting(conn: sqlite3.Connection) -> set[str]:
    """Models whose next event names a version this index has not seen yet."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (WAITING_KEY,)).fetchone()
    try:
        return set(json.loads(row[0])) if row else set()
    except (TypeError, ValueError):
        return set()


def set_waiting(conn: sqlite3.Connection, models: set[str]) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                 (WAITING_KEY, json.dumps(sorted(models))))
