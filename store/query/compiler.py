"""Turn a parsed query into SQL over the index, with every user value bound as a parameter.

A condition on a side table becomes `v.id IN (SELECT version_id FROM t WHERE key = ? ...)`,
so SQLite answers it from the (key, value) index and a version lacking the key never
matches, not even `!=`, as in MLflow. A planner testing few versions wants the same
condition on one version's own rows instead (`EXISTS (SELECT 1 FROM t WHERE version_id =
v.id ...)`): both forms are rendered from one `_Rows`, never one from the other's text.
LIKE and ILIKE become GLOB patterns: SQLite's own LIKE ignores ASCII case and obeys a
connection-wide pragma this module does not control.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace

from modelyard.store.query import policy_states
from modelyard.store.query.fields import Field
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
    Text,
)
from modelyard.store.query.parser import parse

DEFAULT_ORDER = "v.created_ms DESC, v.model, v.number DESC"
_TABLES = {"metric": "metrics", "param": "params", "tag": "tags", "dataset": "datasets",
           "policy": "policy_results", "run": "run_fields"}


@dataclass(frozen=True)
class CompiledQuery:
    """Pieces of `SELECT v.* FROM versions v {joins} WHERE {where} ORDER BY {order_by}`.

    Bind `joins_params + params + order_params`, in that order.
    """

    where: str
    params: list[object]
    order_by: str
    order_params: list[object]
    joins: str
    joins_params: list[object]


def compile_query(text: str, *, now_ms: int) -> CompiledQuery:
    """Compile a query; relative times such as `-7d` count back from `now_ms`."""
    query = parse(text)
    sql = _Compiler(now_ms).node(query.where) if query.where is not None else None
    joins, joins_params, order_by = _order(query.order)
    return CompiledQuery(
        where=sql.text if sql else "1",
        params=sql.params if sql else [],
        order_by=order_by,
        order_params=[],
        joins=joins,
        joins_params=joins_params,
    )


_ROW_TABLES = {"metrics", "params", "tags", "datasets", "parents", "policy_results",
               "policy_checks", "versions_fts", "run_fields"}  # tables with an index on the version


@dataclass(frozen=True)
class _Rows:
    """The versions that own a row of `table` meeting a condition, kept in parts so that the
    set of them (`select`) and the test of one version (`exists`) are both rendered from it."""

    table: str
    where: str = ""  # the condition on one row, besides the key
    params: list[object] = field(default_factory=list)  # the key's first when `keyed`
    keyed: bool = False  # the row's `key` is the first parameter: (version_id, key) is the PK
    unique: bool = False  # a version owns at most one such row, so `select` names it once

    @property
    def select(self) -> str:
        """The ids of every matching version: a set to test membership of, or to drive from."""
        terms = ["key = ?"] if self.keyed else []
        terms += [self.where] if self.where else []
        where = f" WHERE {' AND '.join(terms)}" if terms else ""
        return f"SELECT {_id_column(self.table)} FROM {self.table}{where}"

    @property
    def exists(self) -> str | None:
        """The condition on the version `v` at hand, looking at its own rows only; None for a
        table without an index on the version (aliases), whose set is small anyway."""
        if self.table not in _ROW_TABLES:
            return None
        seek, where = f"{_id_column(self.table)} = v.id", self.where
        if self.keyed and where:
            seek += " AND key = ?"
        elif self.keyed:  # `has:metrics.acc`: the key alone is the condition
            where = "key = ?"
        if where and self.table != "versions_fts":  # MATCH only works unwrapped
            where = f"+({where})"  # unary +: no index on the condition, only the version's rows
        test = seek + (f" AND {where}" if where else "")
        return f"EXISTS (SELECT 1 FROM {self.table} WHERE {test})"


def _id_column(table: str) -> str:
    return "rowid" if table == "versions_fts" else "version_id"


@dataclass
class _Sql:
    text: str
    params: list[object] = field(default_factory=list)
    compound: bool = False  # joins terms with AND/OR: needs parentheses inside another
    rows: _Rows | None = None  # set when `text` is exactly `v.id IN ({rows.select})`


def _wrap(sql: _Sql) -> str:
    return f"({sql.text})" if sql.compound else sql.text


class _Compiler:
    def __init__(self, now_ms: int, *, per_row: bool = False) -> None:
        self.now_ms = now_ms
        self.per_row = per_row

    def node(self, node: Node) -> _Sql | None:
        """The SQL of `node`, or None when it places no constraint (a text of only symbols).

        With `per_row`, conditions on side tables test the one version at hand (`EXISTS`
        over its own rows) instead of building the set of every version that matches:
        right when a planner already walks few versions (see store/index/search.py)."""
        if self.per_row and isinstance(node, Text) and node.prefix and _WORD.fullmatch(node.text):
            return _Sql(WORD_TEST, [node.text.lower()])
        sql = self._node(node)
        if self.per_row and sql is not None and sql.rows is not None:
            test = sql.rows.exists
            return sql if test is None else _Sql(test, sql.params)
        return sql

    def _node(self, node: Node) -> _Sql | None:
        if isinstance(node, And | Or):
            parts = [self.node(item) for item in node.items]
            if isinstance(node, Or) and None in parts:
                return None
            kept = [part for part in parts if part is not None]
            if len(kept) <= 1:
                return kept[0] if kept else None
            joiner = " AND " if isinstance(node, And) else " OR "
            params = [p for part in kept for p in part.params]
            return _Sql(joiner.join(_wrap(part) for part in kept), params, compound=True)
        if isinstance(node, Not):
            inner = self.node(node.operand)
            if inner is None:
                return None
            if inner.rows is not None:
                return _Sql(f"v.id NOT IN ({inner.rows.select})", inner.params)
            return _Sql(f"NOT ({inner.text})", inner.params)
        if isinstance(node, Text):
            phrase = fts_phrase(node.text, prefix=node.prefix)
            if phrase is None:
                return None
            return _in(_text_rows(phrase))
        if isinstance(node, Alias):
            return _in(_Rows("aliases", "alias = ?", [node.name], unique=True))
        if isinstance(node, Parent):
            if node.number is None:
                return _in(_Rows("parents", "model = ? OR ref = ?", [node.model, node.model]))
            return _in(_Rows("parents", "model = ? AND number = ?", [node.model, node.number]))
        if isinstance(node, PolicyState):
            if node.state == "unchecked":
                return _Sql(policy_states.unchecked("v.id"), compound=True)
            return _in(_policy_rows(node.state))
        if isinstance(node, Latest):
            return _Sql("v.number = (SELECT max(number) FROM versions WHERE model = v.model)")
        if isinstance(node, Has):
            return _has(node.field)
        return self.condition(node)

    def condition(self, node: Compare | InList | Between) -> _Sql:
        """A comparison, on a `versions` column or inside a side-table subquery."""
        f = node.field
        if f.kind == "attr" and f.column == "status" and not _pattern(node):
            return self.predicate("lower(v.status)", _lowered(node))  # MLflow: 'FAILED'
        if f.kind == "attr":
            return self.predicate(f"v.{f.column}", node)
        column = {"dataset": f.key, "policy": "status"}.get(f.kind, "value")
        if f.kind == "param" and _numeric(node):
            column = "num"
        if isinstance(node, InList) and f.kind == "param":
            predicate = _param_in(node)
        else:
            predicate = self.predicate(column, node)
        return _in(_side_rows(f, _wrap(predicate), predicate.params))

    def predicate(self, column: str, node: Compare | InList | Between) -> _Sql:
        if isinstance(node, Compare):
            return self.compare(column, node.op, node.value)
        if isinstance(node, InList):
            if node.field.type == "time":
                parts = [self.compare(column, "=", value) for value in node.values]
                any_of = _Sql(" OR ".join(_wrap(p) for p in parts),
                              [x for p in parts for x in p.params], compound=True)
                return _Sql(f"NOT ({any_of.text})", any_of.params) if node.negated else any_of
            values = [v for v in node.values if not (isinstance(v, float) and v != v)]
            marks = ", ".join("?" * len(values))
            keyword = "NOT IN" if node.negated else "IN"
            sql = _Sql(f"{column} {keyword} ({marks})", [_bindable(v) for v in values])
            if len(values) < len(node.values):  # nan listed: NaN is NULL in the index
                nan = f"{column} IS {'NOT ' if node.negated else ''}NULL"
                if not values:
                    return _Sql(nan)
                joiner = " AND " if node.negated else " OR "
                return _Sql(f"({sql.text}){joiner}{nan}", sql.params, compound=True)
            return sql
        if node.field.type == "time":
            low, high = self.bounds(node.low)[0], self.bounds(node.high)[1]
            sql = _Sql(f"{column} >= ? AND {column} < ?", [low, high], compound=True)
            return _Sql(f"NOT ({sql.text})", sql.params) if node.negated else sql
        keyword = "NOT BETWEEN" if node.negated else "BETWEEN"
        bounds: list[object] = [_bindable(node.low), _bindable(node.high)]
        if node.field.kind == "param" and column == "value":  # a text range: numbers as text
            bounds = [str(v) for v in bounds]
        return _Sql(f"{column} {keyword} ? AND ?", bounds)

    def compare(self, column: str, op: str, value: Value) -> _Sql:
        if op.endswith(("LIKE", "GLOB")):
            pattern = str(value)
            if op.endswith("LIKE"):
                pattern = like_to_glob(pattern, fold=op.endswith("ILIKE"))
            if op.startswith("NOT "):
                return _Sql(f"NOT ({column} GLOB ?)", [pattern])
            return _Sql(f"{column} GLOB ?", [pattern])
        if isinstance(value, Instant | Ago):
            return self.compare_time(column, op, value)
        if isinstance(value, float) and value != value:  # NaN: the index holds it as NULL
            return _Sql(f"{column} IS {'NOT ' if op == '!=' else ''}NULL")
        return _Sql(f"{column} {op} ?", [_bindable(value)])

    def compare_time(self, column: str, op: str, value: Instant | Ago) -> _Sql:
        """A date covers its whole day: `created <= 2026-01-31` includes that evening."""
        low, high = self.bounds(value)
        if high - low == 1:
            return _Sql(f"{column} {op} ?", [low])
        if op == "=":
            return _Sql(f"{column} >= ? AND {column} < ?", [low, high], compound=True)
        if op == "!=":
            return _Sql(f"{column} < ? OR {column} >= ?", [low, high], compound=True)
        bound = {">": (">=", high), ">=": (">=", low), "<": ("<", low), "<=": ("<", high)}[op]
        return _Sql(f"{column} {bound[0]} ?", [bound[1]])

    def bounds(self, value: Value) -> tuple[int, int]:
        """The half-open range of epoch ms a time value covers."""
        if isinstance(value, Ago):
            moment = self.now_ms - value.ms
            return moment, moment + 1
        assert isinstance(value, Instant)
        return value.ms, value.ms + value.span_ms


def _in(rows: _Rows) -> _Sql:
    return _Sql(f"v.id IN ({rows.select})", list(rows.params), rows=rows)


def _side_rows(f: Field, condition: str = "", params: list[object] | None = None) -> _Rows:
    """The rows of `f`'s side table that are `f`'s (its key, rule or dataset role) and meet
    `condition`."""
    params = params or []
    if f.kind not in ("dataset", "policy"):
        return _Rows(_TABLES[f.kind], condition, [f.key, *params], keyed=True, unique=True)
    own, own_params = ([], [])
    if f.kind == "policy":
        own, own_params = ["rule = ?"], [f.key]
    elif f.role:
        own, own_params = ["role = ?"], [f.role]
    where = " AND ".join([*own, condition] if condition else own)
    # (version_id, rule) is policy_results' key; a version may have several datasets
    return _Rows(_TABLES[f.kind], where, [*own_params, *params], unique=f.kind == "policy")


def _text_rows(phrase: str) -> _Rows:
    return _Rows("versions_fts", "versions_fts MATCH ?", [phrase], unique=True)


def _policy_rows(state: str) -> _Rows:
    """The versions in `state` (not `unchecked`), as store/query/policy_states.py defines it."""
    if state == "violation":  # one row per alias move: a version may have several
        return _Rows("alias_checks", "violation != ''")
    return _Rows("policy_checks", policy_states.checked_where(state), unique=True)


def _pattern(node: Compare | InList | Between) -> bool:
    return isinstance(node, Compare) and node.op.endswith(("LIKE", "GLOB"))


def _lowered(node: Compare | InList | Between) -> Compare | InList | Between:
    """The same condition with its text values in lower case (statuses are stored so)."""
    def low(value: Value) -> Value:
        return value.lower() if isinstance(value, str) else value

    if isinstance(node, Compare):
        return replace(node, value=low(node.value))
    if isinstance(node, InList):
        return replace(node, values=tuple(low(v) for v in node.values))
    return replace(node, low=low(node.low), high=low(node.high))


def _numeric(node: Compare | InList | Between) -> bool:
    """Params compare as numbers when the query wrote numbers, else as text like MLflow."""
    if isinstance(node, Compare):
        return not node.op.endswith(("LIKE", "GLOB")) and not isinstance(node.value, str)
    if isinstance(node, Between):
        return not isinstance(node.low, str) and not isinstance(node.high, str)
    return False


def _param_in(node: InList) -> _Sql:
    """Text values match `value`, numbers match `num`; never NULL, so NOT IN stays exact."""
    texts = [v for v in node.values if isinstance(v, str)]
    numbers = [v for v in node.values if not isinstance(v, str)]
    parts: list[str] = []
    if texts:
        parts.append(f"value IN ({', '.join('?' * len(texts))})")
    if numbers:
        parts.append(f"(num IS NOT NULL AND num IN ({', '.join('?' * len(numbers))}))")
    text = " OR ".join(parts)
    params: list[object] = [*texts, *numbers]
    if node.negated:
        return _Sql(f"NOT ({text})", params)
    return _Sql(text, params, compound=len(parts) > 1)


def _has(f: Field) -> _Sql:
    if f.kind in ("metric", "param", "tag", "run", "policy"):
        return _in(_side_rows(f))
    if f.kind == "dataset":
        return _in(_side_rows(f, f"{f.key} != ''"))
    if f.kind in ("alias", "parent"):
        return _in(_Rows("aliases" if f.kind == "alias" else "parents"))
    if f.type == "text":
        return _Sql(f"v.{f.column} != ''")
    return _Sql(f"v.{f.column} IS NOT NULL")


def _bindable(value: Value) -> object:
    return int(value) if isinstance(value, bool) else value


def _order(items: tuple[OrderItem, ...]) -> tuple[str, list[object], str]:
    """LEFT JOINs (one alias per key) and the ORDER BY body; missing values sort last."""
    joins, params, terms = _order_terms(items)
    return joins, params, ", ".join(terms)


def _order_terms(items: tuple[OrderItem, ...]) -> tuple[str, list[object], list[str]]:
    joins: list[str] = []
    params: list[object] = []
    terms: list[str] = []
    aliases: dict[tuple[str, str], str] = {}
    for item in items:
        f = item.field
        direction = "DESC" if item.descending else "ASC"
        if f.kind == "attr":
            columns = [f"v.{f.column}"]
        else:
            table = _TABLES[f.kind]
            alias = aliases.get((table, f.key))
            if alias is None:
                alias = aliases[(table, f.key)] = f"o{len(aliases) + 1}"
                joins.append(
                    f"LEFT JOIN {table} {alias} ON {alias}.version_id = v.id AND {alias}.key = ?"
                )
                params.append(f.key)
            columns = [f"{alias}.num", f"{alias}.value"] if f.kind == "param" else [
                f"{alias}.value"
            ]
        terms.extend(f"{column} {direction} NULLS LAST" for column in columns)
        if f.kind == "metric":  # NaN (a row, value NULL) before no row at all, as MLflow
            terms.append(f"{alias}.version_id IS NULL")
    return " ".join(joins), params, [*terms, *DEFAULT_ORDER.split(", ")]


def like_to_glob(pattern: str, *, fold: bool) -> str:
    """A LIKE pattern (`%`, `_`, backslash escapes) as a GLOB; `fold` ignores letter case."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(_glob_literal(next(chars, "\\"), fold))
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        else:
            out.append(_glob_literal(ch, fold))
    return "".join(out)


