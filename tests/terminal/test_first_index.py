"""Issue 14, defect 9 in a real terminal: each test here starts with an empty index (its own
cache folder), so the app shows itself, says the build's progress, then shows the rows."""

from __future__ import annotations


def test_first_open_says_the_index_was_built_and_shows_the_rows(terminal) -> None:
    t = terminal(size=(120, 40))
    t.wait_for(lambda s: "Indexed 62 records" in s and "62 versions" in s
               and "churn-xgb:25" in s, timeout=15)  # the count comes before the rows
    t.press("q")
    assert t.exit_status() == 0
