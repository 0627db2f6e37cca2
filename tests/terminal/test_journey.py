"""Issue 14, defects 2 and 5 in a real terminal: search, the gated-alias refusal lists every
failing rule and reason at 80x24, escape leaves the alias alone, the metric picker applies
with enter, and q quits with 0."""

from __future__ import annotations

import time

import pytest


@pytest.mark.parametrize("term", ["xterm-256color", "screen"])
def test_search_gated_alias_refusal_and_metric_picker(terminal, term: str) -> None:
    t = terminal(term=term, size=(80, 24))
    t.wait_for("62 versions", timeout=15)
    t.press_and_settle("/")  # the search bar has focus (typed-ahead keys went to the table)
    t.type("model:churn-xgb and metrics.logloss > 0.49 and metrics.auc < 0.815")
    t.press("Enter")
    t.wait_for("1 versions")
    t.press("a")
    t.wait_for("Set or move an alias")
    t.type("production")
    t.press("Enter")
    screen = t.wait_for("@production is gated")
    flat = " ".join(screen.split())
    for needle in ("✗ serving", "model.pkl is pickle", "✗ quality",
                   "metrics.auc >= 0.82 is not met", "metrics.logloss < 0.48 is not met",
                   "Force it anyway?", "OK", "Cancel"):
        assert needle in flat, (needle, screen)
    t.press("Escape")
    t.wait_for(lambda s: "1 versions" in s and "is gated" not in s)
    assert "@production" not in t.screen().split("churn-xgb:9", 1)[1].splitlines()[0]
    before = t.press_and_settle("M")  # keys typed before the list has focus are lost
    assert "enter to" in t.screen()
    t.press("Space")  # toggles the first metric (accuracy, shown) off
    deadline = time.monotonic() + 5
    while t.styled_screen() == before and time.monotonic() < deadline:
        time.sleep(0.05)
    t.press("Enter")  # applies: the dialog used to stay open, the item toggled back
    t.wait_for(lambda s: "enter to" not in s and "1 versions" in s)
    header = next(line for line in t.screen().splitlines() if "VERSION" in line)
    assert "accuracy" not in header, header
    t.press("q")
    assert t.exit_status() == 0
