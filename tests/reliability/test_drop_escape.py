"""A drop never makes the watcher read, store or expose a file from outside it (issue 12.1).

alice drops a folder; bob runs the watcher; bob's canary (0600, in a 0700 folder of his
home) is what a hostile drop tries to get published. The watcher is paused at a fault point
(MODELYARD_PAUSE_AT), alice swaps part of her drop for a link to the canary (a folder, a
file, a deeper path component, a rename over a file, a hard link to it), the watcher
resumes. Whatever the moment, the canary's bytes are in no blob, its mode and link count
never change, and the drop is rejected or stored without it.
"""

from __future__ import annotations

import grp
import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
from real_users import (
    GROUP,
    User,
    group_store_dir,
    modelyard_command,
    popen_as,
    run_as,
    shared_tmp,
    users,
)

BIG = 3 << 20  # a.bin: three 1 MiB chunks, so the copy can be paused in the middle
MANIFEST = {"model": "escape", "files": ["a.bin", "sub/x", "nest/deep/y"]}


@pytest.fixture(scope="module")
def people() -> dict[str, User]:
    return users()


@pytest.fixture
def world(people: dict[str, User]):
    """A group store initialised by bob, bob's canary, and a place for pause flags."""
    bob = people["bob"]
    top = shared_tmp("myard-escape-")
    root = group_store_dir(top)
    run_as(bob, [*modelyard_command(), "init", str(root)], umask=0o002, check=True)
    secret = bob.home / f"secret-{top.name}"
    secret.mkdir(mode=0o700)
    canary = secret / "x"  # the name the drop's sub/x would have through the link
    canary.write_bytes(os.urandom(8192))
    (secret / "deep").mkdir(mode=0o700)
    os.link(canary, secret / "deep" / "y")  # nest -> secret makes nest/deep/y reach it too
    for path in (secret, secret / "deep", canary):
        os.chown(path, bob.uid, bob.gid)
    os.chmod(canary, 0o600)
    flags = top / "flags"
    flags.mkdir()
    os.chown(flags, bob.uid, bob.gid)
    yield root, canary, secret, flags
    shutil.rmtree(top, ignore_errors=True)
    shutil.rmtree(secret, ignore_errors=True)


def _drop(root: Path, alice: User, name: str) -> Path:
    """alice's drop: a big a.bin, placeholders sub/x and nest/deep/y, a manifest, COMPLETE."""
    folder = root / "drops" / name
    (folder / "sub").mkdir(parents=True)
    (folder / "nest" / "deep").mkdir(parents=True)
    (folder / "a.bin").write_bytes(os.urandom(BIG))
    (folder / "sub" / "x").write_bytes(b"placeholder x\n")
    (folder / "nest" / "deep" / "y").write_bytes(b"placeholder y\n")
    (folder / "modelyard.json").write_text(json.dumps(MANIFEST))
    (folder / "COMPLETE").write_bytes(b"")
    gid = grp.getgrnam(GROUP).gr_gid
    for dirpath, _, filenames in os.walk(folder):  # as alice with umask 002 writes it
        os.chmod(dirpath, 0o2775)  # the watcher (bob) can rename it into its claim
        for entry in [dirpath, *(os.path.join(dirpath, n) for n in filenames)]:
            os.chown(entry, alice.uid, gid)
    return folder


def _where_now(root: Path, name: str) -> Path:
    """The drop's folder now: in its claim once claimed, else where alice put it."""
    claimed = list((root / "drops" / ".claims").glob(f"*/{name}"))
    return claimed[0] if claimed else root / "drops" / name


def _swap(alice: User, folder: Path, kind: str, secret: Path, canary: Path) -> None:
    """alice replaces part of her drop so that its path leads to bob's canary."""
    if kind == "hardlink":  # as a machine without protected_hardlinks would allow her
        os.rename(folder / "sub" / "x", folder / ".x-old")
        os.link(canary, folder / "sub" / "x")
        return
    script = {
        "folder": f"mv sub .sub-old && ln -s {secret} sub",
        "file": f"mv a.bin .a-old && ln -s {canary} a.bin",
        "component": f"mv nest .nest-old && ln -s {secret.parent} nest && "
                     f"mkdir -p .unused",  # nest/deep/y now resolves under bob's home
        "rename": f"ln -s {canary} .evil && mv -fT .evil a.bin",
    }[kind]
    if kind == "component":  # nest -> a folder whose deep/y is the canary
        script = f"mv nest .nest-old && ln -s {secret} nest"
    done = run_as(alice, ["/bin/sh", "-c", script], cwd=str(folder))
    assert done.returncode == 0, done.stderr


