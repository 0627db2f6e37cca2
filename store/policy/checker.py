"""Check one version against one policy: which rules apply, and each rule's verdict.

Thresholds run as the store's own queries, narrowed to the one version, so `metrics.auc >=
0.9` in a policy means exactly what it means in `modelyard ls`.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import TYPE_CHECKING

from modelyard.store.policy.model import Policy
from modelyard.store.policy.report import CheckReport, RuleResult
from modelyard.store.policy.rules import Facts, run_rule

if TYPE_CHECKING:
    from modelyard.store.index.reads import Index
    from modelyard.store.versions.version import Version


def check_version(policy: Policy | None, version: Version, index: Index) -> CheckReport:
    """A live check of `version` against `policy` (no policy: an empty, unchecked report)."""
    if policy is None or policy.number is None:
        return CheckReport(version.ref, None)
    tags = version.tags
    facts = Facts(record=version.record, description=version.description, tags=tags,
                  metrics=version.metrics, size=version.size,
                  matches=lambda text: _matches(index, version.id, text),
                  metric_keys_of=_metric_keys)
    results = []
    for rule in policy.rules_for(version.model, tags):
        findings = run_rule(rule, facts)
        failed = [f.message for f in findings if not f.ok]
        results.append(RuleResult(rule.name, "fail" if failed else "pass", rule.blocking,
                                  failed, rule.description, findings))
    return CheckReport(version.ref, policy.number, results)


def _matches(index: Index, version_id: int, text: str) -> bool:
    from modelyard.store.query import compile_query

    q = compile_query(text, now_ms=int(time.time() * 1000))
    return index.matches(version_id, q.where, q.params)


@lru_cache(maxsize=256)
def _metric_keys_cached(text: str) -> tuple[str, ...]:
    from modelyard.store.query import parse

    keys: list[str] = []

    def walk(node: object) -> None:
        field = getattr(node, "field", None)
        if field is not None and field.kind == "metric" and field.key not in keys:
            keys.append(field.key)
        for child in getattr(node, "items", ()) or ():
            walk(child)
        if hasattr(node, "operand"):
            walk(node.operand)

    walk(parse(text).where)
    return tuple(keys)


def _metric_keys(text: str) -> list[str]:
    """The metrics a threshold compares, so a failure can show their values."""
    return list(_metric_keys_cached(text))
