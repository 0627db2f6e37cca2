"""A slow copy into a drop on sshfs is never stored half-written (issue 11.3).

sshfs keeps attributes in its own cache for 20 s (dcache_stat_timeout), longer than the
15 s quiet period: a producer writing a chunk every 2 s looked unchanged, and the watcher
stored part of the file. Measured here (sshfs 3.7.3, FUSE 3.14): after a write on the
server, `scandir` + `lstat` through the mount showed the old size for 20.8 s, while a new
`open` + `fstat` showed the new size within 1.0 s (the kernel's attr_timeout). The fix sees
a copy-style drop quiet through fresh opens before storing it.

Faithful but fast: the producer writes on the server side every 0.3 s while the watcher
reads through the mount with a 2 s quiet period; the test stats the drop through the mount
once so the cache holds the first chunk's attributes, exactly what a scan in the middle of
a slow copy leaves behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reliability_kit import wait_for
from sshfs_mount import sshfs_mount  # noqa: F401  (the module-scoped mount fixture)

from modelyard.store import Store

pytestmark = pytest.mark.reliability

CHUNK, CHUNKS, GAP = 64 * 1024, 16, 0.3
QUIET = 2.0


def _watch_once(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "modelyard.app.cli.main", "--store", str(root),
                           "watch", "--once", "--quiet", str(QUIET)], capture_output=True,
                          text=True, timeout=60)


def _producer(folder: Path, data: bytes, started: threading.Event) -> None:
    """A copy with no COMPLETE and no rename: the manifest, then the weights chunk by chunk."""
    folder.mkdir()
    (folder / "modelyard.json").write_text(json.dumps({"model": "slowpoke",
                                                       "files": ["big.bin"]}))
    with open(folder / "big.bin", "wb") as f:
        for i in range(CHUNKS):
            f.write(data[i * CHUNK:(i + 1) * CHUNK])
            f.flush()
            if i == 0:
                started.set()
            time.sleep(GAP)


def test_a_slow_copy_through_sshfs_is_stored_whole(sshfs_mount: tuple[Path, Path]) -> None:  # noqa: F811
    served, mount = sshfs_mount
    Store.init(served / "store").close()
    data = os.urandom(CHUNK * CHUNKS)
    started = threading.Event()
    producer = threading.Thread(target=_producer, daemon=True, args=(
        served / "store" / "drops" / "slow", data, started))
    producer.start()
    assert started.wait(10)
    seen = {e.name: e.stat(follow_symlinks=False) for e in
            os.scandir(mount / "store" / "drops" / "slow")}  # the cache now holds chunk 1
    cached = seen["big.bin"]
    assert cached.st_size == CHUNK
    wait_for(lambda: time.time() - cached.st_mtime > QUIET + 0.2, 10,
             "the cached attributes to look quiet")
    assert producer.is_alive()  # still copying
    early = _watch_once(mount / "store")
    assert early.returncode == 0, early.stderr
    assert producer.is_alive(), "the producer finished too soon for the test to mean anything"
    assert "ingested" not in early.stdout, early.stdout  # before: ingested slowpoke:1, partial
    assert "still being written" in early.stdout + early.stderr, early.stdout + early.stderr
    producer.join(30)
    deadline = time.monotonic() + 40
    while "ingested slow as slowpoke:1" not in (late := _watch_once(mount / "store")).stdout:
        assert time.monotonic() < deadline, late.stdout + late.stderr
        time.sleep(0.5)
    with Store.open(served / "store") as store:
        [version] = store.versions("slowpoke")
        [entry] = version.record["files"]
        assert entry["size"] == len(data)
        assert entry["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
