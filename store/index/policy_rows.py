"""Index rows of policy verdicts: what a `policy.checked` event says about one version.

Kept apart from rows.py (the record's rows) because verdicts arrive by events, later.
"""

from __future__ import annotations

import json
import sqlite3


def apply_policy_check(conn: sqlite3.Connection, vid: int, policy: int, results: dict,
                       seq: int, at: str) -> None:
    """One version's verdicts, unless the index already holds those of a newer policy (a
    late check made under an older policy never wins, whatever the event order)."""
    row = conn.execute("SELECT policy FROM policy_checks WHERE version_id = ?", (vid,)).fetchone()
    if row is not None and row[0] > policy:
        return
    rows = []
    for rule, result in sorted(results.items()):
        if not isinstance(result, dict) or result.get("status") not in ("pass", "fail"):
            continue
        reasons = [str(r) for r in result.get("reasons") or []]
        rows.append((vid, str(rule), result["status"], int(bool(result.get("blocking", True))),
                     json.dumps(reasons, ensure_ascii=False)))
    conn.execute("DELETE FROM policy_results WHERE version_id = ?", (vid,))
    conn.executemany("INSERT INTO policy_results (version_id, rule, status, blocking, reasons) "
                     "VALUES (?,?,?,?,?)", rows)
    failing = sum(1 for r in rows if r[2] == "fail" and r[3])
    warnings = sum(1 for r in rows if r[2] == "fail" and not r[3])
    conn.execute("INSERT OR REPLACE INTO policy_checks (version_id, policy, rules, failing, "
                 "warnings, seq, at) VALUES (?,?,?,?,?,?,?)",
                 (vid, policy, len(rows), failing, warnings, seq, at))
