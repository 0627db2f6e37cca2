"""The policy's named errors: a policy file that cannot be used, and a refused alias."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard.store.errors import ModelyardError

if TYPE_CHECKING:
    from modelyard.store.policy.report import RuleResult


class PolicyError(ModelyardError):
    """A policy file (being set, or stored) that is not valid; the message names the field."""

    exit_code = 2


class AliasRefused(ModelyardError):
    """An alias gate refused a version that fails rules the alias requires."""

    def __init__(self, message: str, failures: list[RuleResult]) -> None:
        super().__init__(message)
        self.failures = failures
