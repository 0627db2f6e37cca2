"""How drop names are shown and turned into folder names: nothing a producer named a drop
may reach a terminal or a log as a control sequence, or break a path."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from modelyard.store.names import unsafe_char


def bad_char(text: str) -> str | None:
    """A control, bidi or undecodable character: such names spoof or break terminals."""
    return unsafe_char(text) or next((c for c in text if 0xD800 <= ord(c) <= 0xDFFF), None)


def escape(text: object) -> str:
    """`text` with control, bidi and undecodable characters shown as visible escapes."""
    text = str(text)
    if bad_char(text) is None:  # nearly always: one scan, not one per character
        return text
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return "".join(named.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
                   if bad_char(c) else c for c in text)


def plain(name: str, limit: int = 120) -> str:
    """A name safe to show and to type: unsafe characters become '_', cut to `limit` bytes."""
    text = "".join("_" if bad_char(c) or c in "\\" else c for c in name) or "_"
    return text.encode()[:limit].decode(errors="ignore") or "_"


def stamp() -> str:
    """A UTC time for folder names: sortable, no characters any filesystem refuses."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def free_path(parent: Path, base: str) -> Path:
    """`parent/base`, or `base-2`, `-3`… when taken (a rename must never replace anything)."""
    path, n = parent / base, 1
    while os.path.lexists(path):
        n += 1
        path = parent / f"{base}-{n}"
    return path
