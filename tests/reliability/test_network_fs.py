"""Another filesystem: the core concurrency and watcher tests once more on a store reached
through sshfs (a FUSE network filesystem) mounted from an sshd on a loopback port. There
inotify sees nothing other writers do, so this tests polling, link-based claims of version
and event numbers, and rename-based claims of drops the way NFS users meet them.

Needs root, /dev/fuse, sshfs and sshd (`apt-get install -y openssh-server sshfs`); skipped
with the reason when any is missing. The sshd and the mount are this test's own: started
with a fresh host key and authorized key, stopped and unmounted in teardown.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_kit import ACTOR, PRODUCERS, WRITER, run, tar_bytes, visible, wait_for, with_env
from sshfs_mount import sshfs_mount  # noqa: F401, F811  (the module-scoped mount fixture)

from modelyard.store import Store
from modelyard.store.disk.fskind import is_network_fs

from helpers import write_manifest_folder

pytestmark = pytest.mark.reliability

@pytest.fixture
def remote(sshfs_mount: tuple[Path, Path], request) -> tuple[Path, Path]:  # noqa: F811
    """A fresh store for one test: (its folder on the server, the same through sshfs)."""
    served, mount = sshfs_mount
    name = request.node.name[:40]
    Store.init(mount / name).close()
    return served / name, mount / name


def test_the_mount_is_a_network_filesystem(remote: tuple[Path, Path]) -> None:
    assert is_network_fs(remote[1]) and not is_network_fs(remote[0])


def test_writers_and_alias_movers_race_through_sshfs(remote: tuple[Path, Path]) -> None:
    _, root = remote
    writers = [subprocess.Popen([sys.executable, str(WRITER), str(root), "racer", "15", tag])
               for tag in ("a", "b")]
    assert [w.wait(120) for w in writers] == [0, 0]
    movers = [subprocess.Popen([sys.executable, str(ACTOR), "alias", str(root), "racer",
                                "champion", str(seed), "10"], stdout=subprocess.PIPE, text=True)
              for seed in (1, 2)]
    events = [json.loads(line) for m in movers
              for line in m.communicate(timeout=120)[0].splitlines()]
    with Store.open(root) as store:
        assert sorted(v.number for v in store.versions("racer")) == list(range(1, 31))
        assert sorted(e["seq"] for e in events) == list(range(1, 21))
        assert store.get("racer@champion").number == max(events, key=lambda e: e["seq"])[
            "version"]
        assert store.fsck(read_data=True).clean


def test_two_polling_watchers_ingest_each_drop_once(remote: tuple[Path, Path]) -> None:
    served, root = remote
    watchers = [subprocess.Popen([sys.executable, "-u", str(PRODUCERS), "watch", str(root),
                                  "--quiet", "1", "--poll", "0.5"], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        drops = served / "drops"  # written on the server: no inotify event reaches the mount
        for i in range(6):
            hidden = write_manifest_folder(drops / f".n{i}", model=f"net{i}", params={"i": i})
            if i % 2:
                (hidden / "COMPLETE").write_bytes(b"")
            os.rename(hidden, drops / f"n{i}")
        packed = write_manifest_folder(served.parent / "packed-src", model="netpacked")
        (drops / "packed.tar.gz").write_bytes(tar_bytes(
            [(f"packed/{p.name}", p.read_bytes()) for p in sorted(packed.iterdir())]))
        started = time.monotonic()
        wait_for(lambda: len(visible(drops / ".ingested")) == 7, 90, "seven drops ingested")
        took = time.monotonic() - started
    finally:
        for w in watchers:
            w.send_signal(signal.SIGTERM)
        lines = [line for w in watchers for line in w.communicate(timeout=60)[0].splitlines()]
    assert sum("polling" in line for line in lines if line.startswith("watching")) == 2
    ingested = sorted(line for line in lines if line.startswith("ingested"))
    assert ingested == sorted([f"ingested n{i} as net{i}:1" for i in range(6)]
                              + ["ingested packed.tar.gz as netpacked:1"]), lines
    assert os.listdir(drops / ".claims") == [] and visible(drops) == []
    with Store.open(root) as store:
        assert len(store.search("")) == 7 and store.fsck(read_data=True).clean
    print(f"seven drops through sshfs in {took:.1f}s")


def test_a_watcher_killed_holding_a_claim_on_sshfs(remote: tuple[Path, Path]) -> None:
    served, root = remote
    (write_manifest_folder(served / "drops" / "held", model="held") / "COMPLETE").write_bytes(
        b"")
    crashed = run(PRODUCERS, "watch", root, "--once", "--quiet", "0",
                  env=with_env(MODELYARD_CRASH_AT="record.linked"))
    assert crashed.returncode == -signal.SIGKILL
    assert len(os.listdir(served / "drops" / ".claims")) == 1
    again = run(PRODUCERS, "watch", root, "--once", "--quiet", "0")
    assert again.returncode == 0 and "ingested held as held:1" in again.stdout, again.stdout
    with Store.open(root) as store:
        assert [v.ref for v in store.search("")] == ["held:1"]
        assert store.fsck(read_data=True).clean
