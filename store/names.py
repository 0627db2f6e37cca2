"""Model, alias and tag names: what is allowed, how a name maps to a folder, and refs.

A model name is shown in terminals and used in folder names on every filesystem, so it
may hold any printable text (`resnet[/bold]` is fine) but no control characters, bidi
overrides, `:` or `@` (they delimit refs). Folder names percent-encode everything outside
`[A-Za-z0-9._-]`, which keeps them portable and reversible.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, unquote

from .errors import InvalidName, InvalidRef

MAX_NAME = 200
ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")
TAG_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$")
_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
         "\u2069", "\u200e", "\u200f", "\u061c"}


def unsafe_char(text: str) -> str | None:
    """The first control or bidi-override character in `text`, if any."""
    for ch in text:
        if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return ch
    return None


def check_model_name(name: str) -> str:
    """Return `name` if it can name a model, else raise InvalidName saying why."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidName("a model name must be a non-empty string")
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
    return name


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not ALIAS_RE.match(alias):
        raise InvalidName(
            f"alias {alias!r} is not valid: start with a letter, then letters, digits, "
            "'_', '.' or '-' (at most 63 characters), e.g. 'champion' or 'prod-eu'"
        )
    if alias.lower() == "latest":
        raise InvalidName("'latest' is reserved: it always means the newest version")
    return alias


def check_tag_key(key: str) -> str:
    if not isinstance(key, str) or not TAG_KEY_RE.match(key):
        raise InvalidName(
            f"tag key {key!r} is not valid: use letters, digits and '_ . : / -' "
            "(at most 128 characters), e.g. 'team' or 'data/version'"
        )
    return key


def model_dirname(name: str) -> str:
    """The folder name of a model: reversible, portable, never hidden."""
    encoded = quote(name, safe="")
    encoded = encoded.replace("~", "%7E")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    return encoded


def model_from_dirname(dirname: str) -> str:
    return unquote(dirname)


@dataclass(frozen=True)
class Ref:
    """A parsed reference: `resnet` (latest), `resnet:3`, `resnet@champion`."""

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
        if not ALIAS_RE.match(alias):
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
        return Ref(check_model_name(model), version=int(number))
    return Ref(check_model_name(text))
