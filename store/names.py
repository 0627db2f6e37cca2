"""Model, alias and tag names: what is allowed, how a name maps to a folder, and refs.

A model name is shown in terminals and used in folder names on every filesystem, so it
may hold any printable text (`resnet[/bold]` is fine) but no control characters, bidi
overrides, `:` or `@` (they delimit refs). Folder names percent-encode everything outside
`[A-Za-z0-9._-]`, which keeps them portable and reversible.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, unquote

from modelyard.store.errors import InvalidName, InvalidRef

MAX_NAME = 200
MAX_DIRNAME_BYTES = 255  # NAME_MAX of ext4, XFS, NFS, Lustre: the model's folder name
ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")
TAG_KEY_MAX = 250  # characters, as MLflow's (MAX_ENTITY_KEY_LENGTH)
TAG_VALUE_MAX = 100_000  # characters, as MLflow's model registry tags
# Bidi embeddings, overrides, isolates and marks: they reorder what a terminal shows. All are
# format characters (Cf), so is_unsafe catches them anyway; named here for the reader.
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_UNSAFE_CATEGORIES = ("Cc", "Cf", "Zl", "Zp")  # controls (C0, C1), format, line/paragraph


def is_unsafe(ch: str) -> bool:
    """A character that never reaches a terminal or a name raw: it could drive the terminal
    (ESC, CSI, OSC 52, C1), reorder the text around it (bidi) or break a line. The one
    definition: names refuse it, the CLI, JSON and the app show it as an escape."""
    return ch in BIDI or unicodedata.category(ch) in _UNSAFE_CATEGORIES


def unsafe_char(text: str) -> str | None:
    """The first control or bidi-override character in `text`, if any."""
    if text.isascii():  # the usual case, in C: of ASCII only C0 controls and DEL are unsafe
        return None if text.isprintable() else next(c for c in text if not c.isprintable())
    return next((ch for ch in text if is_unsafe(ch)), None)


def nfc(text: str) -> str:
    """Unicode NFC: `café` typed as one code point or as `e` + combining accent is one name."""
    return unicodedata.normalize("NFC", text)


def check_model_name(name: str) -> str:
    """Return `name` in NFC if it can name a model, else raise InvalidName saying why.

    The length limit is checked on the folder name the model gets (`model_dirname`, UTF-8
    percent-encoded), because that is what the filesystem refuses: 100 `é` are 100
    characters but a 600-byte folder name.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidName("a model name must be a non-empty string")
    name = nfc(name)
    if name != name.strip():
        raise InvalidName(f"model name {name!r} has leading or trailing spaces; remove them")
    if len(name) > MAX_NAME:
        raise InvalidName(f"model name is {len(name)} characters long; the limit is {MAX_NAME}")
    bad = unsafe_char(name)
    if bad is not None:
        raise InvalidName(
            f"model name {name!r} holds the control character U+{ord(bad):04X}; "
            "names must be printable text"
        )
    for ch in ":@":
        if ch in name:
            raise InvalidName(
                f"model name {name!r} holds {ch!r}, which separates a model from its "
                "version or alias in refs; use another character such as '-'"
            )
    if name in (".", ".."):
        raise InvalidName("'.' and '..' cannot name a model")
    encoded = len(model_dirname(name).encode("utf-8", "surrogatepass"))
    if encoded > MAX_DIRNAME_BYTES:
        raise InvalidName(
            f"model name {name[:40]!r}… becomes a {encoded}-byte folder name (each character "
            f"outside A-Z, a-z, 0-9, '.', '_' and '-' takes 3 to 12 bytes); the limit is "
            f"{MAX_DIRNAME_BYTES} bytes: use a shorter name or more plain ASCII letters"
        )
    return name


def case_key(name: str) -> str:
    """What two names must not share: the same NFC text up to case (`Model`, `MODEL`), which
    would be one folder on a case-insensitive filesystem (macOS, Windows shares)."""
    return nfc(name).casefold()


def check_new_model(name: str, existing: Iterable[str]) -> None:
    """Refuse a new model whose name equals an existing one's up to case or normalization,
    naming the existing model so the person can use it instead."""
    key = case_key(name)
    for other in existing:
        if other != name and case_key(other) == key:
            raise InvalidName(
                f"model name {name!r} differs from the existing model {other!r} only by case "
                "or Unicode form; on a case-insensitive filesystem they would be one folder. "
                f"Add the version to {other!r} or choose a clearly different name"
            )


# scripts that mix naturally in one name (UTS #39 "highly restrictive" profiles)
_MIXABLE = (frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
            frozenset({"LATIN", "CJK", "HANGUL"}), frozenset({"LATIN", "CJK", "BOPOMOFO"}))
_WIDTH = ("FULLWIDTH", "HALFWIDTH")


