"""Hooks: real processes that get the event as JSON on stdin, with their outcome recorded in
the history; a failing, hanging or missing hook never breaks the store or the command."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from modelyard.store import Store

RECORDER = """\
import json, os, sys
event = json.load(sys.stdin)
event["env"] = {k: os.environ.get(k) for k in
                ("MODELYARD_NO_HOOKS", "MODELYARD_STORE", "MODELYARD_HOOK", "MODELYARD_HOOK_EVENT")}
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(event) + "\\n")
print("deployed", event["ref"])
"""


def _recorder(tmp_path: Path) -> tuple[list[str], Path]:
    script = tmp_path / "record_hook.py"
    script.write_text(RECORDER)
    return [sys.executable, str(script), str(tmp_path / "got.jsonl")], tmp_path / "got.jsonl"


def _got(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _hook_runs(store: Store, model: str) -> list:
    return [e for e in store.history(model) if e.type == "hook.ran"]


def test_a_hook_receives_an_alias_move(store: Store, tmp_path: Path) -> None:
    command, out = _recorder(tmp_path)
    store.set_policy({"rules": {}, "hooks": [
        {"name": "deploy", "on": "alias.set", "alias": "prod*", "command": command}]})
    store.add_version("churn", metrics={"auc": 0.9})
    store.add_version("churn", metrics={"auc": 0.91})
    store.set_alias("churn:1", "production")
    moved = store.set_alias("churn:2", "production")
    store.set_alias("churn:2", "staging")  # does not match the hook's alias glob
    got = _got(out)
    assert [(g["ref"], g["alias"], g["previous"]) for g in got] == \
        [("churn:1", "production", None), ("churn:2", "production", 1)]
    last = got[-1]
    assert last["trigger"] == "alias.set" and last["hook"] == "deploy"
    assert last["event"] == moved.to_json() and last["store"] == str(store.root)
    assert last["env"] == {"MODELYARD_NO_HOOKS": "1", "MODELYARD_STORE": str(store.root),
                           "MODELYARD_HOOK": "deploy", "MODELYARD_HOOK_EVENT": "alias.set"}
    runs = _hook_runs(store, "churn")
    assert len(runs) == 2 and runs[-1].version == 2
    data = runs[-1].data
    assert data["ok"] and data["exit_code"] == 0 and not data["timed_out"]
    assert data["cause"] == {"type": "alias.set", "seq": moved.seq, "alias": "production"}
    assert data["stdout"] == "deployed churn:2\n" and data["command"] == command


def test_a_failing_hook_is_recorded_and_changes_nothing_else(store: Store) -> None:
    store.set_policy({"hooks": [{"event": "alias.set", "command": [
        sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"]}]})
    store.add_version("m", metrics={"a": 1.0})
    store.set_alias("m:1", "champion")
    assert store.get("m@champion").number == 1
    (run,) = _hook_runs(store, "m")
    assert not run.data["ok"] and run.data["exit_code"] == 3 and run.data["stderr"] == "boom"
    assert store.fsck().clean


def test_a_hanging_hook_is_killed_at_its_timeout(store: Store, tmp_path: Path) -> None:
    marker = tmp_path / "grandchild-survived"
    script = tmp_path / "hang.py"
    script.write_text("import subprocess, sys, time\n"
                      "subprocess.Popen([sys.executable, '-c', 'import sys, time; "
                      "time.sleep(3); open(sys.argv[1], \"w\")', sys.argv[1]])\n"
                      "time.sleep(60)\n")
    store.set_policy({"hooks": [{"event": "alias.set", "timeout": 0.5,
                                 "command": [sys.executable, str(script), str(marker)]}]})
    store.add_version("m", metrics={"a": 1.0})
    start = time.monotonic()
    store.set_alias("m:1", "champion")
    assert time.monotonic() - start < 10
    (run,) = _hook_runs(store, "m")
    assert run.data["timed_out"] and not run.data["ok"]
    time.sleep(3.5)
    assert not marker.exists()  # the whole process group went


def test_a_missing_program_is_recorded(store: Store) -> None:
    store.set_policy({"hooks": [{"event": "alias.removed",
                                 "command": ["/nonexistent/modelyard-hook"]}]})
    store.add_version("m", metrics={"a": 1.0})
    store.set_alias("m:1", "champion")
    store.remove_alias("m", "champion")
    (run,) = _hook_runs(store, "m")
    assert run.version == 1 and run.data["trigger"] == "alias.removed"
    assert run.data["error"].startswith("could not start /nonexistent/modelyard-hook")


def test_rule_hooks_fire_when_a_verdict_changes(store: Store, tmp_path: Path) -> None:
    command, out = _recorder(tmp_path)
    store.set_policy({"rules": {"serving": {"metrics": ["auc"]}},
                      "hooks": [{"event": "rule.passed", "rule": "serving", "command": command},
                                {"event": "rule.failed", "command": command}]})
    store.add_version("m", metrics={"auc": 0.9})  # passes at ingest
    store.add_version("m", metrics={"acc": 0.9})  # fails at ingest
    store.check("m:1")  # same verdict: no hook
    store.set_policy({"rules": {"serving": {"metrics": ["acc"]}},
                      "hooks": [{"event": "rule.passed", "rule": "serving", "command": command},
                                {"event": "rule.failed", "command": command}]})
    got = [(g["trigger"], g["ref"], g["rule"], g["status"]) for g in _got(out)]
    assert got == [("rule.passed", "m:1", "serving", "pass"),
                   ("rule.failed", "m:2", "serving", "fail"),
                   ("rule.failed", "m:1", "serving", "fail"),
                   ("rule.passed", "m:2", "serving", "pass")]
    assert len(_hook_runs(store, "m")) == 4


def test_hooks_from_the_store_config_and_switching_hooks_off(store: Store, tmp_path: Path,
                                                            monkeypatch) -> None:
    command, out = _recorder(tmp_path)
    store.config["settings"]["hooks"] = [{"event": "alias.set", "command": command}]
    assert [(h.event, h.source) for h in store.hooks()] == [("alias.set", "config")]
    store.add_version("m", metrics={"a": 1.0})
    store.set_alias("m:1", "champion")
    assert len(_got(out)) == 1
    monkeypatch.setenv("MODELYARD_NO_HOOKS", "1")
    store.set_alias("m:1", "staging")
    assert len(_got(out)) == 1 and len(_hook_runs(store, "m")) == 1


@pytest.mark.parametrize("bad", [[{"event": "alias.set"}], "not a list"])
def test_bad_config_hooks_are_ignored_not_fatal(store: Store, bad) -> None:
    store.config["settings"]["hooks"] = bad
    store.add_version("m", metrics={"a": 1.0})
    store.set_alias("m:1", "champion")
    assert store.hooks() == []
