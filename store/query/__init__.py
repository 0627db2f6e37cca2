"""The search language: MLflow's filter grammar plus OR, NOT, ranges, text and qualifiers.

`compile_query` turns a query into SQL over the index's `versions v`; `parse` alone gives the
syntax tree, for a search box that wants to point at a mistake while the user types.

A metric may be NaN or infinite: `metrics.loss = nan`, `metrics.loss = inf`, `< inf`,
`= -inf`, `in (nan, 0.5)`. NaN has no order (only `=`, `!=` and `in`), and sorts last with
the versions that lack the metric (the index holds NaN as NULL: SQLite has no NaN).
"""

from modelyard.store.query.compiler import DEFAULT_ORDER, CompiledQuery, compile_query
from modelyard.store.query.fields import ATTRIBUTES, FIELD_PREFIXES, KEYWORDS, Field
from modelyard.store.query.lexer import Ago, Instant, Value
from modelyard.store.query.nodes import (
    Alias,
    And,
    Between,
    Compare,
    Has,
    InList,
    Latest,
    Node,
    Not,
    Or,
    OrderItem,
    Parent,
    PolicyState,
    Query,
    Text,
)
from modelyard.store.query.parser import parse

__all__ = [
    "ATTRIBUTES", "DEFAULT_ORDER", "FIELD_PREFIXES", "KEYWORDS", "Ago", "Alias", "And",
    "Between", "Compare", "CompiledQuery", "Field", "Has", "InList", "Instant", "Latest",
    "Node", "Not", "Or", "OrderItem", "Parent", "PolicyState", "Query", "Text", "Value",
    "compile_query", "parse",
]
