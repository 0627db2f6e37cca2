"""Store-wide requirements: versioned policy files, checks of every version, alias gates and
hooks. Headless like the rest of `store/`; the Store's verbs call into `service`.

    <store>/policies/<n>.yaml     one write-once file per policy change (who, when, host)
"""

from .errors import AliasRefused, PolicyError
from .loader import dump_policy, load_policy
from .model import REQUIRED_FIELDS, TRIGGERS, WEIGHT_FORMATS, HookSpec, Policy, Rule, Scope
from .report import CheckReport, RuleResult
from .rules import Finding

__all__ = [
    "REQUIRED_FIELDS", "TRIGGERS", "WEIGHT_FORMATS", "AliasRefused", "CheckReport", "Finding",
    "HookSpec", "Policy", "PolicyError", "Rule", "RuleResult", "Scope", "dump_policy",
    "load_policy",
]
