"""Index rows of policy verdicts: what a `policy.checked` event says about one version,
and the judged alias moves; read back for states, stored checks and violations.

Kept apart from rows.py (the record's rows) because verdicts arrive by events, later.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from modelyard.store.query import policy_states


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


# reading them back ---------------------------------------------------------------------------

def state(conn: sqlite3.Connection, version_id: int) -> str:
    """The version's state (store/query/policy_states.py): one indexed lookup per version,
    cheap enough for every row of a table."""
    return conn.execute(policy_states.state_of(), {"version_id": version_id}).fetchone()[0]


def stored_check(conn: sqlite3.Connection, version_id: int
                 ) -> tuple[int, str, list[tuple[str, str, bool, str]]] | None:
    """(policy, at, [(rule, status, blocking, reasons JSON)]) of the last recorded check."""
    row = conn.execute("SELECT policy, at FROM policy_checks WHERE version_id = ?",
                       (version_id,)).fetchone()
    if row is None:
        return None
    rules = [(r[0], r[1], bool(r[2]), r[3]) for r in conn.execute(
        "SELECT rule, status, blocking, reasons FROM policy_results "
        "WHERE version_id = ? ORDER BY rule", (version_id,))]
    return row[0], row[1], rules


def unchecked(conn: sqlite3.Connection, policy: int, *, all_versions: bool = False
              ) -> list[tuple[str, int]]:
    """(model, number) of the versions last checked under an older policy than `policy`, or
    never (every version with `all_versions`)."""
    where = "1" if all_versions else "c.version_id IS NULL OR c.policy < ?"
    rows = conn.execute(
        "SELECT v.model, v.number FROM versions v LEFT JOIN policy_checks c "
        f"ON c.version_id = v.id WHERE {where} ORDER BY v.model, v.number",
        () if all_versions else (policy,)).fetchall()
    return [(r[0], r[1]) for r in rows]


ADMINS_KEY = "gate_admins"  # meta: the admins the stored verdicts were judged with


def pending_alias_checks(conn: sqlite3.Connection, admins_key: str) -> list[tuple]:
    """Alias moves not judged yet (all of them again when the admins changed): model_id,
    seq, alias, claimed, floor, forced, checked, results, ref, user."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (ADMINS_KEY,)).fetchone()
    if row is None or row[0] != admins_key:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE alias_checks SET violation = NULL")
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                     (ADMINS_KEY, admins_key))
        conn.execute("COMMIT")
    return [tuple(r) for r in conn.execute(
        "SELECT a.model_id, a.seq, a.alias, a.claimed, a.floor, a.forced, a.checked, "
        "a.results, v.ref, e.user FROM alias_checks a "
        "JOIN (SELECT id, model || ':' || number AS ref FROM versions) v ON v.id = a.version_id "
        "LEFT JOIN events e ON e.model_id = a.model_id AND e.seq = a.seq "
        "WHERE a.violation IS NULL").fetchall()]


def save_alias_verdicts(conn: sqlite3.Connection, verdicts: list[tuple[str, int, int]]
                        ) -> None:
    """(violation or '', model_id, seq) for each judged move, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany("UPDATE alias_checks SET violation = ? WHERE model_id = ? AND seq = ?",
                         verdicts)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def alias_violations(conn: sqlite3.Connection, model: str | None = None
                     ) -> list[dict[str, Any]]:
    where, params = ("AND m.name = ?", (model,)) if model else ("", ())
    rows = conn.execute(
        "SELECT m.name, a.seq, a.alias, v.number, a.violation FROM alias_checks a "
        "JOIN models m ON m.id = a.model_id JOIN versions v ON v.id = a.version_id "
        f"WHERE a.violation != '' {where} ORDER BY m.name, a.seq", params)
    return [{"model": r[0], "seq": r[1], "alias": r[2], "ref": f"{r[0]}:{r[3]}",
             "message": r[4]} for r in rows]


def policies_named(conn: sqlite3.Connection) -> set[int]:
    """Policy numbers that alias moves and checks recorded."""
    return {int(n) for (n,) in conn.execute(
        "SELECT DISTINCT json_extract(data, '$.policy') FROM events "
        "WHERE type IN ('alias.set', 'policy.checked') AND "
        "typeof(json_extract(data, '$.policy')) = 'integer'")}
