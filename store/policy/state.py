"""A version's policy state from the index alone: cheap enough for every row of a table,
and importable without the policy engine (the CLI's listing path uses it)."""

from __future__ import annotations

import sqlite3


def state(conn: sqlite3.Connection, version_id: int) -> str:
    """'violation' (an alias was moved onto it past its gate: see violations.py), then
    'failing', 'warning', 'passing' or 'unchecked' (no rule applies, or never checked)."""
    if conn.execute("SELECT 1 FROM alias_checks WHERE version_id = ? AND violation != '' "
                    "LIMIT 1", (version_id,)).fetchone():
        return "violation"
    row = conn.execute("SELECT rules, failing, warnings FROM policy_checks "
                       "WHERE version_id = ?", (version_id,)).fetchone()
    if row is None or not row[0]:
        return "unchecked"
    return "failing" if row[1] else "warning" if row[2] else "passing"
