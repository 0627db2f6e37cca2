"""A store shared by two users of one group: directories group-writable with the setgid bit,
blobs and records read-only, nothing world-writable whatever each user's umask; each user
adds versions (to one model too); neither can change, delete or replace what the other
wrote. The users are real uids: each is a child process that starts as root, loads what it
needs, then switches uid (tests/reliability/shared_user.py; a fork of pytest would not do:
polars' thread pool does not survive fork). Needs root; skipped elsewhere, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from reliability_kit import HERE, run, with_env

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(os.geteuid() != 0, reason="switching between two uids needs root"),
]

GROUP, ALICE, BOB, EVE = 45100, 45101, 45102, 45103  # Eve is in another group
USER = HERE / "shared_user.py"


def as_user(uid: int, gid: int, umask: int, *args: str) -> dict:
    """Run shared_user.py as `uid`:`gid` with `umask`; its JSON answer."""
    name = {ALICE: "alice", BOB: "bob", EVE: "eve"}[uid]
    cache = Path(args[1]).parent.parent / f"cache-{name}"
    out = run(USER, uid, gid, f"{umask:o}", *args, timeout=120,
              env=with_env(USER=name, LOGNAME=name, MODELYARD_USER=name,
                           MODELYARD_CACHE_DIR=str(cache)))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def shared_base() -> Path:
    """A folder every test uid can reach (pytest's own tmp folder is root's, mode 0700)."""
    base = Path(tempfile.mkdtemp(prefix="modelyard-shared-", dir="/tmp"))
    os.chmod(base, 0o755)
    for uid, name in ((ALICE, "alice"), (BOB, "bob"), (EVE, "eve")):
        (base / f"cache-{name}").mkdir()
        os.chown(base / f"cache-{name}", uid, GROUP if uid != EVE else EVE)
    home = base / "home"
    home.mkdir(mode=0o2775)
    os.chown(home, ALICE, GROUP)
    yield home
    shutil.rmtree(base)


def test_two_users_share_a_store_and_cannot_corrupt_each_other(shared_base: Path) -> None:
    root = str(shared_base / "store")
    alice = as_user(ALICE, GROUP, 0o022, "add", root, "alice-model", "alice")
    bob = as_user(BOB, GROUP, 0o077, "add", root, "bob-model", "bob")  # a private umask
    assert alice["refs"] == ["alice-model:1", "shared:1"] and bob["refs"] == [
        "bob-model:1", "shared:2"]

    seen_by_bob = as_user(BOB, GROUP, 0o077, "attack", root, alice["record"], alice["blob"])
    seen_by_alice = as_user(ALICE, GROUP, 0o022, "attack", root, bob["record"], bob["blob"])
    for seen in (seen_by_bob, seen_by_alice):
        assert seen["through"] == [] and seen["clean"], seen
        assert seen["versions"] == ["alice-model:1", "bob-model:1", "shared:1", "shared:2"]
    eve = as_user(EVE, EVE, 0o000, "attack", root, alice["record"], alice["blob"])
    assert eve["through"] == []  # outside the group: reads, never writes

    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            assert not st.st_mode & stat.S_IWOTH, path  # nothing world-writable
            assert st.st_gid == GROUP, path  # setgid kept the group everywhere
            if stat.S_ISDIR(st.st_mode):
                assert st.st_mode & 0o2070 == 0o2070, (path, oct(st.st_mode))
            elif "/blobs/" in path or "/versions/" in path or "/events/" in path:
                assert st.st_mode & 0o7777 in (0o444, 0o440), (path, oct(st.st_mode))
    sticky = [os.path.dirname(alice["record"]), os.path.dirname(alice["blob"])]
    assert all(os.stat(p).st_mode & stat.S_ISVTX for p in sticky)


def test_the_top_folders_are_sticky_too(shared_base: Path) -> None:
    root = shared_base / "store"
    as_user(ALICE, GROUP, 0o022, "add", str(root), "alice-model", "alice")
    for top in (root / "models", root / "blobs" / "sha256"):
        assert os.stat(top).st_mode & stat.S_ISVTX, top
