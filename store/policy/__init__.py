"""Store-wide requirements: versioned policy files, checks of every version, alias gates and
hooks. Headless like the rest of `store/`; the Store's verbs call into `service`.

    <store>/policies/<n>.yaml     one write-once file per policy change (who, when, host)

The names below are imported on first use: every Store composes the policy service, and
every CLI command would otherwise pay for the YAML parser and the rule engine (~40 ms)
even when it only lists versions.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "AliasRefused": "errors", "PolicyError": "errors",
    "dump_policy": "loader", "load_policy": "loader",
    "REQUIRED_FIELDS": "model", "TRIGGERS": "model", "WEIGHT_FORMATS": "model",
    "HookSpec": "model", "Policy": "model", "Rule": "model", "Scope": "model",
    "CheckReport": "report", "RuleResult": "report", "Finding": "rules",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
