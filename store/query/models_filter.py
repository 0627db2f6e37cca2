"""The filter and order of `modelyard models`: MLflow's registered-model search, exactly.

MLflow searches registered models with a smaller grammar than versions, and so does this
module, so that a filter written for `MlflowClient.search_registered_models` answers the
same here and one MLflow refuses is refused here too:

    name = 'churn'   name != 'x'   name LIKE 'churn-%'   name ILIKE '%XGB%'
    name IN ('a', 'b')   name NOT IN ('a')   attribute.name = 'a'
    tags.team = 'risk'   tag.`cost center` LIKE 'r%'   tags."a.b" != 'x'
    ... AND ...          order by name desc, last_updated_timestamp

Conditions are joined by AND only (a trailing AND is ignored, as MLflow does, and so is a
trailing comma in an IN list); `name` and the entities `tag`, `tags`, `attribute` are
written in lower case, as MLflow requires; values are quoted. A model lacking a tag never
matches a condition on it, not even `!=`. LIKE is case-sensitive, ILIKE is not.

The order is MLflow's `order_by` list (`Store.models(order_by=[...])`, `--order-by`) or an
`order by` at the end of the filter: `name`, `last_updated_timestamp` (or `timestamp`, or
`updated`: the model's newest version's `created`) and `creation_timestamp` (or `created`:
its first version's), each `asc` (the default) or `desc`; ties go by name, ascending.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from modelyard.store.errors import QueryError
from modelyard.store.query.compiler import like_to_glob
from modelyard.store.query.cursor import TokenCursor, describe
from modelyard.store.query.lexer import Kind, Token

NAME_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
TAG_OPS = ("=", "!=", "LIKE", "ILIKE")
ENTITIES = ("tag", "tags", "attribute")
# order keys: MLflow's spellings (its SQL store knows `timestamp`, its file store
# `creation_timestamp`) and modelyard's own
ORDER_KEYS = {"name": "name", "last_updated_timestamp": "updated", "timestamp": "updated",
              "updated": "updated", "creation_timestamp": "created", "created": "created"}
_ORDER_SQL = {
    "name": "m.name",
    "updated": "v.created_ms",  # v: the model's newest version (see Index.model_rows)
    "created": "(SELECT f.created_ms FROM versions f WHERE f.model = m.name "
               "ORDER BY f.number LIMIT 1)",
}
_FIELDS_HINT = "a model filter looks at name and tags.<key>, as MLflow's registered-model search"


@dataclass(frozen=True)
class ModelCondition:
    """`name op value` (`key` None) or `tags.<key> op value`; IN lists hold a tuple."""

    key: str | None  # None: the name; else the tag key
    op: str  # = != LIKE ILIKE IN, NOT IN
    value: str | tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class ModelOrder:
    key: str  # name, updated or created
    descending: bool


@dataclass(frozen=True)
class ModelFilter:
    conditions: tuple[ModelCondition, ...]
    order: tuple[ModelOrder, ...]


@dataclass(frozen=True)
class CompiledModelFilter:
    """Pieces for `Index.model_rows`: a WHERE over models `m` (and their newest version `v`),
    its parameters, and the ORDER BY."""

    where: str
    params: list[object]
    order_by: str


def parse_model_filter(text: str = "", order_by: str | Sequence[str] = ()) -> ModelFilter:
    """Parse a filter and an order; raises QueryError with the mistake's column. `order_by`
    is one text (`"name desc, timestamp"`) or MLflow's list of `key [asc|desc]` items."""
    parser = _FilterParser(text or "")
    conditions, order = parser.filter()
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    if order and any(item.strip() for item in items):
        raise QueryError("the order is given twice: put it after `order by` in the filter or "
                         "in order_by (--order-by), not both", text, parser.order_pos)
    for item in items:
        if isinstance(order_by, str) and not item.strip():
            continue
        order += _FilterParser(item).order_items(what=f"order_by item {item!r}: ")
    return ModelFilter(tuple(conditions), tuple(order))


