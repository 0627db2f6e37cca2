"""Reading YAML and JSON that came from a drop or a user: plain data only.

One loader for manifests, model cards, MLmodel files and policies: PyYAML's safe loader
(no Python tags) that also refuses anchors and aliases, since an alias bomb expands to
gigabytes once the data is serialized. `parse` is the one translation of what the parsers
raise into words (`Unreadable`); each caller turns it into its own error type."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

_TAG_IN_PROBLEM = re.compile(r"tag '([^']+)'")


class YamlRefused(ValueError):
    """The text uses something modelyard will not load (an alias), or is nested too deep."""


class NoAliasLoader(yaml.SafeLoader):
    # `index` is a list position or a mapping's key node (PyYAML's stubs say only int)
    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
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


class Unreadable(ValueError):
    """Text that is not data modelyard reads; the message names the source and says why."""


def parse(text: str, *, where: str, json_only: bool = False,
          max_depth: int | None = None) -> Any:
    """YAML (or, with `json_only`, strict JSON) as plain data, nested at most `max_depth`
    levels; else Unreadable, whose message starts with `where` and says what to fix."""
    kind = "JSON" if json_only else "YAML"
    try:
        data = json.loads(text) if json_only else load(text)
    except YamlRefused as exc:  # an alias
        raise Unreadable(f"{where}: {exc}") from None
    except RecursionError:
        raise Unreadable(f"{where} is nested too deeply to read") from None
    except json.JSONDecodeError as exc:
        raise Unreadable(f"{where} is not valid JSON: {exc.msg} at line {exc.lineno} "
                         f"column {exc.colno}") from None
    except yaml.constructor.ConstructorError as exc:
        raise Unreadable(_tag_refused(exc, where)) from None
    except yaml.YAMLError as exc:
        raise Unreadable(f"{where} is not valid YAML{where_and_why(exc)}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # 2026-13-45, a 5000-digit int
        raise Unreadable(f"{where} is not valid {kind}: {str(exc)[:200]}") from None
    if max_depth is not None:
        try:
            check_depth(data, max_depth)
        except YamlRefused as exc:
            raise Unreadable(f"{where} is {exc}") from None
    return data


def _tag_refused(exc: yaml.constructor.ConstructorError, where: str) -> str:
    """The safe loader met a tag (`!!python/object/apply:os.system`): name it and the risk."""
    found = _TAG_IN_PROBLEM.search(str(exc.problem or ""))
    tag = (found.group(1) if found else "?").replace("tag:yaml.org,2002:", "!!")
    line = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
    danger = (", which builds program objects and can run code" if "python/" in tag
              else ", which plain YAML does not know")
    return (f"{where} uses the YAML tag {tag}{line}{danger}; modelyard reads plain YAML only. "
            "Remove the tag or re-save the file with a safe YAML writer")
