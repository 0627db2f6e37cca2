"""What a policy says, as small frozen records: rules, their scope, alias gates and hooks.

The loader builds these from a policy file; the checker, the gates and the hooks read them.
`to_data` gives the canonical form that is written to `<store>/policies/<n>.yaml`, so a
policy read back from the store equals the one that was set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelyard.store.policy.trust import Origin

# what `require:` may name, and what each means
REQUIRED_FIELDS = {
    "signature": "a serving signature with inputs",
    "description": "a description",
    "git_commit": "source with a git commit",
    "source_files": "source files",
    "framework": "a serving framework",
    "resources": "serving resources (cpu, memory or gpu)",
}
# formats the sniffer detects (store/ingest/sniff.py); text-like ones are never weights
WEIGHT_FORMATS = ("safetensors", "onnx", "gguf", "skops", "numpy", "hdf5", "pickle", "joblib",
                  "pytorch", "zip", "gzip", "xz", "binary")
TEXT_FORMATS = ("text", "json", "yaml", "python", "markdown", "")
TRIGGERS = ("alias.set", "alias.removed", "rule.passed", "rule.failed")
CHECK_KINDS = ("require", "datasets", "metrics", "thresholds", "formats", "max_size", "files")
DEFAULT_HOOK_TIMEOUT = 30.0
MAX_HOOK_TIMEOUT = 600.0


@dataclass(frozen=True)
class Scope:
    """Which versions a rule is about: model name globs and tags (value globs, `*` any)."""

    models: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()

    def covers(self, model: str, tags: dict[str, str]) -> bool:
        if self.models and not any(fnmatchcase(model, p) for p in self.models):
            return False
        return all(key in tags and fnmatchcase(tags[key], pattern)
                   for key, pattern in self.tags)

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.models:
            out["models"] = list(self.models)
        if self.tags:
            out["tags"] = dict(self.tags)
        return out


@dataclass(frozen=True)
class Rule:
    """A named set of checks; a version passes the rule when every check passes."""

    name: str
    description: str = ""
    blocking: bool = True
    scope: Scope = field(default_factory=Scope)
    require: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    thresholds: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    max_size: int | None = None
    files: tuple[str, ...] = ()

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.description:
            out["description"] = self.description
        out["blocking"] = self.blocking
        if self.scope.to_data():
            out["applies_to"] = self.scope.to_data()
        for kind in CHECK_KINDS:
            value = getattr(self, kind)
            if value:
                out[kind] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True)
class HookSpec:
    """A command to run when something happens; the event goes to it as JSON on stdin."""

    name: str
    event: str  # one of TRIGGERS
    command: tuple[str, ...]
    timeout: float = DEFAULT_HOOK_TIMEOUT
    alias: str = ""  # glob over alias names, for alias.* triggers
    rule: str = ""  # glob over rule names, for rule.* triggers
    models: tuple[str, ...] = ()
    source: str = "policy"  # where it was configured: policy or config
    origin: Origin | None = field(default=None, compare=False)  # its file, as stat saw it

    def matches(self, event: str, model: str, *, alias: str = "", rule: str = "") -> bool:
        if event != self.event:
            return False
        if self.models and not any(fnmatchcase(model, p) for p in self.models):
            return False
        if self.alias and not fnmatchcase(alias, self.alias):
            return False
        return not (self.rule and not fnmatchcase(rule, self.rule))

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "event": self.event,
                               "command": list(self.command), "timeout": self.timeout}
        for key in ("alias", "rule"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.models:
            out["models"] = list(self.models)
        return out


@dataclass(frozen=True)
class Policy:
    """One version of the store's policy. `number` is None until it is written."""

    rules: dict[str, Rule]
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hooks: tuple[HookSpec, ...] = ()
    description: str = ""
    number: int | None = None
    set_at: str = ""
    set_by: dict[str, str] = field(default_factory=dict)
    origin: Origin | None = field(default=None, compare=False)  # its file's real owner

    def rules_for(self, model: str, tags: dict[str, str]) -> list[Rule]:
        return [r for r in self.rules.values() if r.scope.covers(model, tags)]

    def gate(self, alias: str) -> tuple[str, ...]:
        """The rules a version must pass to carry `alias` (none: the alias is not gated)."""
        return self.aliases.get(alias, ())

    def to_data(self) -> dict[str, Any]:
        """The canonical form written to the store (stamps first, then the content)."""
        out: dict[str, Any] = {}
        if self.number is not None:
            out["policy"] = self.number
            out["set_at"] = self.set_at
            out["set_by"] = dict(self.set_by)
        if self.description:
            out["description"] = self.description
        out["rules"] = {name: rule.to_data() for name, rule in self.rules.items()}
        if self.aliases:
            out["aliases"] = {alias: list(rules) for alias, rules in self.aliases.items()}
        if self.hooks:
            out["hooks"] = [h.to_data() for h in self.hooks]
        return out
