"""Reading YAML that came from a drop or a user: plain data only.

One loader for manifests, model cards, MLmodel files and policies: PyYAML's safe loader
(no Python tags) that also refuses anchors and aliases, since an alias bomb expands to
gigabytes once the data is serialized. Callers turn `YamlRefused` into their own error."""

from __future__ import annotations

from typing import Any

import yaml


class YamlRefused(ValueError):
    """The text uses something modelyard will not load (an alias), or is nested too deep."""


class NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YamlRefused(f"YAML aliases (*{event.anchor}) are not allowed (line "
                              f"{event.start_mark.line + 1}); write the values out in full")
        return super().compose_node(parent, index)


def load(text: str) -> Any:
    """Parse `text`; raises YamlRefused, yaml.YAMLError or RecursionError."""
    return yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 - a safe loader subclass


def where_and_why(exc: yaml.YAMLError) -> str:
    """` at line 3 column 7: found character '\\t'`, for error messages."""
    mark = getattr(exc, "problem_mark", None)
    at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["?"])[0]
    return f"{at}: {problem}"


def check_depth(value: Any, limit: int) -> None:
    """Raise YamlRefused when `value` nests deeper than `limit` (checked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise YamlRefused(f"nested more than {limit} levels deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
