"""Typos are errors, not searches: the words a query refuses although they could be text.

A bare word is free text, and free text is ANDed with the rest, so a misspelt keyword used
to search for itself and quietly find nothing (`metrics.auc > 0.9 adn params.x = 'l2'`).
Two places are kept for filters, where a word can only be a broken one:

- directly after a complete comparison, a bare word must be AND, OR, NOT, ORDER BY or a
  qualifier; `metrics.auc > 0.9 resnet` is refused (write `and resnet`, or put the text first);
- a word in capitals one letter away from AND, OR or NOT (`NAND`, `ADN`, `NOR`) is refused,
  and so is such a word in any case between a term and a comparison
  (`bert adn metrics.acc > 0.9`).

Every refusal points at the word, says what it was taken for, and how to search for it.
"""

from __future__ import annotations

import difflib

from modelyard.store.errors import QueryError
from modelyard.store.query.lexer import Kind, Token

CONNECTIVES = ("AND", "OR", "NOT")
_FOLLOWERS = ("ORDER",)  # words that may follow a comparison besides the connectives


def check_word_after_comparison(word: Token, after: Token, text: str) -> None:
    """Refuse a bare word right after `field op value` (the caller saw no AND or OR)."""
    if word.kind is not Kind.WORD or word.is_word(*CONNECTIVES, *_FOLLOWERS):
        return
    if word.text.startswith("@") or ":" in word.text or "." in word.text:
        return  # a qualifier, an alias or another field: unambiguous, ANDed
    if after.kind is Kind.OP:
        return  # another comparison (`... user = 'a'`), ANDed
    guess = did_you_mean(word.text)
    hint = f"did you mean {guess}? " if guess else "join conditions with AND or OR; "
    raise QueryError(f"unexpected word '{word.text}' after a comparison; {hint}to search for "
                     f"the text as well, write AND \"{word.text}\"", text, word.start)


def check_keyword_lookalike(word: Token, text: str, *, before_comparison: bool = False) -> None:
    """Refuse `NAND`, `ADN`, `NTO`: capitals one edit from a connective are a typo, and so is
    such a word in any case between a term and a comparison (`resnet adn metrics.acc > 0.9`)."""
    if word.kind is not Kind.WORD or not word.text.isalpha() or len(word.text) < 2:
        return
    if not word.text.isupper() and not before_comparison:
        return
    guess = next((k for k in CONNECTIVES if _one_edit(word.text.upper(), k)), None)
    if guess is not None and word.text != guess:
        raise QueryError(f"'{word.text}' is not a keyword; did you mean {guess}? To search "
                         f"for the word, quote it: \"{word.text}\"", text, word.start)


def did_you_mean(word: str) -> str | None:
    """The connective `word` is closest to (`adn` -> AND), if any is close."""
    if len(word) < 2:
        return None
    upper = word.upper()
    close = next((k for k in CONNECTIVES if _one_edit(upper, k)), None)
    if close is None:
        found = difflib.get_close_matches(upper, [*CONNECTIVES, "ORDER"], n=1, cutoff=0.6)
        close = found[0] if found else None
    return close


def _one_edit(a: str, b: str) -> bool:
    """True when one insertion, deletion, substitution or swap of neighbours turns a into b."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))
