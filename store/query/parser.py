"""Turn query text into a syntax tree whose fields and values are already checked.

Fields and values are checked here, not in the compiler, so `parse` alone can tell a person
every mistake with its column while they type. Precedence is NOT > AND > OR; words side by
side are ANDed, the way search boxes work. This module holds the boolean structure, bare
words, qualifiers and order by; comparisons are in `comparisons`, the vocabulary in `fields`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from modelyard.store.errors import QueryError
from modelyard.store.query.comparisons import ComparisonParser
from modelyard.store.query.cursor import describe
from modelyard.store.query.fields import ATTRIBUTE_SPELLINGS, ENTITIES
from modelyard.store.query.lexer import Kind, Token
from modelyard.store.query.nodes import Alias, And, Node, Not, Or, OrderItem, Query, Text
from modelyard.store.query.qualifiers import check_qualifier, qualifier_condition
from modelyard.store.query.typos import check_keyword_lookalike, check_word_after_comparison

MAX_NESTING = 50  # parentheses and NOTs as written; bounds the parser's recursion
MAX_DEPTH = 20  # AND/OR/NOT levels in the tree: SQLite 3.40 overflows at 25
MAX_TERMS = 256  # conditions per query; keeps SQLite's expression tree small


def parse(text: str) -> Query:
    """Parse a query; raises QueryError, and only QueryError, with the mistake's column."""
    query = _Parser(text).query()
    if query.where is not None:
        _check_depth(query.where, text)
    return query


class _Parser(ComparisonParser):
    """Recursive descent over the tokens; each method parses one rule of the grammar."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.nesting = 0
        self.terms = 0
        self.after_comparison = False  # the last term read was `field op value`

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
            self.fail(f"unexpected {describe(token)}", token.start)
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
            elif self.after_comparison:
                check_word_after_comparison(self.peek(), self.peek(1), self.text)
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
                      f"found {describe(close)}", close.start)
        self.take()
        return inner

    def term(self) -> Node:
        token = self.peek()
        self.after_comparison = False
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
        fieldish = width == 2 or "." in token.text or token.text.lower() in ATTRIBUTE_SPELLINGS
        if (self.peek(width).kind is Kind.OP or (fieldish and self.at_comparator(width))
                or self.at_filter_shape(width)):
            node = self.comparison(width)
            self.after_comparison = True
            return node
        between = self.i > 0 and self.peek(-1).kind in (Kind.WORD, Kind.STRING, Kind.RPAREN) \
            and not self.peek(-1).is_word("AND", "OR", "NOT")  # a term on its left
        check_keyword_lookalike(token, self.text,
                                before_comparison=between and self.at_comparison(1))
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

    def at_comparison(self, ahead: int) -> bool:
        """True when a `field op` starts `ahead` tokens on (`metrics.acc >`)."""
        token = self.peek(ahead)
        return token.kind is Kind.WORD and "." in token.text and self.at_comparator(ahead + 1)

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
        check_qualifier(name, token.start, self.text)
        value, quoted = self.glued(token, token.text[end:], pos, f"{name}:resnet")
        return qualifier_condition(name, value, quoted, token.start, pos, self.text)

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
            if field.kind in ("dataset", "policy"):
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
                          f"field, found {describe(token)}", token.start)


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
