"""Turn query text into a syntax tree whose fields and values are already checked.

Fields and values are checked here, not in the compiler, so `parse` alone can tell a person
every mistake with its column while they type. Precedence is NOT > AND > OR; words side by
side are ANDed, the way search boxes work.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn

from ..errors import QueryError
from .lexer import Kind, Token, Value, convert_literal, tokenize

MAX_NESTING = 50  # parentheses and NOTs as written; bounds the parser's recursion
MAX_DEPTH = 20  # AND/OR/NOT levels in the tree: SQLite 3.40 overflows at 25
MAX_TERMS = 256  # conditions per query; keeps SQLite's expression tree small

ENTITIES = {
    "metric": "metric", "metrics": "metric",
    "param": "param", "params": "param", "parameter": "param", "parameters": "param",
    "tag": "tag", "tags": "tag",
    "attribute": "attr", "attributes": "attr", "attr": "attr", "run": "attr",
    "dataset": "dataset", "datasets": "dataset",
}  # fmt: skip
_PREFIX = {"metric": "metrics", "param": "params", "tag": "tags", "attr": "attributes",
           "dataset": "datasets"}

# canonical attribute: (versions column, value type, other spellings)
_ATTRS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "model": ("model", "text", ("name", "run_name")),
    "version": ("number", "number", ("number",)),
    "user": ("user", "text", ("user_id",)),
    "host": ("host", "text", ()),
    "status": ("status", "text", ()),
    "description": ("description", "text", ()),
    "format": ("format", "text", ()),
    "framework": ("framework", "text", ()),
    "origin": ("origin", "text", ()),
    "digest": ("content_digest", "text", ("content_digest",)),
    "size": ("size", "size", ()),
    "param_count": ("param_count", "count", ()),
    "files": ("n_files", "number", ("n_files",)),
    "duration": ("duration_s", "duration", ("duration_s",)),
    "deprecated": ("deprecated", "bool", ()),
    "pickle": ("has_pickle", "bool", ("has_pickle",)),
    "created": ("created_ms", "time", ("created_at",)),
    "started": ("started_ms", "time", ("start_time",)),
    "ended": ("ended_ms", "time", ("end_time",)),
}
_ATTR_SPELLINGS = {s: name for name, (_, _, more) in _ATTRS.items() for s in (name, *more)}
_DATASET_KEYS = {"name": "name", "digest": "digest", "role": "role", "context": "role",
                 "uri": "uri"}
_QUALIFIERS = ("model", "name", "user", "host", "format", "framework", "status", "origin",
               "dataset", "parent", "is", "has", "tag")
_IS = {"deprecated": "deprecated", "pickle": "pickle", "latest": "latest"}

ATTRIBUTES: list[str] = list(_ATTRS)
FIELD_PREFIXES: list[str] = ["metrics.", "params.", "tags.", "datasets.", "attributes.",
                             *(f"{q}:" for q in _QUALIFIERS if q != "name"), "@"]
KEYWORDS: list[str] = ["AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "GLOB", "BETWEEN", "IS",
                       "NULL", "ORDER", "BY", "ASC", "DESC"]
_COMPARE_WORDS = ("LIKE", "ILIKE", "GLOB", "IN", "BETWEEN")
_HINTS = {"text": "a quoted string", "number": "a number", "param": "a number or a quoted string",
          "size": "a size such as 10MB or 1GiB", "count": "a count such as 7B or 350M",
          "duration": "seconds, or a duration such as 90m", "bool": "true or false",
          "time": "a date such as 2026-01-31, a relative time such as -7d, or epoch ms"}


@dataclass(frozen=True)
class Field:
    """Where a comparison looks: a key of a side table, or a column of `versions`."""

    kind: str  # metric, param, tag, dataset, attr, alias, parent
    key: str  # the key; the canonical attribute; the datasets column
    pos: int
    column: str = ""  # the versions column of an attribute
    type: str = "text"  # text, number, param, size, count, duration, bool, time
    role: str = ""  # datasets.<role>.<column> narrows to one role

    def __str__(self) -> str:
        if self.kind == "attr":
            return self.key
        key = self.key if re.fullmatch(r"[\w.]+", self.key) else f"`{self.key}`"
        role = f"{self.role}." if self.role else ""
        return f"{_PREFIX.get(self.kind, self.kind)}.{role}{key}"




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


Node = Compare | InList | Between | Has | Text | Alias | Parent | Latest | Not | And | Or


@dataclass(frozen=True)
class OrderItem:
    field: Field
    descending: bool


@dataclass(frozen=True)
class Query:
    where: Node | None
    order: tuple[OrderItem, ...] = ()



def parse(text: str) -> Query:
    """Parse a query; raises QueryError, and only QueryError, with the mistake's column."""
    query = _Parser(text).query()
    if query.where is not None:
        _check_depth(query.where, text)
    return query


