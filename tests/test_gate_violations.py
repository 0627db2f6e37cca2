"""Alias gates cannot be bypassed invisibly: a hand-written alias event that skips a gate, and
a policy that removes a gate set by someone who is not a policy admin, are flagged by the
index (`policy:violation`), `history`, `show --json`, `ls --json` and `fsck` (exit 1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from modelyard.store import Store
from modelyard.store.disk.layout import numbered_files
from modelyard.store.policy import AliasRefused, files

POLICY = {"rules": {"serving": {"require": ["signature"]}},
          "aliases": {"production": ["serving"]}}
SIG = {"signature": {"inputs": [{"name": "x", "type": "double"}]}}
NOBODY = 65534


def _cli(env: dict, store: Store, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "modelyard.app.cli.main", "--store",
                           str(store.root), *args], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def gated(store: Store) -> Store:
    store.set_policy(POLICY)
    store.add_version("am", metrics={"a": 1.0})  # no signature: fails serving
    store.add_version("am", metrics={"a": 2.0}, serving=SIG)
    return store


def _forge_alias_event(store: Store, model: str, version: int, alias: str) -> int:
    """What bob does by hand: the next event file, claiming to be alice on another host."""
    folder = store.layout.events_dir(model)
    seq = (numbered_files(folder) or [0])[-1] + 1
    event = {"seq": seq, "type": "alias.set", "model": model, "version": version,
             "at": "2026-01-01T00:00:00.000000Z", "user": "alice", "host": "prod-1",
             "data": {"alias": alias, "policy_violation": ""}}
    (folder / f"{seq}.json").write_text(json.dumps(event))
    return seq


def test_a_hand_written_move_past_a_gate_is_flagged_everywhere(gated: Store, cli_env: dict
                                                               ) -> None:
    with pytest.raises(AliasRefused):
        gated.set_alias("am:1", "production")
    gated.set_alias("am:2", "production")  # through the gate: fine
    seq = _forge_alias_event(gated, "am", 1, "production")

    store = Store.open(gated.root)  # another process's view
    assert store.get("am@production").number == 1  # the move happened; now it shows
    assert store.get("am:1").policy_state == "violation"
    assert store.get("am:2").policy_state == "passing"
    assert [v.ref for v in store.search("policy:violation")] == ["am:1"]
    [forged] = [e for e in store.history("am") if e.seq == seq]
    assert "@production was moved onto am:1 by event" in forged.data["policy_violation"]
    assert "serving: fail" in forged.data["policy_violation"]
    assert [v["ref"] for v in store.policy_violations()] == ["am:1"]
    assert not [e for e in store.history("am") if e.seq != seq
                and e.data.get("policy_violation")]

    fsck = _cli(cli_env, store, "fsck")
    assert fsck.returncode == 1 and "policy-violation: @production was moved onto am:1" \
        in fsck.stdout, fsck.stdout
    shown = json.loads(_cli(cli_env, store, "show", "am:1", "--json").stdout)
    assert shown["policy"] == "violation"
    listed = json.loads(_cli(cli_env, store, "ls", "--json", "policy:violation").stdout)
    assert [v["ref"] for v in listed] == ["am:1"]
    history = json.loads(_cli(cli_env, store, "history", "am", "--json").stdout)
    assert [e["seq"] for e in history if e["data"].get("policy_violation")] == [seq]
    text = _cli(cli_env, store, "history", "am").stdout
    assert "policy_violation=@production" in text

    store.reindex()  # a cache: rebuilt from the files, the same answer
    assert [v.ref for v in store.search("policy:violation")] == ["am:1"]
    store.close()


def test_forced_moves_with_a_reason_and_ungated_aliases_are_no_violation(gated: Store
                                                                         ) -> None:
    gated.set_alias("am:1", "production", force=True, reason="hotfix approved by carol")
    gated.set_alias("am:1", "staging")  # not gated
    _forge_alias_event(gated, "am", 1, "canary")  # not gated either
    store = Store.open(gated.root)
    assert store.policy_violations() == [] and store.search("policy:violation") == []
    assert store.fsck().clean
    store.close()


def test_a_move_claiming_an_older_policy_is_judged_by_the_newer_one(store: Store) -> None:
    store.set_policy({"rules": {"serving": {"require": ["signature"]}}})  # no gate yet
    store.add_version("am", metrics={"a": 1.0})
    store.set_policy(POLICY)  # gate added: every model re-checked under policy 2
    folder = store.layout.events_dir("am")
    seq = numbered_files(folder)[-1] + 1
    (folder / f"{seq}.json").write_text(json.dumps(
        {"seq": seq, "type": "alias.set", "model": "am", "version": 1, "at": "2026-01-01",
         "user": "alice", "host": "h", "data": {"alias": "production", "policy": 1}}))
    store.sync()
    [found] = store.policy_violations("am")
    assert "policy 2 gates @production on serving" in found["message"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a policy file to another owner needs "
                    "root")
def test_a_gate_weakening_policy_by_a_non_admin_is_flagged_and_keeps_the_gate(
        gated: Store, cli_env: dict) -> None:
    weaker = {"rules": POLICY["rules"]}  # production no longer gated
    written = gated.set_policy(weaker)
    os.chown(files.policy_path(gated.root, written.number), NOBODY, -1)  # as bob wrote it

    store = Store.open(gated.root)
    [change] = [c for c in store.policy_changes() if c["policy"] == written.number]
    assert change["flagged"] and change["owner"] == "nobody"
    assert change["weakened"] == ["removes the gate of @production"]
    store.set_alias("am:1", "production")  # the policy in force lets it through...
    assert store.get("am:1").policy_state == "violation"  # ...the gate it removed does not
    fsck = _cli(cli_env, store, "fsck")
    assert fsck.returncode == 1
    assert f"policy-violation: policy {written.number} weakens alias gates (removes the " \
           "gate of @production)" in fsck.stdout
    assert "owned by nobody, who is not a policy admin" in fsck.stdout
    history = _cli(cli_env, store, "policy", "history").stdout
    assert "VIOLATION: removes the gate" in history
    store.close()

    config = gated.layout.config_path  # now the team names nobody a policy admin
    data = json.loads(config.read_text())
    data["settings"]["policy_admins"] = ["root", "nobody"]
    os.chmod(config, 0o644)
    config.write_text(json.dumps(data))
    store = Store.open(gated.root)
    assert store.policy_violations() == []
    assert not [c for c in store.policy_changes() if c["flagged"]]
    assert store.get("am:1").policy_state != "violation"
    store.close()


def test_the_admin_s_own_weakening_is_not_flagged(gated: Store) -> None:
    gated.set_policy({"rules": POLICY["rules"]})  # by the owner of modelyard.json
    assert not [c for c in gated.policy_changes() if c["flagged"]]
    gated.set_alias("am:1", "production")
    assert gated.policy_violations() == []


def test_a_deleted_policy_file_is_named_by_fsck(gated: Store) -> None:
    """Deleting the policy lifts its gate; it must not do so invisibly."""
    gated.set_alias("am:2", "production")  # the event names policy 1
    assert gated.fsck().clean
    path = files.policy_path(gated.root, 1)
    os.chmod(path.parent, 0o755)
    path.unlink()
    report = gated.fsck()
    (problem,) = [p for p in report.problems if p.kind == "policy-missing"]
    assert "policy 1 is missing" in problem.message and "events name it" in problem.message
