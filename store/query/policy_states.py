"""A version's policy state, defined once: the words `ls --json` labels a version with and
the versions each `policy:<state>` query finds come from these conditions, so the two
always agree. A version has exactly one state, the first that holds:

- violation: an alias was moved onto it past its gate (store/policy/violations.py);
- failing: its last check found a blocking rule failing;
- warning: only advisory (non-blocking) rules fail;
- passing: every rule that applies passes;
- unchecked: no rule applies, or it was never checked.
"""

from __future__ import annotations

STATES = ("violation", "failing", "warning", "passing", "unchecked")
VIOLATED = "SELECT version_id FROM alias_checks WHERE violation != ''"
# over a version's row of policy_checks (the summary of its last check)
CHECKED = {
    "failing": "rules > 0 AND failing > 0",
    "warning": "rules > 0 AND failing = 0 AND warnings > 0",
    "passing": "rules > 0 AND failing = 0 AND warnings = 0",
}


def checked_where(state: str) -> str:
    """The condition over policy_checks of the versions in a checked state (failing,
    warning, passing): a violation outranks it."""
    return f"{CHECKED[state]} AND version_id NOT IN ({VIOLATED})"


def unchecked(column: str) -> str:
    """The condition that the version id in `column` is unchecked."""
    return (f"{column} NOT IN (SELECT version_id FROM policy_checks WHERE rules > 0) "
            f"AND {column} NOT IN ({VIOLATED})")


def state_of(param: str = ":version_id") -> str:
    """A SELECT of one version's state, its id bound to `param`: one indexed lookup."""
    checked = " ".join(f"WHEN {cond} THEN '{state}'" for state, cond in CHECKED.items())
    return (f"SELECT CASE WHEN EXISTS (SELECT 1 FROM alias_checks WHERE version_id = {param} "
            "AND violation != '') THEN 'violation' ELSE coalesce((SELECT CASE "
            f"{checked} END FROM policy_checks WHERE version_id = {param}), 'unchecked') END")