def scripts(name: str) -> set[str]:
    """The scripts of the letters in `name` (LATIN, CYRILLIC, GREEK, CJK…), from Unicode
    character names; digits, punctuation and combining marks belong to none."""
    found: set[str] = set()
    for ch in name:
        if not unicodedata.category(ch).startswith("L"):
            continue
        words = unicodedata.name(ch, "UNKNOWN").split()
        if words[0] in _WIDTH and len(words) > 1:
            words = words[1:]
        found.add(words[0])
    return found


def mixed_script(name: str) -> bool:
    """True when a name mixes scripts that look alike (Latin `e` and Cyrillic `е` in one
    name): shown as a warning, because such a name can impersonate another."""
    found = scripts(name)
    return len(found) > 1 and not any(found <= ok for ok in _MIXABLE)


def check_alias(alias: str) -> str:
    """Return the alias (NFC) if valid: ASCII letters, digits, '_', '.', '-', 63 bytes."""
    if isinstance(alias, str):
        alias = nfc(alias)
    if not isinstance(alias, str) or not ALIAS_RE.fullmatch(alias) or len(alias.encode()) > 63:
        raise InvalidName(
            f"alias {alias!r} is not valid: start with a letter, then letters, digits, "
            "'_', '.' or '-' (at most 63 characters), e.g. 'champion' or 'prod-eu'"
        )
    if alias.lower() == "latest":
        raise InvalidName("'latest' is reserved: it always means the newest version")
    return alias


def check_tag_key(key: str) -> str:
    """Return the tag key (NFC) if valid. Keys are MLflow's: any printable text up to 250
    characters (`model owner` and `mlflow.source.git.commit` alike), without control or
    bidi characters, without spaces at either end, and without `=` or a backtick (the CLI
    writes `key=value`; the query language quotes keys in backticks)."""
    if isinstance(key, str):
        key = nfc(key)
    if not isinstance(key, str) or not key or key != key.strip() or len(key) > TAG_KEY_MAX \
            or unsafe_char(key) is not None or "=" in key or "`" in key:
        raise InvalidName(
            f"tag key {key!r} is not valid: use printable text without '=' or '`' and "
            f"without spaces at either end (at most {TAG_KEY_MAX} characters), e.g. 'team', "
            "'data/version' or 'model owner'"
        )
    return key


def tag_key_or_none(key: object) -> str | None:
    """`key` as a valid tag key, or None (an outside key this store cannot hold)."""
    try:
        return check_tag_key(str(key))
    except InvalidName:
        return None


def model_dirname(name: str) -> str:
    """The folder name of a model: reversible, portable, never hidden."""
    encoded = quote(name, safe="")
    encoded = encoded.replace("~", "%7E")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    return encoded


def model_from_dirname(dirname: str) -> str:
    return unquote(dirname)


class Ref(NamedTuple):
    """A parsed reference: `resnet` (latest), `resnet:3`, `resnet@champion`. (A named tuple,
    not a dataclass: importing dataclasses costs `modelyard init` 8 ms, a sixth of it.)"""

    model: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.model}:{self.version}"
        if self.alias is not None:
            return f"{self.model}@{self.alias}"
        return self.model


def parse_ref(text: str) -> Ref:
    """Parse `name`, `name:N`, `name@alias` or `name@latest`."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidRef("empty model reference; write NAME, NAME:VERSION or NAME@ALIAS")
    text = text.strip()
    if "@" in text:
        model, _, alias = text.rpartition("@")
        if not model:
            raise InvalidRef(f"ref {text!r} has no model name before '@'")
        if alias.lower() == "latest":
            return Ref(check_model_name(model))
        if not ALIAS_RE.fullmatch(alias):
            raise InvalidRef(f"ref {text!r}: {alias!r} is not a valid alias name")
        return Ref(check_model_name(model), alias=alias)
    if ":" in text:
        model, _, number = text.rpartition(":")
        if number.lower().startswith("v"):
            number = number[1:]
        if not model or not number.isdigit() or int(number) < 1:
            raise InvalidRef(
                f"ref {text!r} is not NAME:VERSION with a positive version number, e.g. resnet:3"
            )
        return Ref(_typed(model), version=int(number))
    return Ref(_typed(text))


def _typed(model: str) -> str:
    """A ref's model name, checked but kept as typed: a store made before names were
    normalized may hold an NFD name, and looking it up must still find it."""
    check_model_name(model)
    return model


def check_new_model_folder(models: Path, name: str) -> str:
    """`name` in NFC, refused (InvalidName) when it is a new model whose name clashes up to
    case with a model folder already in `models/` (the files, not an index that may lag)."""
    name = check_model_name(name)
    try:
        if os.path.lexists(models / model_dirname(name)):
            return name
        existing = [model_from_dirname(d) for d in os.listdir(models) if not d.startswith(".")]
    except FileNotFoundError:
        return name
    check_new_model(name, existing)
    return name