def _glob_literal(ch: str, fold: bool) -> str:
    if ch in "*?[":
        return f"[{ch}]"
    if fold:
        forms = {form for form in (ch, ch.lower(), ch.upper()) if len(form) == 1}
        if len(forms) > 1:
            return "[" + "".join(sorted(forms)) + "]"
    return ch


def fts_phrase(text: str, *, prefix: bool) -> str | None:
    """User text as one FTS5 phrase that can never be an FTS syntax error.

    Control characters go (a NUL ends the FTS query string early); a text with no letter,
    digit or `_` has nothing to search for and yields None, which the caller ignores.
    """
    clean = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    if not any(ch == "_" or unicodedata.category(ch)[0] in "LN" for ch in clean):
        return None
    return '"' + clean.replace('"', '""') + '"' + ("*" if prefix else "")


# -- pieces for a planner (store/index/search.py) ------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9_]+")
# A bare word tested on one version: FTS5 answers a prefix query (`"word"*`) by merging the
# doclist of every term with that prefix first, whatever the rowid asked for, which costs
# milliseconds per version for a common word; this reads the version's indexed text instead
# (store/index/textmatch.py registers the function on every index connection).
WORD_TEST = ("EXISTS (SELECT 1 FROM versions_fts WHERE rowid = v.id AND "
             "modelyard_has_word(?, name, description, tags, params, files))")