class _Parser:
    """Recursive descent over the tokens; each method parses one rule of the grammar."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0
        self.terms = 0

    # -- token helpers --------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def fail(self, message: str, pos: int) -> NoReturn:
        raise QueryError(message, self.text, pos)

    def at_order(self) -> bool:
        return self.peek().is_word("ORDER") and self.peek(1).is_word("BY")

    def starts_term(self) -> bool:
        token = self.peek()
        return not (
            token.kind in (Kind.EOF, Kind.RPAREN) or token.is_word("AND", "OR") or self.at_order()
        )

    def field_width(self) -> int:
        """2 when the word is `entity.` glued to a quoted key (metrics.`f1-score`), else 1."""
        word, nxt = self.peek(), self.peek(1)
        if word.text.endswith(".") and nxt.kind in (Kind.STRING, Kind.BACKTICK):
            return 2 if nxt.start == word.end else 1
        return 1

    def at_comparator(self, ahead: int) -> bool:
        token = self.peek(ahead)
        if token.kind is Kind.OP or token.is_word(*_COMPARE_WORDS, "IS"):
            return True
        return token.is_word("NOT") and self.peek(ahead + 1).is_word(*_COMPARE_WORDS)

    @contextmanager
    def nested(self, token: Token) -> Iterator[None]:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            self.fail(f"parentheses and NOT nest more than {MAX_NESTING} levels deep; "
                      "simplify the query", token.start)
        yield
        self.nesting -= 1

    # -- grammar ------------------------------------------------------------------------------

    def query(self) -> Query:
        where = None
        if self.peek().kind is not Kind.EOF and not self.at_order():
            where = self.or_expr()
        order = self.order_by() if self.at_order() else ()
        token = self.peek()
        if token.kind is Kind.RPAREN:
            self.fail("unbalanced parenthesis: no '(' opens this ')'; remove it", token.start)
        if token.kind is not Kind.EOF:
            self.fail(f"unexpected {_describe(token)}", token.start)
        return Query(where, order)

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.peek().is_word("OR"):
            self.expect_term_after(self.take())
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(_flat(items, Or), items[0].pos)

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while True:
            if self.peek().is_word("AND"):
                self.expect_term_after(self.take())
            elif not self.starts_term():
                break
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(_flat(items, And), items[0].pos)

    def expect_term_after(self, keyword: Token) -> None:
        if not self.starts_term():
            self.fail(f"expected a condition after '{keyword.text}'", self.peek().start)

    def not_expr(self) -> Node:
        token = self.peek()
        if not token.is_word("NOT"):
            return self.primary()
        self.take()
        self.expect_term_after(token)
        with self.nested(token):
            operand = self.not_expr()
        return operand.operand if isinstance(operand, Not) else Not(operand, token.start)

    def primary(self) -> Node:
        token = self.peek()
        if token.kind is not Kind.LPAREN:
            return self.term()
        self.take()
        if self.peek().kind is Kind.RPAREN:
            self.fail("empty parentheses: put a condition inside or remove them", token.start)
        if self.peek().kind is Kind.EOF:
            self.fail("unbalanced parenthesis: this '(' is never closed; add a ')'", token.start)
        with self.nested(token):
            inner = self.or_expr()
        close = self.peek()
        if close.kind is Kind.EOF:
            self.fail("unbalanced parenthesis: this '(' is never closed; add a ')'", token.start)
        if close.kind is not Kind.RPAREN:
            self.fail(f"expected ')' to close the '(' at column {token.start + 1}, "
                      f"found {_describe(close)}", close.start)
        self.take()
        return inner

    def term(self) -> Node:
        token = self.peek()
        self.terms += 1
        if self.terms > MAX_TERMS:
            self.fail(f"the query has more than {MAX_TERMS} conditions; narrow it down",
                      token.start)
        if token.kind is Kind.STRING:
            if self.at_comparator(1):
                self.fail("a quoted phrase is a text search and cannot be compared; quote a key "
                          "after its entity instead, like metrics.`f1-score` or tags.\"a.b\"",
                          token.start)
            self.take()
            return Text(token.text, False, token.start)
        if token.kind is Kind.OP:
            self.fail(f"unexpected '{token.text}': a comparison needs a field on its left, "
                      f"like metrics.acc {token.text} 0.9", token.start)
        if token.kind is Kind.BACKTICK:
            self.fail("a backtick-quoted key needs its entity before it, like "
                      "metrics.`f1-score`", token.start)
        if token.kind is Kind.COMMA:
            self.fail("unexpected ',': commas separate values in IN (...) and fields after "
                      "order by", token.start)
        if token.is_word("AND", "OR"):
            self.fail(f"expected a condition before '{token.text}'; to search for the word, "
                      f"quote it: \"{token.text}\"", token.start)
        if self.at_order():
            self.fail("order by goes at the end of the query, outside parentheses", token.start)
        return self.word_term(token)

    def word_term(self, token: Token) -> Node:
        width = self.field_width()
        fieldish = width == 2 or "." in token.text or token.text.lower() in _ATTR_SPELLINGS
        if self.peek(width).kind is Kind.OP or (fieldish and self.at_comparator(width)):
            return self.comparison(width)
        if token.text.startswith("@"):
            return self.alias(token)
        qualifier = re.match(r"([A-Za-z_]+):", token.text)
        if qualifier:
            return self.qualifier(token, qualifier.group(1).lower(), qualifier.end())
        head = token.text.partition(".")[0].lower()
        if width == 2 or (head in ENTITIES and "." in token.text):
            shown = token.text if width == 1 else self.text[token.start:self.peek(1).end]
            self.fail(f"expected a comparison after '{shown}', like {shown} > 0.9 or "
                      f"{shown} = 'x'; to search for the text, quote it",
                      self.peek(width).start)
        self.take()
        return Text(token.text, True, token.start)

    # -- comparisons --------------------------------------------------------------------------

    def comparison(self, width: int) -> Node:
        field = self.field(width)
        op = self.take()
        negated = op.is_word("NOT")
        if negated:
            op = self.take()
        word = op.text.upper() if op.kind is Kind.WORD else op.text
        if word == "IS":
            return self.is_null(field)
        if word == "IN":
            return InList(field, self.in_list(field, op), negated, field.pos)
        if word == "BETWEEN":
            low = self.value(field, op)
            if not self.peek().is_word("AND"):
                self.fail(f"expected AND between the two ends, like {field} BETWEEN 1 AND 2",
                          self.peek().start)
            high = self.value(field, self.take())
            return Between(field, low, high, negated, field.pos)
        if word in ("LIKE", "ILIKE", "GLOB"):
            if field.type not in ("text", "param"):
                self.fail(f"{word} compares text, but {field} is a {field.type}; use =, <, > "
                          "or BETWEEN", op.start)
            value = self.raw_value(op)[0]
            return Compare(field, f"NOT {word}" if negated else word, value, field.pos)
        return self.operator(field, "!=" if word == "<>" else word, op)

    def operator(self, field: Field, op: str, token: Token) -> Node:
        if field.type == "bool" and op not in ("=", "!="):
            self.fail(f"{field} is true or false; compare it with = or !=", token.start)
        raw, quoted, pos = self.raw_value(token, field.type)
        low, dots, high = raw.partition("..")
        if not dots and not quoted and self.peek().kind is Kind.WORD:
            if self.peek().text == "..":  # a range written with spaces: 0.8 .. 0.9
                self.take()
                dots, (high, _, _) = "..", self.raw_value(token, field.type)
        if not dots or quoted:
            return Compare(field, op, self.convert(field, raw, quoted, pos), field.pos)
        if op not in ("=", "!="):
            self.fail(f"a range such as 0.8..0.9 goes after = or !=, not after '{op}'", pos)
        if not low and not high:
            self.fail(f"a range needs at least one end, like {field} = 1..2", pos)
        if not high:
            node: Node = Compare(field, ">=", self.convert(field, low, False, pos), field.pos)
        elif not low:
            node = Compare(field, "<=", self.convert(field, high, False, pos), field.pos)
        else:
            node = Between(field, self.convert(field, low, False, pos),
                           self.convert(field, high, False, pos), False, field.pos)
        return Not(node, field.pos) if op == "!=" else node

    def is_null(self, field: Field) -> Node:
        negated = self.peek().is_word("NOT")
        if negated:
            self.take()
        if not self.peek().is_word("NULL"):
            self.fail("expected NULL or NOT NULL after IS", self.peek().start)
        self.take()
        return Has(field, field.pos) if negated else Not(Has(field, field.pos), field.pos)

    def in_list(self, field: Field, op: Token) -> tuple[Value, ...]:
        if field.type == "bool":
            self.fail(f"{field} is true or false; compare it with = or !=", op.start)
        opening = self.peek()
        if opening.kind is not Kind.LPAREN:
            self.fail("expected '(' after IN, like IN ('a', 'b')", opening.start)
        after = self.take()
        values: list[Value] = []
        while True:
            if self.peek().kind is Kind.RPAREN and not values:
                self.fail("IN needs at least one value inside the parentheses", self.peek().start)
            raw, quoted, pos = self.raw_value(after, field.type)
            values.append(self.convert(field, raw, quoted, pos))
            token = after = self.take()
            if token.kind is Kind.RPAREN:
                return tuple(values)
            if token.kind is Kind.EOF:
                self.fail("unbalanced parenthesis: this '(' is never closed; add a ')'",
                          opening.start)
            if token.kind is not Kind.COMMA:
                self.fail(f"expected ',' or ')' in the IN list, found {_describe(token)}",
                          token.start)

    def raw_value(self, after: Token, kind: str = "text") -> tuple[str, bool, int]:
        """The next value token as (text, was it quoted, column)."""
        token = self.peek()
        if token.kind not in (Kind.STRING, Kind.WORD) or token.is_word("AND", "OR"):
            self.fail(f"expected a value after '{after.text}' ({_HINTS[kind]})", token.start)
        self.take()
        return token.text, token.kind is Kind.STRING, token.start

    def value(self, field: Field, after: Token) -> Value:
        return self.convert(field, *self.raw_value(after, field.type))

    def convert(self, field: Field, raw: str, quoted: bool, pos: int) -> Value:
        value = convert_literal(field.type, raw, quoted)
        if value is None:
            self.fail(f"{field} needs {_HINTS[field.type]}, not {raw!r}", pos)
        return value

    # -- fields -------------------------------------------------------------------------------

    def field(self, width: int) -> Field:
        token = self.take()
        if width == 2:
            head, key, key_pos = token.text[:-1], self.take().text, token.end
            if not key:
                self.fail(f"the quoted key after '{head}.' is empty", key_pos)
        else:
            head, dot, key = token.text.partition(".")
            key_pos = token.start + len(head) + 1
            if not dot:
                return self.attribute(head, token.start)
            if not key:
                self.fail(f"expected a key after '{head}.', like {head}.acc", token.end)
        entity = ENTITIES.get(head.lower())
        if entity is None:
            guess = difflib.get_close_matches(head.lower(), list(ENTITIES), n=1, cutoff=0.6)
            hint = f"did you mean '{_PREFIX[ENTITIES[guess[0]]]}.{key}'? " if guess else ""
            self.fail(f"unknown field '{head}.{key}'; {hint}fields are metrics.<key>, "
                      "params.<key>, tags.<key>, datasets.<name|digest|role|uri> and "
                      f"attributes ({', '.join(ATTRIBUTES)})", token.start)
        if entity == "attr":
            return self.attribute(key, key_pos)
        if entity == "dataset":
            return self.dataset_field(key, key_pos, token.start)
        kind = {"metric": "number", "param": "param", "tag": "text"}[entity]
        return Field(entity, key, token.start, type=kind)

    def attribute(self, name: str, pos: int) -> Field:
        canonical = _ATTR_SPELLINGS.get(name.lower())
        if canonical is None:
            guess = difflib.get_close_matches(name.lower(), list(_ATTR_SPELLINGS), n=1)
            hint = f"did you mean '{guess[0]}'? " if guess else ""
            self.fail(f"unknown attribute '{name}'; {hint}attributes are "
                      f"{', '.join(ATTRIBUTES)}; for a metric write metrics.{name}", pos)
        column, kind, _ = _ATTRS[canonical]
        return Field("attr", canonical, pos, column=column, type=kind)

    def dataset_field(self, key: str, pos: int, start: int) -> Field:
        role, _, column = key.rpartition(".")
        if column.lower() not in _DATASET_KEYS:
            self.fail(f"unknown dataset field '{key}'; use datasets.name, datasets.digest, "
                      "datasets.role, datasets.uri or datasets.<role>.name", pos)
        return Field("dataset", _DATASET_KEYS[column.lower()], start, role=role)

    # -- qualifiers: model:x user:x is:x has:x parent:x dataset:x @alias ----------------------

    def glued(self, token: Token, rest: str, rest_pos: int, example: str) -> tuple[str, bool]:
        """The value after `name:` or `@`: the rest of the word, or a quoted string glued on."""
        nxt = self.peek()
        if not rest and nxt.kind is Kind.STRING and nxt.start == token.end:
            self.take()
            if nxt.text:
                return nxt.text, True
        if not rest:
            self.fail(f"expected a value right after '{token.text}', like {example}", rest_pos)
        return rest, False

    def alias(self, token: Token) -> Node:
        self.take()
        name, _ = self.glued(token, token.text[1:], token.start + 1, "@champion")
        return Alias(name, token.start)

    def qualifier(self, token: Token, name: str, end: int) -> Node:
        self.take()
        pos = token.start + end
        if name not in _QUALIFIERS:
            guess = difflib.get_close_matches(name, list(_QUALIFIERS), n=1)
            hint = f"did you mean '{guess[0]}:'? " if guess else ""
            self.fail(f"unknown qualifier '{name}:'; {hint}qualifiers are "
                      f"{', '.join(q + ':' for q in _QUALIFIERS)}; to search for the text, "
                      f"quote it", token.start)
        value, quoted = self.glued(token, token.text[end:], pos, f"{name}:resnet")
        if name in ("model", "name"):
            return self.model_ref(value, quoted, token.start, pos)
        if name == "parent":
            model, number = _split_number(value, quoted)
            if number is None and ":" in model:
                self.fail("expected a version number after ':', like parent:bert:3", pos)
            return Parent(model, number, token.start)
        if name == "is":
            what = _IS.get(value.lower())
            if what is None:
                self.fail(f"unknown is:{value}; use {', '.join('is:' + k for k in _IS)}", pos)
            if what == "latest":
                return Latest(token.start)
            return Compare(self.attribute(what, pos), "=", True, token.start)
        if name == "has":
            return Has(self.has_field(value, pos), token.start)
        if name == "tag":
            return Has(Field("tag", value, pos), token.start)
        field = (Field("dataset", "name", pos) if name == "dataset"
                 else self.attribute(name, pos))
        return _exact_or_glob(field, value, quoted, token.start)

    def model_ref(self, value: str, quoted: bool, start: int, pos: int) -> Node:
        """`model:NAME`, `model:NAME:3` or `model:NAME@alias` (names never hold : or @)."""
        name, at, alias = (value, "", "") if quoted else value.partition("@")
        name, number = _split_number(name, quoted)
        if not name or (at and not alias) or (number is None and ":" in name):
            self.fail("expected model:NAME, model:NAME:3 or model:NAME@alias", pos)
        node = _exact_or_glob(self.attribute("model", pos), name, quoted, start)
        if number is not None:
            return And((node, Compare(self.attribute("version", pos), "=", number, start)), start)
        return And((node, Alias(alias, start)), start) if alias else node

    def has_field(self, value: str, pos: int) -> Field:
        kinds = {"alias": "alias", "aliases": "alias", "parent": "parent", "parents": "parent"}
        if value.lower() in kinds:
            return Field(kinds[value.lower()], "", pos)
        if value.lower() in ("dataset", "datasets"):
            return Field("dataset", "name", pos)
        head, dot, key = value.partition(".")
        entity = ENTITIES.get(head.lower())
        if not dot or not key or entity is None:
            self.fail(f"expected has:metrics.<key>, has:params.<key>, has:tags.<key>, "
                      f"has:alias, has:parent or has:dataset, not has:{value}", pos)
        if entity == "attr":
            return self.attribute(key, pos)
        if entity == "dataset":
            return self.dataset_field(key, pos, pos)
        return Field(entity, key, pos)

    # -- order by -----------------------------------------------------------------------------

    def order_by(self) -> tuple[OrderItem, ...]:
        self.take()
        self.take()
        items: list[OrderItem] = []
        while True:
            token = self.peek()
            if token.kind is not Kind.WORD or token.is_word("ASC", "DESC", "AND", "OR"):
                self.fail("expected a field to order by, like order by metrics.acc desc",
                          token.start)
            field = self.field(self.field_width())
            if field.kind == "dataset":
                self.fail(f"cannot order by {field}; order by an attribute, metrics.<key>, "
                          "params.<key> or tags.<key>", field.pos)
            descending = self.peek().is_word("DESC")
            if self.peek().is_word("ASC", "DESC"):
                self.take()
            items.append(OrderItem(field, descending))
            token = self.peek()
            if token.kind is Kind.COMMA:
                self.take()
            elif token.kind is Kind.EOF:
                return tuple(items)
            else:
                self.fail("expected ',', asc, desc or the end of the query after the order by "
                          f"field, found {_describe(token)}", token.start)


def _describe(token: Token) -> str:
    if token.kind is Kind.EOF:
        return "the end of the query"
    if token.kind is Kind.STRING:
        return f"the string {token.text!r}"
    return f"'{token.text}'"


def _flat(items: list[Node], kind: type[And] | type[Or]) -> tuple[Node, ...]:
    """Merge nested groups of the same operator, so `a and (b and c)` costs no depth."""
    out: list[Node] = []
    for item in items:
        out.extend(item.items if isinstance(item, kind) else (item,))
    return tuple(out)


def _check_depth(node: Node, text: str) -> None:
    """Refuse trees SQLite cannot parse: each AND/OR/NOT level becomes a parenthesis."""

    def depth(n: Node) -> tuple[int, int]:
        if isinstance(n, Not):
            d, pos = depth(n.operand)
            return d + 1, pos if d >= MAX_DEPTH else n.pos
        if isinstance(n, And | Or):
            d, pos = max((depth(i) for i in n.items), key=lambda dp: dp[0])
            return d + 1, pos if d >= MAX_DEPTH else n.pos
        return 0, n.pos

    levels, pos = depth(node)
    if levels > MAX_DEPTH:
        raise QueryError(f"AND, OR and NOT nest {levels} levels deep; the limit is "
                         f"{MAX_DEPTH}; simplify the parentheses", text, pos)


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
