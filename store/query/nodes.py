"""The syntax tree `parse` returns: one frozen dataclass per kind of condition.

Every node keeps `pos`, the column it was written at, so the compiler and the search box can
still point at the text a node came from. Fields and values in the tree are already checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.store.query.fields import Field
from modelyard.store.query.lexer import Value


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # = != < <= > >= LIKE ILIKE GLOB, or NOT LIKE / NOT ILIKE / NOT GLOB
    value: Value
    pos: int


@dataclass(frozen=True)
class InList:
    field: Field
    values: tuple[Value, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class Between:
    field: Field
    low: Value
    high: Value
    negated: bool
    pos: int


@dataclass(frozen=True)
class Has:
    """The key (or alias, parent, dataset) is present: `has:metrics.auc`, `IS NOT NULL`."""

    field: Field
    pos: int


@dataclass(frozen=True)
class Text:
    """Full-text search; a bare word matches as a prefix, a quoted phrase exactly."""

    text: str
    prefix: bool
    pos: int


@dataclass(frozen=True)
class Alias:
    name: str
    pos: int


@dataclass(frozen=True)
class Parent:
    model: str
    number: int | None
    pos: int


@dataclass(frozen=True)
class Latest:
    """The highest version number of its model (`is:latest`)."""

    pos: int


@dataclass(frozen=True)
class PolicyState:
    """A version's policy check: `policy:failing`, `passing`, `warning` or `unchecked`."""

    state: str
    pos: int


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]
    pos: int


Node = (Compare | InList | Between | Has | Text | Alias | Parent | Latest | PolicyState | Not
        | And | Or)


@dataclass(frozen=True)
class OrderItem:
    field: Field
    descending: bool


@dataclass(frozen=True)
class Query:
    where: Node | None
    order: tuple[OrderItem, ...] = ()
