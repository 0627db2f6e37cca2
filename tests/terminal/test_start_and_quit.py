"""Issue 14, defect 1: the app starts under NO_COLOR in a real terminal, and quits with 0."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("term", ["xterm-256color", "screen"])
def test_no_color_starts_shows_rows_and_quits_cleanly(terminal, term: str) -> None:
    t = terminal(term=term, size=(80, 24))
    screen = t.wait_for("62 versions", timeout=15)
    assert "churn-xgb:25" in screen and "Traceback" not in screen
    t.press("q")
    assert t.exit_status() == 0
