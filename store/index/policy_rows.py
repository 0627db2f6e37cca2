"""Index rows of policy verdicts: what a `policy.checked` event says about one version.

Kept apart from rows.py (the record's rows) because verdicts arrive by events, later.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any


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


def check_alias_event(conn: sqlite3.Connection, mid: int, event: Any, vid: int | None
                      ) -> None:
    """Take, as an `alias.set` event is folded, what judging it against the gate needs: the
    policy the event claims, the newest policy the model's earlier events name (a
    hand-written event cannot claim its way under an older gate), whether it was forced
    with a reason, and the version's verdicts at that point. The verdict itself comes
    after the catch-up (store/policy/violations.py), from the policy files."""
    if vid is None:
        return
    data = event.data
    claimed = data.get("policy")
    if isinstance(claimed, bool) or not isinstance(claimed, int):
        claimed = None
    floor = _floor(conn, mid, event.seq)
    if not floor and claimed is None:
        return  # no policy was ever named before it: no gate to judge it by
    reason = data.get("reason")
    forced = bool(data.get("forced")) and isinstance(reason, str) and bool(reason.strip())
    row = conn.execute("SELECT policy FROM policy_checks WHERE version_id = ?",
                       (vid,)).fetchone()
    results = dict(conn.execute("SELECT rule, status FROM policy_results WHERE version_id = ?",
                                (vid,)))
    conn.execute("INSERT OR REPLACE INTO alias_checks (model_id, seq, alias, version_id, "
                 "claimed, floor, forced, checked, results, violation) "
                 "VALUES (?,?,?,?,?,?,?,?,?,NULL)",
                 (mid, event.seq, str(data.get("alias", "")), vid, claimed,
                  int(floor or 0), int(forced), row[0] if row else None,
                  json.dumps(results, sort_keys=True)))


def _floor(conn: sqlite3.Connection, mid: int, seq: int) -> int:
    """The newest policy named by the model's events before `seq`: from the previous judged
    move on, so folding a model's events scans each event once."""
    prev = conn.execute("SELECT seq, floor, coalesce(claimed, 0) FROM alias_checks WHERE "
                        "model_id = ? AND seq < ? ORDER BY seq DESC LIMIT 1",
                        (mid, seq)).fetchone()
    start, known = (prev[0], max(prev[1], prev[2])) if prev else (0, 0)
    found = conn.execute(
        "SELECT max(CAST(json_extract(data, '$.policy') AS INTEGER)) FROM events "
        "WHERE model_id = ? AND seq > ? AND seq < ? AND type IN ('policy.checked', "
        "'alias.set')", (mid, start, seq)).fetchone()[0]
    return max(known, int(found or 0))
