"""Who made a change is told truly: the real owner of each record and event file (from
`stat`, set by the kernel) is indexed beside the user it claims, and a claim that is not
the owner shows in `show`, `ls --json` and `history` (text and JSON). Real users: bob
writes claiming to be alice."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from real_users import group_store_dir, modelyard_command, run_as, shared_tmp, users

pytestmark = pytest.mark.reliability


@pytest.fixture
def shared():
    folder = shared_tmp("myard-owner-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_spoofed_user_shows_beside_the_real_owner(shared) -> None:
    people = users()
    alice, bob = people["alice"], people["bob"]
    root = group_store_dir(shared) / "s"
    base = modelyard_command()
    run_as(alice, [*base, "--store", str(root), "init"], umask=0o002, check=True)
    env = {"MODELYARD_USER": "alice", "MODELYARD_HOST": "prod-1"}
    script = ("from modelyard.store import Store\n"
              f"s = Store.open({str(root)!r})\n"
              "v = s.add_version('spoof', files={'w.bin': b'x'})\n"
              "s.set_alias(v.ref, 'champion')\n")
    run_as(bob, [sys.executable, "-c", script], env=env, umask=0o002, check=True)
    shown = json.loads(run_as(alice, [*base, "--store", str(root), "show", "spoof:1",
                                             "--json"], check=True).stdout)
    assert shown["written_by"] == {"claimed": "alice", "owner": "myard-bob",
                                   "uid": bob.uid, "mismatch": True}
    text = run_as(alice, [*base, "--store", str(root), "show", "spoof:1"],
                  check=True).stdout
    assert "owned by myard-bob" in text
    history = json.loads(run_as(alice, [*base, "--store", str(root), "history", "spoof",
                                               "--json"], check=True).stdout)
    assert {e["file_owner"] for e in history} == {"myard-bob"}
    assert all(e["user"] == "alice" for e in history)
    text = run_as(alice, [*base, "--store", str(root), "history", "spoof"],
                  check=True).stdout
    assert "file owned by myard-bob!" in text
