"""Printing stored strings safely: nothing a drop wrote may reach the terminal as a control
sequence (ESC, CSI, OSC 52 clipboard writes, C1 controls, bidi overrides)."""

from __future__ import annotations

import json
import sys
from typing import Any

from modelyard.app.safe_text import human_size, printable
from modelyard.store.names import is_unsafe
from modelyard.store.versions.card import json_numbers

__all__ = ["dumps_json", "emit", "emit_json", "human_size", "number", "safe", "table"]



def safe(value: Any, *, multiline: bool = False) -> str:
    """Text with every control or bidi character shown as a visible escape."""
    return printable(value, multiline=multiline)


def dumps_json(data: Any) -> str:
    """JSON that round-trips every string exactly but holds no raw control characters:
    C0 is escaped by json itself (a raw newline is its indentation); DEL, C1 and bidi
    characters are escaped here."""
    text = json.dumps(json_numbers(data), indent=2, sort_keys=True, ensure_ascii=False,
                      default=str)
    return "".join(_json_escape(ch) if ch != "\n" and is_unsafe(ch) else ch for ch in text)


def _json_escape(ch: str) -> str:
    """`\\uXXXX`; above U+FFFF a UTF-16 surrogate pair, as JSON spells it."""
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def emit_json(data: Any) -> None:
    sys.stdout.write(dumps_json(data) + "\n")


def emit(line: str = "") -> None:
    """Write one already-safe line."""
    sys.stdout.write(line + "\n")


def number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return safe(value)


def table(headers: list[str], rows: list[list[str]], *, max_width: int = 40) -> list[str]:
    """A plain aligned text table; cells are already safe; long cells are cut with '…'."""
    cut = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cut]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in cut:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return lines
