"""Issue 14 in a real terminal: the param-versus-metric views (p on browse) and a stored
file handed to $PAGER (p on the card's Files tab), with real key strokes."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_scatter_and_parallel_views_from_browse(terminal, size) -> None:
    t = terminal(size=size)  # NO_COLOR=1: the views must read without colour
    t.wait_for(lambda s: "62 versions" in s and "churn-xgb:25" in s, timeout=30)
    t.press("p")
    # one predicate for all: a capture may catch a frame half drawn
    screen = t.wait_for(lambda s: "versions plotted" in s and
                        "accuracy against learning_rate" in s)
    plotted = int(re.search(r"(\d+) versions plotted", screen).group(1))
    assert plotted > 0 and "62 listed versions" in screen
    assert "•" in screen or "+" in screen  # markers, not colour alone
    t.press("v")
    t.wait_for(lambda s: "parallel coordinates" in s and "lines drawn" in s and
               "best third" in s)
    t.wait_stable()
    t.press("y")  # the metric picker
    t.wait_for("The metric (enter to choose")
    t.press("Escape")
    t.wait_for(lambda s: "The metric" not in s)
    t.press("q")  # back to browse, as escape
    t.wait_for(lambda s: "62 versions" in s and "lines drawn" not in s)
    t.press("q")
    assert t.exit_status() == 0


def test_p_on_the_files_tab_hands_the_terminal_to_the_pager(terminal, tmp_path,
                                                            monkeypatch) -> None:
    out = tmp_path / "paged.txt"
    script = tmp_path / "pager.py"
    # prints a line to the terminal (so the test sees the app handed it over), waits for
    # enter like a pager, then records its argv and the file's first line, and exits
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "print('FAKE PAGER ON SCREEN', flush=True)\n"
        "sys.stdin.readline()\n"
        "first = open(sys.argv[-1], encoding='utf-8', errors='replace').readline()\n"
        f"open({str(out)!r}, 'w').write(repr(sys.argv) + '\\n' + first)\n")
    script.chmod(0o755)
    monkeypatch.setenv("PAGER", str(script))
    t = terminal(size=(80, 24))
    t.wait_for(lambda s: "62 versions" in s and "churn-xgb:25" in s, timeout=30)
    t.press_and_settle("/")
    t.type("model:vit-food101")
    t.press("Enter")
    t.wait_for(lambda s: "vit-food101:16" in s and "churn-xgb:25" not in s)
    t.wait_stable()
    t.press("Enter")
    t.wait_for("Overview")
    t.press("7")
    t.wait_for("config.json")
    t.wait_stable()
    t.press("p")
    t.wait_for("FAKE PAGER ON SCREEN")  # the app is suspended: the pager has the terminal
    t.press("Enter")
    t.wait_for(lambda s: "config.json" in s and "FAKE PAGER" not in s)  # the app is back
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    argv_line, first = out.read_text().split("\n", 1)
    argv = eval(argv_line)  # noqa: S307 - the repr written by our own script
    assert argv[0] == str(script) and len(argv) == 2
    assert "/blobs/sha256/" in argv[1] and Path(argv[1]).name != "config.json"
    assert first.startswith("{")  # config.json's first line
    t.press("q")  # back from the card
    t.wait_for(lambda s: "sorted by" in s and "Overview" not in s)
    t.press("q")
    assert t.exit_status() == 0
