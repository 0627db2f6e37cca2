"""Issue 14, defect 1: the app starts under NO_COLOR in a real terminal, and quits with 0."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
@pytest.mark.parametrize("term", ["xterm-256color", "screen"])
def test_no_color_starts_shows_rows_and_quits_cleanly(terminal, term: str, size) -> None:
    t = terminal(term=term, size=size)
    # the index is built first (each test has its own cache): wait for rows, not the count
    screen = t.wait_for(lambda s: "62 versions" in s and "churn-xgb:25" in s, timeout=15)
    assert t.seen() == f"{term} {size[1]} {size[0]}"  # the TERM and size the app ran with
    assert "churn-xgb:25" in screen and "Traceback" not in screen
    if size[0] >= 100:  # wide enough for the model list beside the table
        assert "All models" in screen
    t.press("q")
    assert t.exit_status() == 0
