"""Issue 14, defect 3: at 80x24 the table is wider than its pane; its horizontal scrollbar
hid the cursor row, and enter opened a version not on screen."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("term", ["xterm-256color", "screen"])
def test_enter_opens_the_row_on_screen_after_moving_down(terminal, term: str) -> None:
    t = terminal(term=term, size=(80, 24))
    t.wait_for(lambda s: "62 versions" in s and "churn-xgb:25" in s, timeout=15)  # rows too
    t.press("g", *["j"] * 18)
    browse = t.wait_for(lambda s: "62 versions" in s)
    t.press("Enter")
    card = t.wait_for(lambda s: "Overview" in s and re.search(r"modelyard — (\S+:\d+)", s))
    ref = re.search(r"modelyard — (\S+:\d+)", card).group(1)
    t.press("Escape")
    browse = t.wait_for(lambda s: "62 versions" in s and "Overview" not in s)
    table_rows = browse.splitlines()[4:-3]  # below the search bar, above status and footer
    assert any(re.match(rf"\W*{re.escape(ref)}\s", line) for line in table_rows), browse
    t.press("q")
    assert t.exit_status() == 0
