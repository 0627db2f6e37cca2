"""Whether a catch-up may skip probing the store, from the store's change counter (see
store/changes.py) and what this index remembers of it in `meta`."""

from __future__ import annotations

import os
import sqlite3
import time

from .. import changes

COUNT_KEY, PROBED_KEY = "changes_seen", "changes_probed_at"


def unchanged(conn: sqlite3.Connection, models_dir: str | os.PathLike) -> tuple[bool, int]:
    """(nothing written since this index last probed everything, the counter now). The
    counter is read before probing, so a change made during the probe shows next time."""
    counter = changes.counter(models_dir)
    seen = dict(conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)",
                             (COUNT_KEY, PROBED_KEY)))
    try:
        count, probed_at = int(seen[COUNT_KEY]), float(seen[PROBED_KEY])
    except (KeyError, TypeError, ValueError):
        return False, counter
    recent = 0 <= time.time() - probed_at < changes.FULL_PROBE_SECONDS
    return counter >= 0 and counter == count and recent, counter


def remember(conn: sqlite3.Connection, counter: int) -> None:
    """After a complete probe: the counter it started from, and when."""
    if counter < 0:
        return
    conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                     [(COUNT_KEY, str(counter)), (PROBED_KEY, repr(time.time()))])
