"""`show` prints the policy state (violation too) and a mixed-script warning; `ls` flags a
violation as policy-failing (issue 14)."""

from __future__ import annotations

import re

from modelyard.store import Store

from helpers import run_cli
from policy_display_fixtures import MIXED, violation_store


def test_show_and_ls_say_violation_and_mixed_script(store: Store, cli_env: dict) -> None:
    store = violation_store(store)
    root = str(store.root)
    shown = run_cli(["--store", root, "show", "am:1"], cli_env)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout.decode()
    assert re.search(r"^ +policy +violation", text, re.M), text
    assert "@production was moved onto am:1" in text, text
    passing = run_cli(["--store", root, "show", "am:2"], cli_env).stdout.decode()
    assert re.search(r"^ +policy +passing", passing, re.M), passing
    mixed = run_cli(["--store", root, "show", f"{MIXED}:1"], cli_env).stdout.decode()
    assert "mixes scripts" in mixed, mixed
    listed = run_cli(["--store", root, "ls"], cli_env).stdout.decode()
    am1 = next(line for line in listed.splitlines() if line.startswith("am:1 "))
    assert "policy-failing" in am1, listed
    am2 = next(line for line in listed.splitlines() if line.startswith("am:2 "))
    assert "policy-failing" not in am2, listed
