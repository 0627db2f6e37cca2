"""Issue 14, defect 4: a tab's keys work right after its number key, in a real terminal."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("term", ["xterm-256color", "screen"])
def test_card_tab_keys_work_right_after_the_number_key(terminal, term: str) -> None:
    t = terminal(term=term, size=(80, 24))
    # the index is built first (an empty cache): the count shows before the rows do
    t.wait_for(lambda s: "62 versions" in s and "churn-xgb:25" in s, timeout=15)
    t.press("Enter")
    t.wait_for("Overview")
    t.press("3")
    t.wait_for("log y: off")
    t.wait_stable()  # the focus moves just after the pane shows (a deferred call)
    t.press("l")
    t.wait_for("log y: on")
    t.press("o")
    t.wait_for("smoothing: 0.6")
    t.press("8")
    t.wait_for("y Copy YAML")  # the footer shows the tab's keys at once
    t.wait_stable()
    t.press("y")
    t.wait_for("Sent the")  # what was sent: an OSC 52 copy cannot be confirmed
    t.press("Escape")
    t.wait_for("62 versions")
    t.press("Space", "Space", "c")
    t.wait_for("Comparing 2 versions")
    t.press("3")
    t.wait_for(lambda s: "eval/auc" in plot_title(s))  # the first curve, plotted
    t.wait_stable()
    t.press("Down")
    t.wait_for(lambda s: "eval/logloss" in plot_title(s))  # down reached the curve list
    t.press("q")  # back from compare, as escape (lazygit and k9s do so)
    t.wait_for(lambda s: "62 versions" in s and "Comparing" not in s)
    t.press("q")
    assert t.exit_status() == 0


def plot_title(screen: str) -> str:
    """The compare plot's title: right of the curve list, the line above the plot's box
    (the curve keys' toolbar comes first)."""
    lines = [line[34:] for line in screen.splitlines()]
    box = next((i for i, line in enumerate(lines) if "┌" in line), None)
    return lines[box - 1] if box else ""
