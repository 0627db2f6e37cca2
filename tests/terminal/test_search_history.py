"""Issue 14's search history in a real terminal: up and down in the search bar."""

from __future__ import annotations


def bar(screen: str) -> str:
    """The search bar's line: the third line of the screen."""
    return screen.splitlines()[2]


def searching(screen: str) -> bool:
    """The search bar has the focus: the table's own keys (space Mark) left the footer. A
    settled screen alone does not say so: a refresh of the rows can settle first."""
    return "Mark" not in screen.splitlines()[-1]


def test_up_and_down_walk_the_searches_run_on_this_store(terminal) -> None:
    t = terminal(size=(80, 24))
    t.wait_for(lambda s: "62 versions" in s and "churn-xgb:25" in s, timeout=15)
    assert not searching(t.screen())  # the table has the focus: its keys are in the footer
    for query in ("churn", "model:vit-base"):
        t.press_and_settle("/")
        t.wait_for(searching)
        t.press("C-u")  # once the bar is empty, the keys reach it (not the table's bindings)
        t.wait_for(lambda s: "search: words" in bar(s))  # the placeholder
        t.type(query)
        t.wait_for(lambda s, q=query: q in bar(s))
        t.press("Enter")
        t.wait_for(lambda s, q=query: q in bar(s) and "versions" in s)
        t.wait_stable()  # the results drawn: the next / is the only change
    t.press_and_settle("/")
    t.wait_for(searching)
    t.press("C-u")
    t.wait_for(lambda s: "model:vit-base" not in bar(s))
    t.press("Up")
    t.wait_for(lambda s: "model:vit-base" in bar(s))
    t.press("Up")
    t.wait_for(lambda s: "churn" in bar(s) and "vit-base" not in bar(s))
    t.press_and_settle("Escape")  # the table has the focus again: q reaches the screen
    t.press("q")
    assert t.exit_status() == 0
