"""The grammar rules for `field op value`: comparisons, LIKE, IN lists, BETWEEN, ranges, IS NULL.

Each value is converted as soon as it is read, to the type its field needs, so a wrong value
is reported at its own column with what the field expects instead.
"""

from __future__ import annotations

from modelyard.store.query.cursor import TokenCursor, describe
from modelyard.store.query.fields import TYPE_HINTS, Field, attribute, entity_field
from modelyard.store.query.lexer import Kind, Token, Value, convert_literal, to_number
from modelyard.store.query.nodes import Between, Compare, Has, InList, Node, Not

# what a metric can be beside finite numbers: `metrics.loss = nan`, `metrics.loss < inf`
NONFINITE: dict[str, float] = {"nan": float("nan"), "inf": float("inf"),
                               "+inf": float("inf"), "-inf": float("-inf"),
                               "infinity": float("inf"), "-infinity": float("-inf")}


def is_nan(value: object) -> bool:
    return isinstance(value, float) and value != value


class ComparisonParser(TokenCursor):
    """Parses one comparison and the field on its left; `parser._Parser` adds the rest."""

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
            if field.type == "verdict":
                self.fail(f"{field} is pass or fail; compare it with = or !=", op.start)
            low = self.value(field, op)
            if not self.peek().is_word("AND"):
                self.fail(f"expected AND between the two ends, like {field} BETWEEN 1 AND 2",
                          self.peek().start)
            high = self.value(field, self.take())
            if is_nan(low) or is_nan(high):
                self.fail(f"NaN has no order; write {field} = nan", op.start)
            return Between(field, low, high, negated, field.pos)
        if word in ("LIKE", "ILIKE", "GLOB"):
            if field.type not in ("text", "param"):
                self.fail(f"{word} compares text, but {field} is a {field.type}; use =, <, > "
                          "or BETWEEN", op.start)
            value, quoted, pos = self.raw_value(op)
            if not quoted:
                self.fail(f"the pattern after {word} is text: quote it, like {field} {word} "
                          f"'{value}'", pos)
            return Compare(field, f"NOT {word}" if negated else word, value, field.pos)
        return self.operator(field, "!=" if word == "<>" else word, op)

    def operator(self, field: Field, op: str, token: Token) -> Node:
        if field.type == "bool" and op not in ("=", "!="):
            self.fail(f"{field} is true or false; compare it with = or !=", token.start)
        if field.type == "verdict" and op not in ("=", "!="):
            self.fail(f"{field} is pass or fail; compare it with = or !=", token.start)
        raw, quoted, pos = self.raw_value(token, field.type)
        if quoted and op in ("<", "<=", ">", ">=") and field.type in ("text", "param"):
            self.fail(f"{field} holds text, which MLflow compares only with =, !=, LIKE, ILIKE "
                      f"and IN; to compare a number, leave out the quotes: {field} {op} 0.5",
                      token.start)
        if quoted and field.kind == "metric":
            self.fail(f"{field} is a number: leave out the quotes, like {field} {op} {raw}",
                      pos)
        low, dots, high = raw.partition("..")
        if not dots and not quoted and self.peek().kind is Kind.WORD:
            if self.peek().text == "..":  # a range written with spaces: 0.8 .. 0.9
                self.take()
                dots, (high, _, _) = "..", self.raw_value(token, field.type)
        if not dots or quoted:
            value = self.convert(field, raw, quoted, pos)
            if is_nan(value) and op not in ("=", "!="):
                self.fail(f"NaN has no order; write {field} = nan or {field} != nan", pos)
            return Compare(field, op, value, field.pos)
        if field.type == "verdict":
            self.fail(f"{field} is pass or fail, not a range", pos)
        if op not in ("=", "!="):
            self.fail(f"a range such as 0.8..0.9 goes after = or !=, not after '{op}'", pos)
        if not low and not high:
            self.fail(f"a range needs at least one end, like {field} = 1..2", pos)
        if any(is_nan(NONFINITE.get(end.strip().lower())) for end in (low, high)):
            self.fail(f"NaN has no order; write {field} = nan", pos)
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
                self.fail(f"expected ',' or ')' in the IN list, found {describe(token)}",
                          token.start)

    def raw_value(self, after: Token, kind: str = "text") -> tuple[str, bool, int]:
        """The next value token as (text, was it quoted, column)."""
        token = self.peek()
        if token.kind not in (Kind.STRING, Kind.WORD) or token.is_word("AND", "OR"):
            self.fail(f"expected a value after '{after.text}' ({TYPE_HINTS[kind]})", token.start)
        self.take()
        return token.text, token.kind is Kind.STRING, token.start

    def value(self, field: Field, after: Token) -> Value:
        return self.convert(field, *self.raw_value(after, field.type))

    def convert(self, field: Field, raw: str, quoted: bool, pos: int) -> Value:
        if field.kind == "metric" and not quoted and raw.strip().lower() in NONFINITE:
            return NONFINITE[raw.strip().lower()]
        if not quoted and (field.type == "text"
                           or (field.type == "param" and to_number(raw.strip()) is None)):
            self.fail(f"{field} compares text: quote the value, like {field} = '{raw}' "
                      "(a bare word would be a search or a typo)", pos)
        value = convert_literal(field.type, raw, quoted)
        if value is None:
            self.fail(f"{field} needs {TYPE_HINTS[field.type]}, not {raw!r}", pos)
        return value

    def field(self, width: int) -> Field:
        """The field on the left of a comparison or after order by: `head.key`, an entity
        glued to a quoted key (`width` 2), or a bare attribute."""
        token = self.take()
        if width == 2:
            head, key, key_pos = token.text[:-1], self.take().text, token.end
            if not key:
                self.fail(f"the quoted key after '{head}.' is empty", key_pos)
        else:
            head, dot, key = token.text.partition(".")
            key_pos = token.start + len(head) + 1
            if not dot:
                return attribute(head, token.start, self.text)
            if not key:
                self.fail(f"expected a key after '{head}.', like {head}.acc", token.end)
        return entity_field(head, key, token.start, key_pos, self.text)
