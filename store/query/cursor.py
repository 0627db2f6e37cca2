"""A position in one query's tokens, and the look-ahead questions the grammar asks there.

The parser's rules build on `TokenCursor`: it hands out tokens, never runs past the EOF token,
and turns a mistake into a QueryError at the column of the token that caused it.
"""

from __future__ import annotations

from typing import NoReturn

from modelyard.store.errors import QueryError
from modelyard.store.query.lexer import Kind, Token, tokenize

COMPARE_WORDS = ("LIKE", "ILIKE", "GLOB", "IN", "BETWEEN")


class TokenCursor:
    """The tokens of `text` and how far the parser has read them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

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
        if token.kind is Kind.OP or token.is_word(*COMPARE_WORDS, "IS"):
            return True
        return token.is_word("NOT") and self.peek(ahead + 1).is_word(*COMPARE_WORDS)


    def at_filter_shape(self, ahead: int) -> bool:
        """True when the words from `ahead` on can only be the rest of a filter: `IS [NOT]
        NULL`, `[NOT] IN (`, `[NOT] LIKE 'x'` or `[NOT] BETWEEN x AND`, so a word before
        them is a field even when it is unknown (`foo is null` is a typo, not a search)."""
        if self.peek(ahead).is_word("NOT"):
            ahead += 1
        token, nxt = self.peek(ahead), self.peek(ahead + 1)
        if token.is_word("IS"):
            return nxt.is_word("NULL") or (nxt.is_word("NOT")
                                           and self.peek(ahead + 2).is_word("NULL"))
        if token.is_word("IN"):
            return nxt.kind is Kind.LPAREN
        if token.is_word("LIKE", "ILIKE", "GLOB"):
            return nxt.kind is Kind.STRING
        if token.is_word("BETWEEN"):
            return self.peek(ahead + 3).is_word("AND")
        return False


def describe(token: Token) -> str:
    """A token as an error message names it."""
    if token.kind is Kind.EOF:
        return "the end of the query"
    if token.kind is Kind.STRING:
        return f"the string {token.text!r}"
    return f"'{token.text}'"