def compile_model_filter(text: str = "", order_by: str | Sequence[str] = ()
                         ) -> CompiledModelFilter:
    """The SQL of a filter and an order; every value is a bound parameter."""
    parsed = parse_model_filter(text, order_by)
    where: list[str] = []
    params: list[object] = []
    for c in parsed.conditions:
        sql, values = _condition(c)
        where.append(sql)
        params += values
    terms = [f"{_ORDER_SQL[o.key]} {'DESC' if o.descending else 'ASC'}" for o in parsed.order]
    if not any(o.key == "name" for o in parsed.order):
        terms.append("m.name ASC")  # MLflow's tie-break, and its order without one
    return CompiledModelFilter(" AND ".join(where) or "1", params, ", ".join(terms))


def _condition(c: ModelCondition) -> tuple[str, list[object]]:
    if c.op in ("IN", "NOT IN"):
        assert isinstance(c.value, tuple)
        marks = ", ".join("?" * len(c.value))
        return f"m.name {c.op} ({marks})", list(c.value)
    assert isinstance(c.value, str)
    if c.op in ("LIKE", "ILIKE"):
        test, value = "{} GLOB ?", like_to_glob(c.value, fold=c.op == "ILIKE")
    else:
        test, value = "{} " + c.op + " ?", c.value
    if c.key is None:
        return test.format("m.name"), [value]
    return (f"m.id IN (SELECT model_id FROM model_tags WHERE key = ? AND "
            f"{test.format('value')})", [c.key, value])


