"""What a check says about one version: each rule's verdict and why, in the forms the CLI,
the app, the event files and the index need.

A `policy.checked` event stores, per version, `{rule: {status, blocking, reasons}}`: the
verdicts and the reasons a rule failed. A live check also keeps every finding (passes too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelyard.store.policy.rules import Finding


@dataclass
class RuleResult:
    rule: str
    status: str  # pass or fail
    blocking: bool
    reasons: list[str] = field(default_factory=list)  # why it fails; empty when it passes
    description: str = ""
    checks: list[Finding] = field(default_factory=list)  # every finding, on a live check

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def stored(self) -> dict[str, Any]:
        return {"status": self.status, "blocking": self.blocking, "reasons": list(self.reasons)}

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "status": self.status, "blocking": self.blocking,
                "description": self.description, "reasons": list(self.reasons),
                "checks": [c.to_dict() for c in self.checks]}

    def line(self) -> str:
        """`serving: fail (model.pkl is pickle…; no eval data set)` for messages."""
        why = f" ({'; '.join(self.reasons)})" if self.reasons else ""
        return f"{self.rule}: {self.status}{why}"


@dataclass
class CheckReport:
    """Every rule of one policy version that applies to one version, with its verdict."""

    ref: str
    policy: int | None  # None: the store has no policy (or the version was never checked)
    rules: list[RuleResult] = field(default_factory=list)
    checked_at: str = ""  # when the stored results were recorded ("" for a live check)
    live: bool = True  # computed now, rather than read from the stored results

    @property
    def failing(self) -> list[RuleResult]:
        """Blocking rules it fails: these mark the version and close gated aliases."""
        return [r for r in self.rules if r.blocking and not r.passed]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.rules if not r.blocking and not r.passed]

    @property
    def state(self) -> str:
        """failing, warning (only advisory rules fail), passing, or unchecked (no rule
        applies, or it was never checked): the same words as `policy:<state>` queries."""
        if not self.rules:
            return "unchecked"
        if self.failing:
            return "failing"
        return "warning" if self.warnings else "passing"

    def result(self, rule: str) -> RuleResult | None:
        return next((r for r in self.rules if r.rule == rule), None)

    def stored(self) -> dict[str, Any]:
        return {r.rule: r.stored() for r in self.rules}

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "policy": self.policy, "state": self.state,
                "checked_at": self.checked_at, "live": self.live,
                "rules": [r.to_dict() for r in self.rules]}


def event_data(policy: int, reports: dict[int, CheckReport]) -> dict[str, Any]:
    """The data of one `policy.checked` event for some versions of one model."""
    return {"policy": policy,
            "versions": {str(number): report.stored()
                         for number, report in sorted(reports.items())}}
