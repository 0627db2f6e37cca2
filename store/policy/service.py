"""The policy's part in the store's verbs: the policy in force, checking and recording,
re-checking after a change, alias gates and the hooks rule verdicts trigger.

Results are truth in files: each check that changes what the index says is a
`policy.checked` event of the model (with who, when and which policy version), so
`reindex` rebuilds the same `policy:` answers. A policy change re-checks every version,
one event per model and up to CHUNK versions.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from modelyard.store.errors import ReadOnlyStore
from modelyard.store.policy import files, hooks
from modelyard.store.policy.checker import check_version
from modelyard.store.policy.model import Policy
from modelyard.store.policy.report import CheckReport, RuleResult, event_data

if TYPE_CHECKING:
    from modelyard.store.api import Store
    from modelyard.store.versions.version import Version

_log = logging.getLogger("modelyard.policy")
CHUNK = 500


def current(store: Store) -> Policy | None:
    """The policy in force: the highest-numbered file (each is read once, then cached)."""
    numbers = files.policy_numbers(store.root)
    if not numbers:
        return None
    cache = store._policy_cache
    if numbers[-1] not in cache:
        cache[numbers[-1]] = files.read_policy(store.root, numbers[-1])
    return cache[numbers[-1]]


def stored(store: Store, version: Version) -> CheckReport:
    """The results the index holds (the last recorded check); unchecked when there are none."""
    row = store._db.execute("SELECT policy, at FROM policy_checks WHERE version_id = ?",
                            (version.id,)).fetchone()
    if row is None:
        return CheckReport(version.ref, None, live=False)
    rules = [RuleResult(r[0], r[1], bool(r[2]), json.loads(r[3]))
             for r in store._db.execute(
                 "SELECT rule, status, blocking, reasons FROM policy_results "
                 "WHERE version_id = ? ORDER BY rule", (version.id,))]
    policy = current(store)
    for r in rules:
        rule = policy.rules.get(r.rule) if policy and policy.number == row[0] else None
        r.description = rule.description if rule else ""
    return CheckReport(version.ref, row[0], rules, checked_at=row[1], live=False)


def check(store: Store, version: Version, *, record: bool = True) -> CheckReport:
    """Check now against the policy in force; with `record`, store the verdicts when they
    differ from what the index holds (so checking twice writes nothing new)."""
    policy = current(store)
    report = check_version(policy, version, store._db)
    if record and policy is not None and _differs(store.check_results(version), report):
        try:
            record_checks(store, version.model, {version.number: report}, policy.number or 0)
        except ReadOnlyStore:  # checking is a read; the verdict is still the answer
            _log.info("cannot record the check of %s: the store is read-only", version.ref)
    return report


def _differs(before: CheckReport, after: CheckReport) -> bool:
    return before.policy != after.policy or before.stored() != after.stored()


def record_checks(store: Store, model: str, reports: dict[int, CheckReport],
                  policy: int) -> None:
    """Write the verdicts as `policy.checked` events, then run the rule hooks of every
    verdict that changed (rule.passed, rule.failed)."""
    numbers = sorted(reports)
    before = {n: store.check_results(f"{model}:{n}") for n in numbers}
    for start in range(0, len(numbers), CHUNK):
        chunk = {n: reports[n] for n in numbers[start:start + CHUNK]}
        event = store._event(model, "policy.checked",
                             numbers[start] if len(chunk) == 1 else None,
                             event_data(policy, chunk))
        for number, report in chunk.items():
            old = {r.rule: r.status for r in before[number].rules}
            for result in report.rules:
                if old.get(result.rule) != result.status:
                    hooks.fire(store, f"rule.{'passed' if result.passed else 'failed'}", event,
                               model=model, version=number, rule=result.rule,
                               extra={"policy": policy, "status": result.status,
                                      "reasons": result.reasons})


def recheck(store: Store, *, all_versions: bool = False) -> int:
    """Check the versions whose results are older than the policy in force (all of them
    with `all_versions`); returns how many were checked."""
    policy = current(store)
    if policy is None or policy.number is None:
        return 0
    store.sync()
    where = "1" if all_versions else "c.version_id IS NULL OR c.policy < ?"
    rows = store._db.execute(
        "SELECT v.model, v.number FROM versions v LEFT JOIN policy_checks c "
        f"ON c.version_id = v.id WHERE {where} ORDER BY v.model, v.number",
        () if all_versions else (policy.number,)).fetchall()
    wanted: dict[str, set[int]] = {}
    for model, number in rows:
        wanted.setdefault(model, set()).add(number)
    for model, numbers in wanted.items():
        versions = [v for v in store.versions(model) if v.number in numbers]
        reports = {v.number: check_version(policy, v, store._db) for v in versions}
        record_checks(store, model, reports, policy.number)
    return len(rows)


def check_new(store: Store, version: Version) -> None:
    """At ingest: check and record; if the policy changed meanwhile, catch up. A version is
    stored whatever happens here: a failure to check leaves it `policy:unchecked`."""
    try:
        policy = current(store)
        if policy is None:
            return
        report = check_version(policy, version, store._db)
        record_checks(store, version.model, {version.number: report}, policy.number or 0)
        latest = files.policy_numbers(store.root)
        if latest and latest[-1] != policy.number:
            recheck(store)
    except Exception:  # noqa: BLE001 - the version is stored; never fail the ingest
        _log.exception("could not check %s against the policy", version.ref)


def check_changed(store: Store, version: Version) -> None:
    """After a tag or description change: re-check that one version, quietly."""
    try:
        if current(store) is not None:
            check(store, version, record=True)
    except Exception:  # noqa: BLE001 - the change is stored; checks catch up later
        _log.exception("could not re-check %s against the policy", version.ref)


def gate(store: Store, version: Version, alias: str) -> list[RuleResult]:
    """The rules `alias` requires that `version` fails (empty: it may carry the alias).
    A required rule that does not apply to the version (out of its scope) does not close
    the gate."""
    policy = current(store)
    required = policy.gate(alias) if policy is not None else ()
    if not required:
        return []
    report = check(store, version, record=True)
    return [r for r in report.rules if r.rule in required and not r.passed]
