"""Making stored strings safe to show. Everything a drop wrote reaches the screen through
here: control characters (ESC, CSI, OSC 52, C1) and bidi overrides become visible escapes,
and the result is wrapped in a rich `Text`, which Textual never parses as markup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.store.names import is_unsafe

if TYPE_CHECKING:  # the CLI imports this module and must not pay for rich
    from rich.text import Text

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def printable(value: Any, *, multiline: bool = False) -> str:
    """The text with every control or bidi character replaced by a visible escape."""
    text = "" if value is None else str(value)
    if text.isprintable():  # no Cc, Cf (bidi among them), Zl or Zp: nothing to escape
        return text
    out = []
    for ch in text:
        if multiline and ch in "\n\t":
            out.append(ch if ch == "\n" else "    ")
        elif ch in _NAMED:
            out.append(_NAMED[ch])
        elif is_unsafe(ch):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
                       if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


def plain(value: Any, style: str = "", *, multiline: bool = False) -> Text:
    """A `Text` of a stored string: literal, styled only by us."""
    from rich.text import Text

    return Text(printable(value, multiline=multiline), style=style, no_wrap=not multiline)


def fmt_number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:
            return "nan"
        return f"{value:.4g}"
    return printable(value)


def human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return str(n)
