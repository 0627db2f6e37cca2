"""Split a query into tokens that keep their column, so every error can point at one.

The lexer knows nothing about fields or keywords: a word is any run of characters that is
not space, a parenthesis, a comma or a comparator, so `model:not-a-keyword`, `-7d`,
`2026-01-31T10:00:00Z` and `0.8..0.9` each stay one token and the parser decides what they
mean from where they stand. Once a field says which type it needs (a number, a size, a
date), `convert_literal` reads a value token, and never raises.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum

from modelyard.store.errors import QueryError

MAX_LENGTH = 10_000  # keeps the number of SQL parameters far below SQLite's limit


class Kind(Enum):
    WORD = "word"
    STRING = "string"  # 'single' or "double" quoted
    BACKTICK = "backtick"  # `quoted key`
    OP = "op"  # = != <> > >= < <=
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    EOF = "end of query"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str  # the word, the unquoted string, or the operator
    start: int  # 0-based column of the first character
    end: int  # column just past the last character

    def is_word(self, *words: str) -> bool:
        """True for a bare word equal to one of `words`, ignoring case (keywords)."""
        return self.kind is Kind.WORD and self.text.upper() in words


_SINGLE = {"(": Kind.LPAREN, ")": Kind.RPAREN, ",": Kind.COMMA}
_OPS = ("!=", "<>", ">=", "<=", "==", "=", ">", "<")
_QUOTES = {"'": Kind.STRING, '"': Kind.STRING, "`": Kind.BACKTICK}
_STOP = set("(),=<>")
_GLUE = ".:@"  # a quote right after these quotes a key or a value: tags."a.b", model:"x"


def tokenize(query: str) -> list[Token]:
    """The tokens of `query`, ending with an EOF token at column len(query)."""
    _check_text(query)
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in _SINGLE:
            tokens.append(Token(_SINGLE[ch], ch, i, i + 1))
            i += 1
        elif ch in _QUOTES:
            token = _quoted(query, i)
            tokens.append(token)
            i = token.end
        elif op := next((o for o in _OPS if query.startswith(o, i)), None):
            tokens.append(Token(Kind.OP, "=" if op == "==" else op, i, i + len(op)))
            i += len(op)
        else:
            j = i
            while j < n and query[j] not in _STOP and not query[j].isspace():
                if query.startswith("!=", j) or (query[j] in _QUOTES and query[j - 1] in _GLUE):
                    break
                j += 1  # other quotes inside a word are text: o'neil, don't
            tokens.append(Token(Kind.WORD, query[i:j], i, j))
            i = j
    tokens.append(Token(Kind.EOF, "", n, n))
    return _quoted_entities(tokens)


def _quoted_entities(tokens: list[Token]) -> list[Token]:
    """`` `metric`.a `` as MLflow allows it: a backticked word glued to `.key` is one word."""
    out: list[Token] = []
    for token in tokens:
        last = out[-1] if out else None
        if (last is not None and last.kind is Kind.BACKTICK and token.kind is Kind.WORD
                and token.start == last.end and token.text.startswith(".")
                and re.fullmatch(r"[A-Za-z_]+", last.text)):
            out[-1] = Token(Kind.WORD, last.text + token.text, last.start, token.end)
        else:
            out.append(token)
    return out


def _quoted(query: str, start: int) -> Token:
    """A quoted string or key. A doubled quote, or a backslash before the quote or before
    a backslash, puts that character inside; other backslashes stay, so a LIKE pattern can
    still escape its `%` and `_`.
    """
    quote = query[start]
    chars: list[str] = []
    i = start + 1
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query) and query[i + 1] in (quote, "\\"):
            chars.append(query[i + 1])
            i += 2
        elif ch == quote and query.startswith(quote * 2, i):
            chars.append(quote)
            i += 2
        elif ch == quote:
            return Token(_QUOTES[quote], "".join(chars), start, i + 1)
        else:
            chars.append(ch)
            i += 1
    what = "backtick" if quote == "`" else "quote"
    raise QueryError(f"unclosed {what}: add a closing {quote} after the text", query, start)


def _check_text(query: str) -> None:
    """Refuse text SQLite cannot take, before it reaches a bound parameter."""
    if len(query) > MAX_LENGTH:
        raise QueryError(
            f"the query is {len(query)} characters long; the limit is {MAX_LENGTH}",
            query,
            MAX_LENGTH,
        )
    for i, ch in enumerate(query):
        if "\ud800" <= ch <= "\udfff":
            raise QueryError("the query holds an invalid character (a lone surrogate)", query, i)


# -- literals: what a value token means once the field says which type it needs ---------------


@dataclass(frozen=True)
class Instant:
    """A moment in epoch ms; `span_ms` is how long a date or a minute-precise time covers."""

    ms: int
    span_ms: int = 1


@dataclass(frozen=True)
class Ago:
    """A time relative to `now_ms`, resolved at compile time so that parsing stays pure."""

    ms: int


Value = str | int | float | bool | Instant | Ago

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SCALED = re.compile(rf"({_NUMBER.pattern})\s*([A-Za-z]*)")
_SIZE = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
         "gb": 10**9, "t": 10**12, "tb": 10**12, "p": 10**15, "pb": 10**15, "kib": 2**10,
         "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50}
_COUNT = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
_SECONDS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_BOOL = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_RELATIVE = re.compile(r"([+-]?)([0-9]{1,9}(?:\.[0-9]{1,6})?)([smhdw])", re.IGNORECASE)
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")
_MAX_MS = 10**15  # about 31,000 years either side of 1970; keeps every bound in 64 bits
_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def convert_literal(kind: str, raw: str, quoted: bool) -> Value | None:
    """The value `raw` stands for in a field of type `kind`, or None when it cannot be one."""
    if kind == "text":
        return raw
    if kind == "param":  # MLflow compares params as text; an unquoted number compares as one
        number = None if quoted else to_number(raw)
        return raw if number is None else number
    if kind == "number":
        return to_number(raw.strip())
    if kind == "bool":
        return _BOOL.get(raw.strip().lower())
    if kind == "verdict":  # a policy rule's result
        word = raw.strip().lower()
        return word if word in ("pass", "fail") else None
    if kind == "time":
        return _time(raw.strip())
    units = {"size": _SIZE, "count": _COUNT, "duration": _SECONDS}[kind]
    return _scaled(raw.strip(), units)


def to_number(text: str) -> int | float | None:
    """An int or a finite float; never raises, unlike float() on 'nan', '1_0' or 5000 digits."""
    if not _NUMBER.fullmatch(text):
        return None
    if re.fullmatch(r"[+-]?[0-9]{1,18}", text):
        return int(text)
    value = float(text)
    return value if math.isfinite(value) else None


def _scaled(text: str, units: dict[str, int]) -> int | float | None:
    match = _SCALED.fullmatch(text)
    if match is None or match.group(2).lower() not in units:
        return None
    number = to_number(match.group(1))
    if number is None:
        return None
    value = number * units[match.group(2).lower()]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, int) and abs(value) >= 2**63:
        return float(value)
    return value if math.isfinite(value) else None


def _time(text: str) -> Instant | Ago | None:
    if text.lower() == "now":
        return Ago(0)
    relative = _RELATIVE.fullmatch(text)
    if relative:
        sign, amount, unit = relative.groups()
        ms = round(float(amount) * _SECONDS[unit.lower()] * 1000)
        return Ago(-ms if sign == "+" else ms) if ms <= _MAX_MS else None
    number = to_number(text)
    if number is not None:  # epoch milliseconds, the way MLflow writes times
        return Instant(round(number)) if abs(number) <= _MAX_MS else None
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return Instant((date.fromisoformat(text) - _EPOCH.date()).days * _DAY_MS, _DAY_MS)
        precise = _DATETIME.match(text)
        if precise:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)  # a time without a zone is UTC
            span = 1 if precise.group(2) else 1000 if precise.group(1) else 60_000
            return Instant((moment - _EPOCH) // timedelta(milliseconds=1), span)
    except (ValueError, OverflowError):
        return None
    return None
