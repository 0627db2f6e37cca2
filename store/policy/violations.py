"""Bypasses of alias gates, made visible: on a shared filesystem any group member can write
an event or a policy file by hand, so instead of trusting that every move went through the
gate, the index judges each one.

- Each `alias.set` event is judged against the gate in force at its number: the newer of
  the policy it claims and the newest policy the model's earlier events name (checks and
  alias moves record their policy, so a hand-written event cannot claim an older one). A
  move onto a version that does not pass every rule the gate requires, with no recorded
  `--force` reason, is a violation.
- Each policy version is compared with the gates before it. One that removes a gate, drops
  a rule from it or weakens a gating rule is flagged unless the real owner of its file
  (from `stat`) is a policy admin: `settings.policy_admins` in modelyard.json (user names
  or uids; unset: the owner of modelyard.json). A flagged change does not lift the gate:
  later moves are still judged against the gate it tried to remove.

Limits, said plainly: modelyard.json is itself a file group members can replace; whoever
replaces it owns it, and can name themself admin (fsck shows who owns it). A hand-written
`policy.checked` event can claim a version passes; the judgement uses the verdicts the
index holds when the move is folded.

Violations show in `history` (`policy_violation` on the event), `show --json` and
`ls --json` (`policy: violation`), the query `policy:violation`, and `fsck` (exit 1).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelyard.store.policy.context import PolicyContext
from modelyard.store.policy.trust import user_name

if TYPE_CHECKING:
    from modelyard.store.check.problems import Problem
    from modelyard.store.disk.events import Event
    from modelyard.store.policy.model import Policy, Rule

@dataclass
class PolicyChange:
    """One policy version compared with the gates in force before it."""

    number: int
    path: str
    owner: str = "?"
    uid: int | None = None
    weakened: list[str] = field(default_factory=list)
    authorized: bool = False

    @property
    def flagged(self) -> bool:
        return bool(self.weakened) and not self.authorized

    def message(self) -> str:
        return (f"policy {self.number} weakens alias gates ({'; '.join(self.weakened)}); its "
                f"file {self.path} is owned by {self.owner}, who is not a policy admin "
                "(settings.policy_admins in modelyard.json)")

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.number, "owner": self.owner, "uid": self.uid,
                "weakened": self.weakened, "authorized": self.authorized,
                "flagged": self.flagged}


@dataclass
class GateHistory:
    gates: dict[int, dict[str, set[str]]]  # policy number -> alias -> rules it requires
    policies: dict[int, Policy]
    changes: list[PolicyChange]

    def gate_at(self, number: int, alias: str) -> tuple[int, set[str]]:
        """The gate of `alias` in force at policy `number` (the newest known at or below)."""
        known = [n for n in self.gates if n <= number]
        if not known:
            return 0, set()
        n = max(known)
        return n, self.gates[n].get(alias, set())


def admins(ctx: PolicyContext) -> set[str]:
    """Policy admins: `settings.policy_admins` (names or uids), or when unset the owner of
    modelyard.json (the store's creator, as far as the filesystem knows)."""
    raw = ctx.config["settings"].get("policy_admins")
    if raw is None:
        try:
            return {user_name(os.stat(ctx.layout.config_path).st_uid)}
        except OSError:
            return set()
    if isinstance(raw, (str, int)) and not isinstance(raw, bool):
        raw = [raw]
    return {str(x) for x in raw or [] if isinstance(x, (str, int)) and not isinstance(x, bool)}


def gate_history(ctx: PolicyContext) -> GateHistory:
    """The gates in force at each policy number, and each change's verdict."""
    from modelyard.store.policy import files
    from modelyard.store.policy.errors import PolicyError

    allowed = admins(ctx)
    eff: dict[str, dict[str, Rule]] = {}
    out = GateHistory({}, {}, [])
    for n in files.policy_numbers(ctx.root):
        change = PolicyChange(n, str(files.policy_path(ctx.root, n)))
        try:
            policy = ctx.cache.get(n) or files.read_policy(ctx.root, n)
        except PolicyError as exc:
            change.weakened = [f"unreadable: {exc}"]
            out.changes.append(change)
            out.gates[n] = {a: set(rs) for a, rs in eff.items()}
            continue
        ctx.cache[n] = policy
        out.policies[n] = policy
        if policy.origin is not None:
            change.uid, change.owner = policy.origin.uid, policy.origin.owner
        new = {a: {r: policy.rules[r] for r in rs if r in policy.rules}
               for a, rs in policy.aliases.items()}
        change.weakened = weakenings(eff, new)
        change.authorized = change.owner in allowed or str(change.uid) in allowed
        if change.flagged:  # the gate stays: later moves are judged against it
            merged = {a: dict(rs) for a, rs in new.items()}
            for alias, old in eff.items():
                keep = merged.setdefault(alias, {})
                for name, rule in old.items():
                    if name not in keep or rule_weakenings(rule, keep[name]):
                        keep[name] = rule
            eff = merged
        else:
            eff = new
        out.gates[n] = {a: set(rs) for a, rs in eff.items()}
        out.changes.append(change)
    return out


def weakenings(before: dict[str, dict[str, Rule]], after: dict[str, dict[str, Rule]]
               ) -> list[str]:
    out = []
    for alias, rules in sorted(before.items()):
        if rules and alias not in after:
            out.append(f"removes the gate of @{alias}")
            continue
        for name, rule in sorted(rules.items()):
            if name not in after.get(alias, {}):
                out.append(f"@{alias} no longer requires {name}")
            else:
                out += [f"@{alias}'s rule {name} {w}"
                        for w in rule_weakenings(rule, after[alias][name])]
    return out


def rule_weakenings(old: Rule, new: Rule) -> list[str]:
    """How `new` lets through something `old` stopped (empty: at least as strict)."""
    out = []
    if old.blocking and not new.blocking:
        out.append("is no longer blocking")
    broader_models = not new.scope.models or (
        bool(old.scope.models) and set(old.scope.models) <= set(new.scope.models))
    if not (broader_models and set(new.scope.tags) <= set(old.scope.tags)):
        out.append("applies to fewer versions")
    for kind in ("require", "datasets", "metrics", "thresholds", "files"):
        dropped = sorted(set(getattr(old, kind)) - set(getattr(new, kind)))
        if dropped:
            out.append(f"drops {kind} {', '.join(dropped)}")
    if old.formats and (not new.formats or set(new.formats) - set(old.formats)):
        out.append("allows more weight formats")
    if old.max_size is not None and (new.max_size is None or new.max_size > old.max_size):
        out.append("raises max_size")
    return out


def judge_pending(ctx: PolicyContext) -> int:
    """Judge the alias moves the index took in since the last time (all of them again when
    the admins changed); returns how many. Cheap when there are none."""
    pending = ctx.index.pending_alias_checks(json.dumps(sorted(admins(ctx))))
    if not pending:
        return 0
    history = gate_history(ctx)
    verdicts = [(_judge(r, history), r[0], r[1]) for r in pending]
    ctx.index.save_alias_verdicts(verdicts)
    return len(verdicts)


def _judge(row: tuple, history: GateHistory) -> str:
    _mid, seq, alias, claimed, floor, forced, checked, results, ref, user = row
    number, rules = history.gate_at(max(claimed or 0, floor or 0), alias)
    if not rules or forced:
        return ""
    verdicts = json.loads(results or "{}")
    trouble = []
    for rule in sorted(rules):
        status = verdicts.get(rule)
        if status == "pass":
            continue
        if status == "fail":
            trouble.append(f"{rule}: fail")
        elif checked is None:
            trouble.append(f"{rule}: never checked")
        elif checked in history.policies and rule in history.policies[checked].rules:
            continue  # checked, and the rule does not apply to this version
        else:
            trouble.append(f"{rule}: not checked (its last check was under policy {checked})")
    if not trouble:
        return ""
    return (f"@{alias} was moved onto {ref} by event {seq} (recorded as by {user or '?'}) "
            f"although policy {number} gates @{alias} on {', '.join(sorted(rules))} "
            f"({'; '.join(trouble)}), and no --force reason was recorded")


def alias_violations(ctx: PolicyContext, model: str | None = None) -> list[dict[str, Any]]:
    """Every judged violation: model, seq, alias, ref, message."""
    judge_pending(ctx)
    return ctx.index.alias_violations(model)


def annotate_history(ctx: PolicyContext, model: str, events: list[Event]) -> None:
    """Put each judged violation on its event as `policy_violation` (a file's own key of
    that name is dropped: only the index's judgement is shown)."""
    found = {v["seq"]: v["message"] for v in alias_violations(ctx, model)}
    for event in events:
        if "policy_violation" in event.data:
            event.data = {k: v for k, v in event.data.items() if k != "policy_violation"}
        if event.type == "alias.set" and event.seq in found:
            event.data = {**event.data, "policy_violation": found[event.seq]}


def fsck_problems(ctx: PolicyContext) -> list[Problem]:
    """Violations as fsck problems (kind policy-violation): each makes fsck exit 1."""
    from modelyard.store.check.problems import Problem

    out = [Problem("policy-violation", str(ctx.layout.event_path(v["model"], v["seq"])),
                   v["message"], [v["ref"]]) for v in alias_violations(ctx)]
    out += [Problem("policy-violation", c.path, c.message())
            for c in gate_history(ctx).changes if c.flagged]
    return out + _missing_policies(ctx)


def _missing_policies(ctx: PolicyContext) -> list[Problem]:
    """Policy versions that were written (a later number exists, or an event names it) but
    whose file is gone: deleting a policy must not lift its gates invisibly."""
    from modelyard.store.check.problems import Problem
    from modelyard.store.policy.files import policy_numbers, policy_path

    root = ctx.root
    present = set(policy_numbers(root))
    named = ctx.index.policies_named()
    expected = set(range(1, max(present | named | {0}) + 1))
    return [Problem("policy-missing", str(policy_path(root, n)),
                    f"policy {n} is missing ({policy_path(root, n)}), though "
                    + ("events name it" if n in named else "later policies exist")
                    + "; its gates are no longer known. Restore the file from a backup, or "
                    "set the policy again with `modelyard policy set FILE`.")
            for n in sorted(expected - present)]
