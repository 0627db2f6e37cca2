"""Hooks never run one user's commands as another who did not choose to trust them.

Real users (tests/reliability/real_users.py): alice sets a policy whose `alias.set` hook
prints who runs it and its whole environment; bob, with a secret in his environment, moves
an alias. The hook is skipped (and says why) until bob lists alice in his own config; then it
runs as bob with the allow-listed environment only. Root, as a watcher would run, is no
exception. Needs root and useradd; skipped elsewhere, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from real_users import User, group_store_dir, modelyard_command, run_as, shared_tmp, users

pytestmark = pytest.mark.reliability

SECRET = "AKIA-do-not-leak-7f3e"
ALLOWED = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR"}
# the hook: who am I, and everything in my environment, on stdout (kept in hook.ran)
SPY = ("import json, os, pwd; print(json.dumps({'user': pwd.getpwuid(os.geteuid()).pw_name,"
       " 'env': dict(os.environ)}))")
ALICE_SETUP = """\
import sys
from modelyard.store import Store
store = Store.init(sys.argv[1])
store.add_version("churn", metrics={"auc": 0.9})
store.set_policy({"rules": {}, "hooks": [
    {"name": "spy", "event": "alias.set", "command": [sys.executable, "-c", sys.argv[2]]}]})
"""


@pytest.fixture
def team() -> dict[str, User]:
    return users()


@pytest.fixture
def shared() -> Path:
    folder = shared_tmp("myard-hooks-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _config_dir(parent: Path, user: User) -> Path:
    """An XDG_CONFIG_HOME of the user's own (never the real home's config)."""
    folder = parent / f"config-{user.short}"
    folder.mkdir(mode=0o700)
    os.chown(folder, user.uid, user.gid)
    return folder


def _hook_runs(store: Path, env: dict[str, str], user: User) -> list[dict]:
    out = run_as(user, [*modelyard_command(), "--store", store, "history", "churn", "--json"],
                 env=env, check=True)
    return [e["data"] for e in json.loads(out.stdout) if e["type"] == "hook.ran"]


def test_a_hook_runs_only_for_users_who_trust_its_author(team: dict[str, User],
                                                         shared: Path) -> None:
    alice, bob = team["alice"], team["bob"]
    store = group_store_dir(shared) / "s"
    run_as(alice, [sys.executable, "-c", ALICE_SETUP, store, SPY], umask=0o002, check=True)
    bob_config = _config_dir(shared, bob)
    env = {"XDG_CONFIG_HOME": str(bob_config), "AWS_SECRET_ACCESS_KEY": SECRET,
           "LC_ALL": "C.UTF-8", "GITHUB_TOKEN": SECRET}
    my = modelyard_command()

    moved = run_as(bob, [*my, "--store", store, "alias", "churn:1", "production"],
                   umask=0o002, env=env)
    assert moved.returncode == 0, moved.stderr
    assert "skipped hook spy" in moved.stderr and "written by myard-alice" in moved.stderr
    assert "trusted_hook_authors" in moved.stderr  # and how to change that
    [skipped] = _hook_runs(store, env, bob)
    assert skipped["skipped"] is True and not skipped["ok"] and skipped["stdout"] == ""
    assert "written by myard-alice" in skipped["reason"]
    assert skipped["author"]["name"] == "myard-alice"

    (bob_config / "modelyard").mkdir()
    (bob_config / "modelyard" / "config.toml").write_text(
        'trusted_hook_authors = ["myard-alice"]\n')
    os.chown(bob_config / "modelyard", bob.uid, bob.gid)
    moved = run_as(bob, [*my, "--store", store, "alias", "churn:1", "staging"],
                   umask=0o002, env=env)
    assert moved.returncode == 0 and "skipped" not in moved.stderr, moved.stderr
    ran = _hook_runs(store, env, bob)[-1]
    assert ran["ok"] and "skipped" not in ran, ran
    seen = json.loads(ran["stdout"])
    assert seen["user"] == "myard-bob"  # it runs as the one who trusted it
    extra = {k for k in seen["env"] if k not in ALLOWED and not k.startswith(("LC_",
                                                                            "MODELYARD_"))}
    assert extra == set(), extra
    assert SECRET not in ran["stdout"]
    assert seen["env"]["MODELYARD_ALIAS"] == "staging" and seen["env"]["LC_ALL"] == "C.UTF-8"
    assert seen["env"]["MODELYARD_REF"] == "churn:1" and seen["env"]["HOME"] == str(bob.home)


def test_root_as_a_watcher_does_not_run_a_member_s_hook(team: dict[str, User],
                                                         shared: Path) -> None:
    alice = team["alice"]
    store = group_store_dir(shared) / "s"
    run_as(alice, [sys.executable, "-c", ALICE_SETUP, store, SPY], umask=0o002, check=True)
    root_config = shared / "config-root"
    root_config.mkdir()
    env = {**os.environ, "XDG_CONFIG_HOME": str(root_config), "HOME": str(shared),
           "MODELYARD_CACHE_DIR": str(shared / "cache-root")}
    env.pop("MODELYARD_NO_HOOKS", None)
    import subprocess

    moved = subprocess.run([*modelyard_command(), "--store", str(store), "alias", "churn:1",
                            "production"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert moved.returncode == 0, moved.stderr
    assert "skipped hook spy" in moved.stderr and "you (root)" in moved.stderr
