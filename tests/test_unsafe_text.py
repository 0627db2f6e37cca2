"""One definition of the characters that never reach a terminal raw (store.names.is_unsafe):
names refuse exactly those, and the app, the CLI and JSON output escape exactly those."""

from __future__ import annotations

import json

from modelyard.app.cli.output import dumps_json, safe
from modelyard.app.safe_text import printable
from modelyard.store.names import BIDI, is_unsafe, unsafe_char

SAMPLE = [*range(0x3000), 0xFEFF, 0xFFF9, 0xE0001, 0x1D173, 0x10FFFD]


def test_every_layer_uses_the_one_definition() -> None:
    for ch in map(chr, SAMPLE):
        unsafe = is_unsafe(ch)
        assert (unsafe_char(f"name{ch}") == ch) == unsafe, hex(ord(ch))
        assert (printable(ch) != ch) == unsafe == (safe(ch) != ch), hex(ord(ch))
        assert (ch in dumps_json(ch)) == (not unsafe), hex(ord(ch))
        assert json.loads(dumps_json(ch)) == ch


def test_bidi_controls_are_unsafe() -> None:
    assert BIDI and all(is_unsafe(ch) for ch in BIDI)
    assert printable("a\u202eb\u2066c") == "a\\u202eb\\u2066c"


def test_escapes_above_the_basic_plane_are_unambiguous() -> None:
    tag = "\U000e0001"  # LANGUAGE TAG, a format character
    assert json.loads(dumps_json({"k": tag + "1"})) == {"k": tag + "1"}
    assert printable(tag + "1") == "\\U000e00011"


def test_the_ascii_shortcut_agrees_with_the_definition() -> None:
    """names.unsafe_char answers ASCII text with str.isprintable (in C); for every ASCII
    character, alone and inside text, it must name what is_unsafe (the definition) names."""
    for code in range(128):
        for text in (chr(code), f"ab{chr(code)}cd\x07", f"model-{chr(code)}"):
            assert unsafe_char(text) == next((c for c in text if is_unsafe(c)), None), code
