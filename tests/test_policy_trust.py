"""Whose hooks run: the real owner of the policy file (from stat) must be the caller or be
trusted in the caller's own config; hooks see an allow-listed environment only."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.policy import files

PRINT_ENV = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]
NOBODY = 65534


def _runs(store: Store) -> list[dict]:
    return [e.data for e in store.history("m") if e.type == "hook.ran"]


@pytest.fixture
def hooked(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    store.add_version("m", metrics={"a": 1.0})
    store.set_policy({"rules": {}, "hooks": [
        {"name": "env", "event": "alias.set", "command": PRINT_ENV}]})
    store._policy_ctx.cache.clear()  # read back from the file, as another process would
    return store


def test_own_policy_runs_with_an_allow_listed_environment(hooked: Store,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cret")
    monkeypatch.setenv("LC_TIME", "C")
    hooked.set_alias("m:1", "champion")
    [run] = _runs(hooked)
    env = json.loads(run["stdout"])
    assert run["ok"] and "AWS_SECRET_ACCESS_KEY" not in env and env["LC_TIME"] == "C"
    assert env["MODELYARD_ALIAS"] == "champion" and env["MODELYARD_MODEL"] == "m"
    assert run["author"]["uid"] == os.geteuid()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another owner needs root")
@pytest.mark.parametrize("config_name, text", [
    ("config.toml", 'trusted_hook_authors = ["nobody"]\n'),
    ("config.json", '{"trusted_hook_authors": ["65534"]}'),
    ("config.yaml", "trusted_hook_authors: [nobody]\n"),
])
def test_another_owner_s_hooks_run_only_once_trusted(hooked: Store, tmp_path: Path,
                                                     config_name: str, text: str) -> None:
    os.chown(files.policy_path(hooked.root, 1), NOBODY, -1)
    hooked._policy_ctx.cache.clear()
    hooked.set_alias("m:1", "champion")
    [skipped] = _runs(hooked)
    assert skipped["skipped"] and "written by nobody" in skipped["reason"]
    config = tmp_path / "xdg" / "modelyard" / config_name
    config.parent.mkdir(parents=True)
    config.write_text(text)
    hooked.set_alias("m:1", "staging")
    assert _runs(hooked)[-1]["ok"]


def test_a_policy_file_others_can_write_is_never_trusted(hooked: Store) -> None:
    os.chmod(files.policy_path(hooked.root, 1), 0o664)
    hooked._policy_ctx.cache.clear()
    hooked.set_alias("m:1", "champion")
    [skipped] = _runs(hooked)
    assert skipped["skipped"] and "other than its owner can write" in skipped["reason"]


def test_a_policy_file_that_is_a_symlink_is_not_read(hooked: Store, tmp_path: Path) -> None:
    path = files.policy_path(hooked.root, 2)
    target = tmp_path / "elsewhere.yaml"
    target.write_text(files.policy_path(hooked.root, 1).read_text().replace("policy: 1",
                                                                            "policy: 2"))
    path.symlink_to(target)
    hooked._policy_ctx.cache.clear()
    with pytest.raises(Exception, match="symbolic link"):
        hooked.policy()
