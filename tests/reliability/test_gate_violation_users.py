"""A group member who goes around an alias gate is seen doing it, as real users.

alice makes the store and gates `production`; bob is refused, then writes the alias event by
hand (claiming to be alice, on another host, at another date) and sets a policy without the
gate. Every view alice has of the store shows both: `fsck` exits 1, `history`, `show --json`
and `ls --json policy:violation` name the forged move, `policy history` the weakened gate.
Needs root and useradd; skipped elsewhere, saying why.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from real_users import User, group_store_dir, modelyard_command, run_as, shared_tmp, users

pytestmark = pytest.mark.reliability

ALICE_SETUP = """\
import sys
from modelyard.store import Store
store = Store.init(sys.argv[1])
store.add_version("am", metrics={"a": 1.0})  # no signature: fails the gate
store.set_policy({"rules": {"serving": {"require": ["signature"]}},
                  "aliases": {"production": ["serving"]}})
"""
BOB_FORGES = """\
import json, os, sys
folder = os.path.join(sys.argv[1], "models", "am", "events")
seq = max(int(n.split(".")[0]) for n in os.listdir(folder) if n.endswith(".json")) + 1
event = {"seq": seq, "type": "alias.set", "model": "am", "version": 1, "user": "myard-alice",
         "host": "prod-1", "at": "2026-01-01T00:00:00.000000Z", "data": {"alias": "production"}}
with open(os.path.join(folder, f"{seq}.json"), "x") as f:
    json.dump(event, f)
print(seq)
"""


@pytest.fixture
def team() -> dict[str, User]:
    return users()


@pytest.fixture
def shared() -> Path:
    folder = shared_tmp("myard-gates-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_member_s_bypass_of_a_gate_shows_to_everyone(team: dict[str, User],
                                                       shared: Path) -> None:
    alice, bob = team["alice"], team["bob"]
    store = group_store_dir(shared) / "s"
    my = [*modelyard_command(), "--store", str(store)]
    run_as(alice, [sys.executable, "-c", ALICE_SETUP, store], umask=0o002, check=True)

    refused = run_as(bob, [*my, "alias", "am:1", "production"], umask=0o002)
    assert refused.returncode != 0 and "requires passing serving" in refused.stderr
    seq = int(run_as(bob, [sys.executable, "-c", BOB_FORGES, store], umask=0o002,
                     check=True).stdout)
    weaker = shared / "weaker.yaml"
    weaker.write_text("rules: {serving: {require: [signature]}}\n")
    weaker.chmod(0o644)
    set_ = run_as(bob, [*my, "policy", "set", weaker], umask=0o002)
    assert set_.returncode == 0, set_.stderr
    assert "warning: it weakens alias gates (removes the gate of @production)" in set_.stdout

    fsck = run_as(alice, [*my, "fsck"], umask=0o002)
    assert fsck.returncode == 1, fsck.stdout + fsck.stderr
    assert "policy-violation: @production was moved onto am:1 by event " \
           f"{seq} (recorded as by myard-alice)" in fsck.stdout
    assert "policy-violation: policy 2 weakens alias gates" in fsck.stdout
    assert "owned by myard-bob, who is not a policy admin" in fsck.stdout

    history = json.loads(run_as(alice, [*my, "history", "am", "--json"], check=True).stdout)
    [flagged] = [e for e in history if e["data"].get("policy_violation")]
    assert flagged["seq"] == seq and flagged["user"] == "myard-alice"  # what it claims...
    assert "serving: fail" in flagged["data"]["policy_violation"]  # ...and what it is
    shown = json.loads(run_as(alice, [*my, "show", "am:1", "--json"], check=True).stdout)
    assert shown["policy"] == "violation" and shown["aliases"] == ["production"]
    listed = json.loads(run_as(alice, [*my, "ls", "--json", "policy:violation"],
                               check=True).stdout)
    assert [v["ref"] for v in listed] == ["am:1"]
    policies = json.loads(run_as(alice, [*my, "policy", "history", "--json"],
                                 check=True).stdout)
    assert [p["gate_change"]["flagged"] for p in policies] == [False, True]
    assert policies[1]["gate_change"]["owner"] == "myard-bob"
