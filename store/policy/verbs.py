"""The Store's policy verbs, kept beside the policy code (the Store class inherits them):
the policy in force and its history, setting a new one, checks and their stored results.

Gates and hooks are part of the verbs that trigger them (`Store.set_alias`,
`Store.remove_alias`, `Store.add_version`) in api.py, so every caller obeys them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.store.policy.state import state

if TYPE_CHECKING:
    from modelyard.store.policy.model import HookSpec, Policy
    from modelyard.store.policy.report import CheckReport
    from modelyard.store.versions.version import Version

# The policy engine (YAML, rules, hooks) is imported inside the verbs that use it: every
# Store inherits these verbs, and listing versions must not pay for it.


class PolicyVerbs:
    """Mixed into Store; `self` is the Store."""

    _policy_cache: dict[int, Policy]
    root: Path

    def policy(self) -> Policy | None:
        """The policy in force (the newest policy file), or None when none was ever set."""
        from modelyard.store.policy import service

        return service.current(self)  # type: ignore[arg-type]

    def policy_history(self) -> list[Policy]:
        """Every policy version, oldest first, each with its number, set_at and set_by."""
        from modelyard.store.policy import files

        return [files.read_policy(self.root, n) for n in files.policy_numbers(self.root)]

    def set_policy(self, source: str | Path | Mapping[str, Any], *, recheck: bool = True
                   ) -> Policy:
        """Write a new policy version from a file (`Path`), YAML text (`str`) or data, then
        re-check every version against it. A bad policy raises PolicyError naming the
        field, and nothing is written."""
        from modelyard.store.policy import files, service
        from modelyard.store.policy.loader import load_policy

        written = files.write_policy(self.root, load_policy(source))
        assert written.number is not None
        self._policy_cache[written.number] = written
        if recheck:
            service.recheck(self)  # type: ignore[arg-type]
        return written

    def check(self, ref: str | Version, *, record: bool = True) -> CheckReport:
        """Check a version against the policy in force now: every rule that applies, with
        its verdict and findings. With `record`, verdicts that differ from the stored ones
        are written as a `policy.checked` event (so the index and queries agree)."""
        from modelyard.store.policy import service

        return service.check(self, self._version(ref), record=record)  # type: ignore[arg-type]

    def check_results(self, ref: str | Version) -> CheckReport:
        """The stored verdicts of the version's last check: what `policy:` queries see."""
        from modelyard.store.policy import service

        return service.stored(self, self._version(ref))  # type: ignore[arg-type]

    def policy_state(self, version: Version) -> str:
        """'failing', 'warning', 'passing' or 'unchecked': one indexed lookup, for tables."""
        return state(self._db, version.id)  # type: ignore[attr-defined]

    def recheck(self, *, all_versions: bool = False) -> int:
        """Check versions whose results predate the policy in force (or all of them);
        returns how many. `set_policy` does it; run it after a crash or periodically."""
        from modelyard.store.policy import service

        return service.recheck(self, all_versions=all_versions)  # type: ignore[arg-type]

    def policy_violations(self, model: str | None = None) -> list[dict[str, Any]]:
        """Alias moves that skipped their gate with no recorded --force reason: model, seq,
        alias, ref and message (see violations.py); a model's, or the whole store's."""
        from modelyard.store.policy import violations

        return violations.alias_violations(self, model)  # type: ignore[arg-type]

    def policy_changes(self) -> list[dict[str, Any]]:
        """Each policy version with whether it weakens a gate and who owns its file; those
        `flagged` weaken one and are not by a policy admin."""
        from modelyard.store.policy import violations

        return [c.to_dict() for c in violations.gate_history(self).changes]  # type: ignore

    def hooks(self) -> list[HookSpec]:
        """The hooks in force: the store config's `settings.hooks`, then the policy's."""
        from modelyard.store.policy import hooks

        return hooks.configured_hooks(self)  # type: ignore[arg-type]

    def _version(self, ref: str | Version) -> Version:
        return ref if not isinstance(ref, str) else self.get(ref)  # type: ignore[attr-defined]