class _FilterParser(TokenCursor):
    """`condition (AND condition)* [order by item (, item)*]`, nothing else."""

    order_pos = 0

    def filter(self) -> tuple[list[ModelCondition], tuple[ModelOrder, ...]]:
        conditions: list[ModelCondition] = []
        while self.peek().kind is not Kind.EOF and not self.at_order():
            if conditions:
                token = self.take()
                if not token.is_word("AND"):
                    self.refuse_connective(token, after_condition=True)
                if self.peek().kind is Kind.EOF or self.at_order():
                    break  # a trailing AND: MLflow ignores it, and so does this
            conditions.append(self.condition())
        order: tuple[ModelOrder, ...] = ()
        if self.at_order():
            self.order_pos = self.take().start
            self.take()
            order = self.order_items()
        return conditions, order

    def refuse_connective(self, token: Token, *, after_condition: bool) -> None:
        if token.is_word("OR", "NOT") or token.kind in (Kind.LPAREN, Kind.RPAREN):
            self.fail(f"a model filter joins conditions with AND only, as MLflow's "
                      f"registered-model search does; {describe(token)} works in version "
                      "queries (`modelyard ls`)", token.start)
        if after_condition:
            self.fail(f"expected AND or the end of the filter after a condition, found "
                      f"{describe(token)}", token.start)

    # -- one condition ------------------------------------------------------------------------

    def condition(self) -> ModelCondition:
        token = self.peek()
        self.refuse_connective(token, after_condition=False)
        if token.kind is not Kind.WORD or token.is_word("AND"):
            self.fail(f"expected a condition such as name = 'churn' or tags.team = 'risk', "
                      f"found {describe(token)}", token.start)
        key = self.field()
        op = self.comparator(key)
        if op in ("IN", "NOT IN"):
            return ModelCondition(key, op, self.in_list(), token.start)
        return ModelCondition(key, op, self.value(op), token.start)

    def field(self) -> str | None:
        """None for the name, else the tag key."""
        token = self.take()
        if self.text[token.start] == "`":
            self.fail("write the entity without backticks, like tags.x (MLflow refuses a "
                      "quoted entity here)", token.start)
        head, dot, key = token.text.partition(".")
        if not dot:
            head, key = "attribute", token.text
        elif head not in ENTITIES:
            guess = difflib.get_close_matches(head.lower(), ENTITIES, n=1, cutoff=0.5)
            hint = f"did you mean '{guess[0]}.{key}'? " if guess else ""
            self.fail(f"unknown entity '{head}'; {hint}{_FIELDS_HINT} (entities: tag, tags, "
                      "attribute)", token.start)
        elif not key:
            quoted = self.peek()
            if quoted.kind not in (Kind.STRING, Kind.BACKTICK) or quoted.start != token.end:
                self.fail(f"expected a key after '{head}.', like {head}.team", token.end)
            key = self.take().text
            if not key:
                self.fail(f"the key after '{head}.' is empty", token.end)
        if head != "attribute":
            return key
        if key != "name":
            pos = token.start + (len(head) + 1 if dot else 0)
            hint = "did you mean 'name'? " if key.lower() == "name" else ""
            self.fail(f"unknown attribute '{key}'; {hint}{_FIELDS_HINT}", pos)
        return None

    def comparator(self, key: str | None) -> str:
        token = self.take()
        word = token.text.upper() if token.kind is Kind.WORD else token.text
        if token.is_word("NOT") and self.peek().is_word("IN"):
            self.take()
            word = "NOT IN"
        allowed = NAME_OPS if key is None else TAG_OPS
        what = "name" if key is None else f"tags.{key}"
        if token.kind is Kind.EOF:
            self.fail(f"expected a comparison after {what}, like {what} = 'x'", token.start)
        written = self.text[token.start:token.end]
        if written in ("==", "<>"):
            self.fail(f"write {'=' if written == '==' else '!='} instead of {written} (MLflow "
                      "refuses it in a registered-model search)", token.start)
        if word not in allowed or token.kind not in (Kind.OP, Kind.WORD):
            self.fail(f"{what} compares with {', '.join(allowed[:-1])} or {allowed[-1]}, "
                      f"not {describe(token)}", token.start)
        return word

    def value(self, op: str) -> str:
        token = self.take()
        if token.kind is Kind.STRING:
            return token.text
        if token.kind is Kind.EOF:
            example = "'churn%'" if "LIKE" in op else "'churn'"
            self.fail(f"expected a quoted value after {op}, like {example}", token.start)
        if token.kind is Kind.BACKTICK:
            self.fail(f"backticks quote keys, not values: write '{token.text}'", token.start)
        self.fail(f"the value must be quoted, like '{token.text}'", token.start)

    def in_list(self) -> tuple[str, ...]:
        opening = self.take()
        if opening.kind is not Kind.LPAREN:
            self.fail("expected '(' after IN, like name IN ('a', 'b')", opening.start)
        values: list[str] = []
        while True:
            token = self.take()
            if token.kind is Kind.RPAREN and values:
                return tuple(values)  # a trailing comma: MLflow takes ('a',) as ('a')
            if token.kind is not Kind.STRING:
                what = "at least one quoted name" if not values else "a quoted name"
                self.fail(f"expected {what} in the IN list, found {describe(token)}",
                          token.start)
            values.append(token.text)
            after = self.take()
            if after.kind is Kind.RPAREN:
                return tuple(values)
            if after.kind is not Kind.COMMA:
                self.fail(f"expected ',' or ')' in the IN list, found {describe(after)}",
                          after.start)

    # -- order --------------------------------------------------------------------------------

    def order_items(self, what: str = "") -> tuple[ModelOrder, ...]:
        items: list[ModelOrder] = []
        while True:
            token = self.take()
            key = ORDER_KEYS.get(token.text) if token.kind is Kind.WORD else None
            if key is None:
                guess = difflib.get_close_matches(token.text.lower(), list(ORDER_KEYS), n=1)
                hint = f"did you mean '{guess[0]}'? " if guess and token.text else ""
                self.fail(f"{what}expected a key to order models by, found {describe(token)}; "
                          f"{hint}keys are name, last_updated_timestamp (timestamp, updated) "
                          "and creation_timestamp (created)", token.start)
            descending = self.peek().is_word("DESC")
            if self.peek().is_word("ASC", "DESC"):
                self.take()
            items.append(ModelOrder(key, descending))
            after = self.take()
            if after.kind is Kind.EOF:
                return tuple(items)
            if after.kind is not Kind.COMMA:
                self.fail(f"{what}expected asc, desc, ',' or the end after '{token.text}', "
                          f"found {describe(after)}", after.start)
