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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelyard.store.errors import ReadOnlyStore
from modelyard.store.policy import files, hooks
from modelyard.store.policy.checker import check_version
from modelyard.store.policy.context import PolicyContext
from modelyard.store.policy.model import Policy
from modelyard.store.policy.report import CheckReport, RuleResult, event_data

if TYPE_CHECKING:
    from modelyard.store.disk.events import Event
    from modelyard.store.versions.version import Version

_log = logging.getLogger("modelyard.policy")
CHUNK = 500


class PolicyService:
    """The policy engine as the Store composes it: it reads the policy files and the index
    (`ctx`), and writes only through the Store's own verbs it is given: `write_event` (an
    event of a model, logged and indexed), `versions` (a model's versions) and `sync`."""

    def __init__(self, ctx: PolicyContext, *,
                 write_event: Callable[[str, str, int | None, dict[str, Any]], Event],
                 versions: Callable[[str], list[Version]],
                 sync: Callable[[], object]) -> None:
        self.ctx = ctx
        self.write_event = write_event
        self._versions = versions
        self._sync = sync

    def current(self) -> Policy | None:
        """The policy in force: the highest-numbered file (each is read once, then cached)."""
        numbers = files.policy_numbers(self.ctx.root)
        if not numbers:
            return None
        cache = self.ctx.cache
        if numbers[-1] not in cache:
            cache[numbers[-1]] = files.read_policy(self.ctx.root, numbers[-1])
        return cache[numbers[-1]]

    def stored(self, version_id: int, ref: str) -> CheckReport:
        """The results the index holds (the last recorded check); unchecked when none."""
        found = self.ctx.index.stored_check(version_id)
        if found is None:
            return CheckReport(ref, None, live=False)
        number, at, rows = found
        rules = [RuleResult(rule, status, blocking, json.loads(reasons))
                 for rule, status, blocking, reasons in rows]
        policy = self.current()
        for r in rules:
            rule = policy.rules.get(r.rule) if policy and policy.number == number else None
            r.description = rule.description if rule else ""
        return CheckReport(ref, number, rules, checked_at=at, live=False)

    def _stored_of(self, model: str, number: int) -> CheckReport:
        row = self.ctx.index.version(model, number)
        ref = f"{model}:{number}"
        return self.stored(row["id"], ref) if row is not None else CheckReport(ref, None,
                                                                                live=False)

    def check(self, version: Version, *, record: bool = True) -> CheckReport:
        """Check now against the policy in force; with `record`, store the verdicts when
        they differ from what the index holds (so checking twice writes nothing new)."""
        policy = self.current()
        report = check_version(policy, version, self.ctx.index)
        if record and policy is not None and \
                _differs(self.stored(version.id, version.ref), report):
            try:
                self.record_checks(version.model, {version.number: report}, policy.number or 0)
            except ReadOnlyStore:  # checking is a read; the verdict is still the answer
                _log.info("cannot record the check of %s: the store is read-only", version.ref)
        return report

    def record_checks(self, model: str, reports: dict[int, CheckReport], policy: int) -> None:
        """Write the verdicts as `policy.checked` events, then run the rule hooks of every
        verdict that changed (rule.passed, rule.failed)."""
        numbers = sorted(reports)
        before = {n: self._stored_of(model, n) for n in numbers}
        for start in range(0, len(numbers), CHUNK):
            chunk = {n: reports[n] for n in numbers[start:start + CHUNK]}
            event = self.write_event(model, "policy.checked",
                                     numbers[start] if len(chunk) == 1 else None,
                                     event_data(policy, chunk))
            for number, report in chunk.items():
                old = {r.rule: r.status for r in before[number].rules}
                for result in report.rules:
                    if old.get(result.rule) != result.status:
                        hooks.fire(self, f"rule.{'passed' if result.passed else 'failed'}",
                                   event, model=model, version=number, rule=result.rule,
                                   extra={"policy": policy, "status": result.status,
                                          "reasons": result.reasons})

    def recheck(self, *, all_versions: bool = False) -> int:
        """Check the versions whose results are older than the policy in force (all of them
        with `all_versions`); returns how many were checked."""
        policy = self.current()
        if policy is None or policy.number is None:
            return 0
        self._sync()
        rows = self.ctx.index.unchecked(policy.number, all_versions=all_versions)
        wanted: dict[str, set[int]] = {}
        for model, number in rows:
            wanted.setdefault(model, set()).add(number)
        for model, numbers in wanted.items():
            versions = [v for v in self._versions(model) if v.number in numbers]
            reports = {v.number: check_version(policy, v, self.ctx.index) for v in versions}
            self.record_checks(model, reports, policy.number)
        return len(rows)

    def check_new(self, versions: list[Version]) -> None:
        """At ingest: check and record the new versions, one `policy.checked` event per
        model (a batch of new versions is one pass); if the policy changed meanwhile, catch
        up. The versions are stored whatever happens here: a failure to check leaves them
        `policy:unchecked`."""
        try:
            policy = self.current()
            if policy is None:
                return
            by_model: dict[str, dict[int, CheckReport]] = {}
            for version in versions:
                by_model.setdefault(version.model, {})[version.number] = check_version(
                    policy, version, self.ctx.index)
            for model, reports in by_model.items():
                self.record_checks(model, reports, policy.number or 0)
            latest = files.policy_numbers(self.ctx.root)
            if latest and latest[-1] != policy.number:
                self.recheck()
        except Exception:  # noqa: BLE001 - the versions are stored; never fail the ingest
            _log.exception("could not check %s against the policy",
                           ", ".join(v.ref for v in versions))

    def check_changed(self, version: Version) -> None:
        """After a tag or description change: re-check that one version, quietly."""
        try:
            if self.current() is not None:
                self.check(version, record=True)
        except Exception:  # noqa: BLE001 - the change is stored; checks catch up later
            _log.exception("could not re-check %s against the policy", version.ref)

    def gate(self, version: Version, alias: str) -> list[RuleResult]:
        """The rules `alias` requires that `version` fails (empty: it may carry the alias).
        A required rule that does not apply to the version (out of its scope) does not
        close the gate."""
        policy = self.current()
        required = policy.gate(alias) if policy is not None else ()
        if not required:
            return []
        report = self.check(version, record=True)
        return [r for r in report.rules if r.rule in required and not r.passed]


def _differs(before: CheckReport, after: CheckReport) -> bool:
    return before.policy != after.policy or before.stored() != after.stored()