_INDEXED_ATTRS = {"model", "user", "created_ms", "content_digest"}


@dataclass(frozen=True)
class Conjunct:
    """One condition ANDed into a query, in the forms a planner needs: `test` checks the
    version `v` at hand; `driver`, when there is one, selects every matching version id
    from an index (to count them cheaply, or to start from them)."""

    test: str
    params: list[object]
    driver: str | None = None
    driver_params: list[object] = field(default_factory=list)
    distinct: bool = True  # the driver names each version once
    floor: str | None = None  # selects a subset of the driver's matches, faster to count
    floor_params: list[object] = field(default_factory=list)


@dataclass(frozen=True)
class QueryParts:
    """A query split for planning: its conjuncts, and its order as `CompiledQuery` has it.

    `walk` names an index that yields versions in the order's first term, when there is
    one: ("metric" or "param", key, descending) or ("created", "", descending).
    """

    conjuncts: list[Conjunct]
    joins: str
    joins_params: list[object]
    order_terms: list[str]
    walk: tuple[str, str, bool] | None
    where: str = "1"  # the whole condition as `compile_query` has it (sets, not per row)
    params: list[object] = field(default_factory=list)

    @property
    def order_by(self) -> str:
        return ", ".join(self.order_terms)


def compile_parts(text: str, *, now_ms: int) -> QueryParts:
    """Compile a query into `QueryParts`; raises QueryError like `compile_query`."""
    query = parse(text)
    plain, rows = _Compiler(now_ms), _Compiler(now_ms, per_row=True)
    conjuncts = []
    for item in _and_items(query.where):
        test, base = rows.node(item), plain.node(item)
        if test is None or base is None:
            continue
        driver, driver_params, distinct = None, [], True
        if base.rows is not None:
            driver, driver_params = base.rows.select, base.params
            distinct = base.rows.unique
        elif _indexed_attribute(item):
            driver, driver_params = f"SELECT v.id FROM versions v WHERE {base.text}", base.params
        floor, floor_params = None, []
        if isinstance(item, Text) and item.prefix and _WORD.fullmatch(item.text):
            whole_word = _text_rows(fts_phrase(item.text, prefix=False) or "")  # never None
            floor, floor_params = whole_word.select, whole_word.params
        conjuncts.append(Conjunct(test.text, test.params, driver, driver_params, distinct,
                                  floor, floor_params))
    joins, joins_params, terms = _order_terms(query.order)
    whole = plain.node(query.where) if query.where is not None else None
    return QueryParts(conjuncts, joins, joins_params, terms, _walk(query.order),
                      whole.text if whole else "1", whole.params if whole else [])


def _and_items(node: Node | None) -> list[Node]:
    if node is None:
        return []
    if isinstance(node, And):
        return [leaf for item in node.items for leaf in _and_items(item)]
    return [node]


def _indexed_attribute(node: Node) -> bool:
    return (isinstance(node, Compare | InList | Between) and node.field.kind == "attr"
            and node.field.column in _INDEXED_ATTRS)


def _walk(items: tuple[OrderItem, ...]) -> tuple[str, str, bool] | None:
    if not items:
        return ("created", "", True)  # DEFAULT_ORDER
    first = items[0]
    if first.field.kind in ("metric", "param"):
        return (first.field.kind, first.field.key, first.descending)
    if first.field.kind == "attr" and first.field.column == "created_ms":
        return ("created", "", first.descending)
    return None
