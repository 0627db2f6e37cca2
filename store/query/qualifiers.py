"""What the search-box qualifiers mean: `model:x user:x is:x has:x parent:x dataset:x tag:x`
and `policy:failing`.

The parser reads `name:` and the value glued to it; these functions turn the pair into the
same nodes a written comparison gives (`user:bob` is `user = 'bob'`), so the compiler never
needs to know qualifiers exist. Errors are raised against `text`, the whole query.
"""

from __future__ import annotations

import difflib
import re

from modelyard.store.errors import QueryError
from modelyard.store.query.fields import ENTITIES, QUALIFIERS, Field, attribute, dataset_field
from modelyard.store.query.nodes import (
    Alias,
    And,
    Compare,
    Has,
    Latest,
    Node,
    Parent,
    PolicyState,
)
from modelyard.store.query.policy_states import STATES as POLICY_STATES

_IS = {"deprecated": "deprecated", "pickle": "pickle", "latest": "latest"}


def check_qualifier(name: str, start: int, text: str) -> None:
    """Refuse an unknown `name:` before its value is read, with the closest known one."""
    if name not in QUALIFIERS:
        guess = difflib.get_close_matches(name, list(QUALIFIERS), n=1)
        hint = f"did you mean '{guess[0]}:'? " if guess else ""
        raise QueryError(f"unknown qualifier '{name}:'; {hint}qualifiers are "
                         f"{', '.join(q + ':' for q in QUALIFIERS)}; to search for the text, "
                         f"quote it", text, start)


def qualifier_condition(name: str, value: str, quoted: bool, start: int, pos: int,
                        text: str) -> Node:
    """The condition `name:value` stands for; `pos` is the column of the value."""
    if name in ("model", "name"):
        return _model_ref(value, quoted, start, pos, text)
    if name == "parent":
        model, number = _split_number(value, quoted)
        if number is None and ":" in model:
            raise QueryError("expected a version number after ':', like parent:bert:3", text,
                             pos)
        return Parent(model, number, start)
    if name == "is":
        what = _IS.get(value.lower())
        if what is None:
            raise QueryError(f"unknown is:{value}; use {', '.join('is:' + k for k in _IS)}",
                             text, pos)
        if what == "latest":
            return Latest(start)
        return Compare(attribute(what, pos, text), "=", True, start)
    if name == "policy":
        if value.lower() not in POLICY_STATES:
            raise QueryError(f"unknown policy:{value}; use "
                             f"{', '.join('policy:' + s for s in POLICY_STATES)}, or "
                             "policy.<rule> = pass|fail for one rule", text, pos)
        return PolicyState(value.lower(), start)
    if name == "has":
        return Has(_has_field(value, pos, text), start)
    if name == "tag":
        return Has(Field("tag", value, pos), start)
    field = (Field("dataset", "name", pos) if name == "dataset"
             else attribute(name, pos, text))
    return _exact_or_glob(field, value, quoted, start)


def _model_ref(value: str, quoted: bool, start: int, pos: int, text: str) -> Node:
    """`model:NAME`, `model:NAME:3` or `model:NAME@alias` (names never hold : or @)."""
    name, at, alias = (value, "", "") if quoted else value.partition("@")
    name, number = _split_number(name, quoted)
    if not name or (at and not alias) or (number is None and ":" in name):
        raise QueryError("expected model:NAME, model:NAME:3 or model:NAME@alias", text, pos)
    node = _exact_or_glob(attribute("model", pos, text), name, quoted, start)
    if number is not None:
        return And((node, Compare(attribute("version", pos, text), "=", number, start)), start)
    return And((node, Alias(alias, start)), start) if alias else node


def _has_field(value: str, pos: int, text: str) -> Field:
    kinds = {"alias": "alias", "aliases": "alias", "parent": "parent", "parents": "parent"}
    if value.lower() in kinds:
        return Field(kinds[value.lower()], "", pos)
    if value.lower() in ("dataset", "datasets"):
        return Field("dataset", "name", pos)
    head, dot, key = value.partition(".")
    entity = ENTITIES.get(head.lower())
    if not dot or not key or entity is None:
        raise QueryError(f"expected has:metrics.<key>, has:params.<key>, has:tags.<key>, "
                         f"has:alias, has:parent or has:dataset, not has:{value}", text, pos)
    if entity == "attr":
        return attribute(key, pos, text)
    if entity == "dataset":
        return dataset_field(key, pos, pos, text)
    return Field(entity, key, pos)


def _split_number(value: str, quoted: bool) -> tuple[str, int | None]:
    """`name:3` -> ('name', 3); anything else keeps its text."""
    name, colon, number = value.rpartition(":")
    if quoted or not colon:
        return value, None
    return (name, int(number)) if re.fullmatch(r"[0-9]{1,18}", number) else (value, None)


def _exact_or_glob(field: Field, value: str, quoted: bool, pos: int) -> Compare:
    """An unquoted `*` in a qualifier is a wildcard; everything else matches literally."""
    if quoted or "*" not in value:
        return Compare(field, "=", value, pos)
    pattern = value.replace("[", "[[]").replace("?", "[?]")
    return Compare(field, "GLOB", pattern, pos)
