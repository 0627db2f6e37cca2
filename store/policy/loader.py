"""Read a policy file (YAML or JSON) safely and check every field, naming the one at fault.

YAML goes through a safe loader that also refuses anchors and aliases, like manifests do;
files are limited to 1 MB and 32 levels of nesting. Thresholds are parsed with the store's
query language here, so a typo is reported when the policy is set, not at the next ingest.
The JSON Schema in `store/schemas/policy.schema.json` documents the same format.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from modelyard.store import safe_yaml
from modelyard.store.errors import InvalidName, QueryError
from modelyard.store.names import check_alias, unsafe_char
from modelyard.store.policy.errors import PolicyError
from modelyard.store.policy.model import (
    CHECK_KINDS,
    MAX_HOOK_TIMEOUT,
    REQUIRED_FIELDS,
    TEXT_FORMATS,
    TRIGGERS,
    WEIGHT_FORMATS,
    HookSpec,
    Policy,
    Rule,
    Scope,
)

MAX_POLICY_BYTES = 1_000_000
RULE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
STAMPS = ("policy", "set_at", "set_by")  # written by the store; ignored when setting
TOP_LEVEL = ("description", "rules", "aliases", "hooks", *STAMPS)
RULE_KEYS = ("description", "blocking", "applies_to", *CHECK_KINDS)
HOOK_KEYS = ("name", "event", "command", "timeout", "alias", "rule", "models")


def load_policy(source: str | Path | Mapping[str, Any]) -> Policy:
    """A policy from a file (`Path`), YAML or JSON text (`str`), or plain data."""
    if isinstance(source, Mapping):
        return policy_from_data(source, "policy")
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
            if size > MAX_POLICY_BYTES:
                raise PolicyError(f"{source} is {size:,} bytes; a policy is limited to "
                                  f"{MAX_POLICY_BYTES:,}")
            text = source.read_bytes().decode("utf-8", "replace")
        except OSError as exc:
            raise PolicyError(f"cannot read the policy file {source}: {exc.strerror}") from None
        return parse_policy_text(text, source.name)
    return parse_policy_text(source, "policy")


def parse_policy_text(text: str, where: str) -> Policy:
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise PolicyError(f"{where} is larger than {MAX_POLICY_BYTES:,} bytes")
    try:
        data = safe_yaml.parse(text, where=where, max_depth=32)  # JSON is YAML too
    except safe_yaml.Unreadable as exc:
        raise PolicyError(str(exc)) from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        hint = "; to read a policy file, pass its Path" if isinstance(data, str) else ""
        raise PolicyError(f"{where} must hold a mapping with rules, aliases and hooks{hint}")
    return policy_from_data(data, where)


def policy_from_data(data: Mapping[str, Any], where: str) -> Policy:
    _known(data, TOP_LEVEL, where)
    rules_raw = data.get("rules") or {}
    if not isinstance(rules_raw, Mapping):
        raise PolicyError(f"{where}: rules must map rule names to their checks, e.g. "
                          "rules: {serving: {require: [signature]}}")
    rules = {}
    for name, body in rules_raw.items():
        rules[str(name)] = _rule(str(name), body, f"{where}: rules.{name}")
    aliases = _aliases(data.get("aliases") or {}, rules, where)
    hooks = hooks_from_data(data.get("hooks") or [], f"{where}: hooks")
    number = data.get("policy")
    set_by = data.get("set_by")
    if not isinstance(set_by, Mapping):
        set_by = {}
    return Policy(rules=rules, aliases=aliases, hooks=hooks,
                  description=_text(data.get("description"), f"{where}: description"),
                  number=number if isinstance(number, int) and not isinstance(number, bool)
                  else None,
                  set_at=str(data.get("set_at") or ""),
                  set_by={str(k): str(v) for k, v in set_by.items()})


def _rule(name: str, body: Any, where: str) -> Rule:
    if not RULE_NAME.match(name):
        raise PolicyError(f"{where}: a rule name starts with a letter, then letters, digits, "
                          "'_' or '-' (at most 63), so that `policy.<rule> = pass` can name it")
    if body is None:
        body = {}
    if not isinstance(body, Mapping):
        raise PolicyError(f"{where} must be a mapping of checks, e.g. {{require: [signature]}}")
    _known(body, RULE_KEYS, where)
    blocking = body.get("blocking", True)
    if not isinstance(blocking, bool):
        raise PolicyError(f"{where}.blocking must be true or false")
    require = _names(body.get("require"), f"{where}.require")
    for item in require:
        if item not in REQUIRED_FIELDS:
            raise PolicyError(f"{where}.require: {item!r} is not a field a rule can require; "
                              f"use {', '.join(REQUIRED_FIELDS)}")
    datasets = _names(body.get("datasets"), f"{where}.datasets")
    formats = _names(body.get("formats"), f"{where}.formats")
    for fmt in formats:
        if fmt not in WEIGHT_FORMATS:
            hint = " (text-like files are never checked)" if fmt in TEXT_FORMATS else ""
            raise PolicyError(f"{where}.formats: {fmt!r} is not a weights format modelyard "
                              f"detects{hint}; use {', '.join(WEIGHT_FORMATS)}")
    return Rule(name=name, description=_text(body.get("description"), f"{where}.description"),
                blocking=blocking, scope=_scope(body.get("applies_to"), f"{where}.applies_to"),
                require=require, datasets=datasets,
                metrics=_names(body.get("metrics"), f"{where}.metrics"),
                thresholds=_thresholds(body.get("thresholds"), f"{where}.thresholds"),
                formats=formats, max_size=_size(body.get("max_size"), f"{where}.max_size"),
                files=_names(body.get("files"), f"{where}.files"))


def _scope(raw: Any, where: str) -> Scope:
    if raw is None:
        return Scope()
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where} must be a mapping: {{models: [churn-*], tags: {{team: x}}}}")
    _known(raw, ("models", "tags"), where)
    tags_raw = raw.get("tags") or {}
    if isinstance(tags_raw, list):
        tags_raw = {str(k): "*" for k in tags_raw}
    if not isinstance(tags_raw, Mapping):
        raise PolicyError(f"{where}.tags must map tag keys to values (or '*' for any value)")
    tags = tuple((str(k), _scalar(v, f"{where}.tags.{k}")) for k, v in tags_raw.items())
    return Scope(models=_names(raw.get("models"), f"{where}.models"), tags=tags)


def _thresholds(raw: Any, where: str) -> tuple[str, ...]:
    from modelyard.store.query import parse
    from modelyard.store.query.nodes import PolicyState

    out = _names(raw, where)
    for i, text in enumerate(out):
        try:
            query = parse(text)
        except QueryError as exc:
            raise PolicyError(f"{where}[{i}] {text!r}: {exc}") from None
        if query.where is None or query.order:
            raise PolicyError(f"{where}[{i}] {text!r} must be a condition such as "
                              "metrics.auc >= 0.9, without order by")
        if "policy" in text.lower() and _mentions_policy(query.where, PolicyState):
            raise PolicyError(f"{where}[{i}] {text!r} looks at policy results; a rule cannot "
                              "depend on other rules")
    return out


def _mentions_policy(node: Any, state_type: type) -> bool:
    if isinstance(node, state_type):
        return True
    field = getattr(node, "field", None)
    if field is not None and field.kind == "policy":
        return True
    children = list(getattr(node, "items", ()) or ())
    if hasattr(node, "operand"):
        children.append(node.operand)
    return any(_mentions_policy(child, state_type) for child in children)


def _aliases(raw: Any, rules: Mapping[str, Rule], where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: aliases must map alias names to the rules they require, "
                          "e.g. aliases: {production: [serving]}")
    out = {}
    for alias, names in raw.items():
        spot = f"{where}: aliases.{alias}"
        try:
            check_alias(str(alias))
        except InvalidName as exc:
            raise PolicyError(f"{spot}: {exc}") from None
        required = _names(names, spot)
        for name in required:
            if name not in rules:
                raise PolicyError(f"{spot} requires the rule {name!r}, which the policy does "
                                  f"not define; rules: {', '.join(rules) or 'none'}")
        out[str(alias)] = required
    return out


def hooks_from_data(raw: Any, where: str, *, source: str = "policy") -> tuple[HookSpec, ...]:
    """Hook specs from a policy's `hooks:` or the store config's `settings.hooks`."""
    if not isinstance(raw, list):
        raise PolicyError(f"{where} must be a list of hooks, each {{on, command}}")
    out = []
    for i, hook in enumerate(raw):
        spot = f"{where}[{i}]"
        if not isinstance(hook, Mapping):
            raise PolicyError(f"{spot} must be a mapping with event and command")
        hook = _on_as_event(hook)
        _known(hook, HOOK_KEYS, spot)
        event = hook.get("event")
        if event not in TRIGGERS:
            raise PolicyError(f"{spot}.event is {event!r}; use one of {', '.join(TRIGGERS)}")
        command = hook.get("command")
        if (not isinstance(command, list) or not command
                or not all(isinstance(a, str) and a and "\x00" not in a for a in command)):
            raise PolicyError(f"{spot}.command must be a list of arguments such as "
                              "[/usr/local/bin/notify, --channel, ml]; no shell is used")
        timeout = hook.get("timeout", 30)
        if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                or not math.isfinite(timeout) or not 0 < timeout <= MAX_HOOK_TIMEOUT):
            raise PolicyError(f"{spot}.timeout must be seconds between 0 and "
                              f"{MAX_HOOK_TIMEOUT:g}")
        out.append(HookSpec(name=_text(hook.get("name"), f"{spot}.name") or f"hook-{i + 1}",
                            event=event, command=tuple(command), timeout=float(timeout),
                            alias=_text(hook.get("alias"), f"{spot}.alias"),
                            rule=_text(hook.get("rule"), f"{spot}.rule"),
                            models=_names(hook.get("models"), f"{spot}.models"),
                            source=source))
    return tuple(out)


def _on_as_event(hook: Mapping[Any, Any]) -> dict[Any, Any]:
    """`on:` is a friendly spelling of `event:` (GitHub Actions habits); YAML 1.1 reads an
    unquoted `on` key as the boolean true, so that key is taken as `on` too."""
    out = dict(hook)
    for key in ("on", True):
        if key in out and "event" not in out:
            out["event"] = out.pop(key)
    return out


# small readers ------------------------------------------------------------------------------

def _known(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = [str(k) for k in data if k not in allowed]
    if unknown:
        raise PolicyError(f"{where}: unknown field {', '.join(sorted(unknown))}; "
                          f"fields here: {', '.join(allowed)}")


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PolicyError(f"{where} must be text")
    if len(value) > 10_000:
        raise PolicyError(f"{where} is longer than 10,000 characters")
    return value


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise PolicyError(f"{where} must be a value (text or a number), or '*' for any")
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if unsafe_char(text):
        raise PolicyError(f"{where} holds a control character")
    return text


def _names(value: Any, where: str) -> tuple[str, ...]:
    """A list of short texts (a single text is a list of one)."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise PolicyError(f"{where} must be a list, e.g. [a, b]")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)) or item == "":
            raise PolicyError(f"{where}[{i}] must be non-empty text")
        text = str(item)
        if unsafe_char(text) or len(text) > 1000:
            raise PolicyError(f"{where}[{i}] holds a control character or is too long")
        out.append(text)
    return tuple(out)


def _size(value: Any, where: str) -> int | None:
    from modelyard.store.query.lexer import convert_literal

    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    size = convert_literal("size", value, False) if isinstance(value, str) else None
    if not isinstance(size, int | float) or size < 0:  # None: not a size
        raise PolicyError(f"{where} is {value!r}; write a size such as 2GB, 500MiB or a "
                          "number of bytes")
    return int(size)


def dump_policy(policy: Policy) -> str:
    """The canonical YAML of a policy (what the store writes, and `policy show` prints)."""
    return yaml.safe_dump(policy.to_data(), sort_keys=False, allow_unicode=True, width=100)


def to_json(policy: Policy) -> str:
    return json.dumps(policy.to_data(), indent=2, ensure_ascii=False)
