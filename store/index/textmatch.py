"""`modelyard_has_word(word, *texts)`: does a version's indexed text hold a token that starts
with `word`, as FTS5's `"word"*` would find it? For testing one version at a time, where
FTS5 itself would first merge the doclists of every term with that prefix.

Only plain words (`[a-z0-9_]`, lowercased) are asked; the text is folded the way the
unicode61 tokenizer folds it: lower case, diacritics removed, and a token is a run of
letters, digits and `_`.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from functools import lru_cache


@lru_cache(maxsize=256)
def _pattern(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(word), re.IGNORECASE)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def has_word(word: str, *texts: str | None) -> bool:
    search = _pattern(word).search
    for text in texts:
        if text and search(text if text.isascii() else _fold(text)):
            return True
    return False


def register(conn: sqlite3.Connection) -> None:
    conn.create_function("modelyard_has_word", -1, has_word, deterministic=True)