def _watch_once(bob: User, root: Path, env: dict[str, str]) -> subprocess.Popen:
    return popen_as(bob, [*modelyard_command(), "--store", str(root), "watch", "--once",
                          "--quiet", "0"], umask=0o002, env=env)


def _wait_paused(flag: Path, watcher: subprocess.Popen, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while not flag.exists():
        if watcher.poll() is not None:
            out, err = watcher.communicate()
            pytest.fail(f"the watcher ended before pausing at {flag.name}: {out}{err}")
        if time.monotonic() > end:
            pytest.fail(f"the watcher never paused at {flag.name}")
        time.sleep(0.01)


def _blobs_hold(root: Path, data: bytes) -> list[str]:
    hits = []
    for dirpath, _, filenames in os.walk(root / "blobs"):
        for name in filenames:
            path = Path(dirpath) / name
            if data in path.read_bytes():
                hits.append(str(path))
    return hits


def _outcome(root: Path, name: str) -> str:
    """rejected (quarantined), ingested, or still waiting in the drop folder."""
    quarantined = [p for p in (root / "quarantine").glob(f"{name}-*")]
    if quarantined:
        return "rejected"
    if list((root / "drops" / ".ingested").glob(f"{name}-*")):
        return "ingested"
    return "waiting"


# stage to pause at, the swap made there
CASES = [
    ("before-claim", None, "folder"),
    ("after-claim-folder", "drop.inspected", "folder"),
    ("after-claim-file", "drop.inspected", "file"),
    ("after-claim-component", "drop.inspected", "component"),
    ("after-claim-hardlink", "drop.inspected", "hardlink"),
    ("hashing-folder", "blob.hashing", "folder"),
    ("hashing-component", "blob.hashing", "component"),
    ("hashed-file-rename", "blob.hashed", "rename"),
    ("hashed-folder", "blob.hashed", "folder"),
]


@pytest.mark.parametrize(("case", "stage", "kind"), CASES, ids=[c[0] for c in CASES])
def test_a_swapped_drop_never_publishes_the_watchers_file(world, people, case: str,
                                                          stage: str | None,
                                                          kind: str) -> None:
    root, canary, secret, flags = world
    alice, bob = people["alice"], people["bob"]
    secret_bytes, mode_before = canary.read_bytes(), os.stat(canary).st_mode
    links_before = os.stat(canary).st_nlink
    folder = _drop(root, alice, "escape")
    env = {"MODELYARD_PAUSE_DIR": str(flags)}
    if stage is None:
        _swap(alice, folder, kind, secret, canary)
    else:
        env["MODELYARD_PAUSE_AT"] = stage
    watcher = _watch_once(bob, root, env)
    if stage is not None:
        flag = flags / f"{stage}.paused"
        _wait_paused(flag, watcher)
        _swap(alice, _where_now(root, "escape"), kind, secret, canary)
        flag.unlink()
    out, err = watcher.communicate(timeout=120)
    assert watcher.returncode == 0, out + err
    if _outcome(root, "escape") == "waiting":  # given back (changed while stored): retried
        again = run_as(bob, [*modelyard_command(), "--store", str(root), "watch", "--once",
                             "--quiet", "0"], umask=0o002)
        assert again.returncode == 0, again.stdout + again.stderr
        out += again.stdout
    assert _blobs_hold(root, secret_bytes) == [], out
    now = os.stat(canary)
    assert (now.st_mode, now.st_uid) == (mode_before, bob.uid), "the canary's mode changed"
    assert now.st_nlink == links_before + (kind == "hardlink")  # only alice's own link
    assert stat.S_IMODE(now.st_mode) == 0o600
    outcome = _outcome(root, "escape")
    assert outcome in ("rejected", "ingested"), out
    if outcome == "ingested":  # then only what was inside the drop
        records = list((root / "models").glob("*/versions/*.json"))
        assert records, out
        for record in records:
            for entry in json.loads(record.read_text())["files"]:
                assert entry["size"] != len(secret_bytes) or entry["path"] == "a.bin"
    print(case, outcome, out.strip().splitlines()[-1:])
