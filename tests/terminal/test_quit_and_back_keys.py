"""Issue 14, defect 10 in a real terminal: ctrl+c quits, q on a card goes back (as in lazygit
and k9s) and on browse quits, and the footer shows ? and q at 80 columns."""

from __future__ import annotations


def test_footer_shows_help_and_quit_q_goes_back_from_a_card_then_quits(terminal) -> None:
    t = terminal(size=(80, 24))
    t.wait_for(lambda s: "62 versions" in s and "churn-xgb:25" in s, timeout=15)  # rows too
    t.wait_for(lambda s: "? Help" in s.rstrip("\n").splitlines()[-1]
               and "q Quit" in s.rstrip("\n").splitlines()[-1])
    t.press("Enter")
    t.wait_for("Overview")
    t.press("q")
    t.wait_for(lambda s: "62 versions" in s and "Overview" not in s)
    t.press("q")
    assert t.exit_status() == 0


def test_ctrl_c_quits(terminal) -> None:
    t = terminal(size=(80, 24))
    t.wait_for("62 versions", timeout=15)
    t.press("C-c")
    assert t.exit_status() == 0
