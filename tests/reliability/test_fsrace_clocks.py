"""Liveness of claims and temp files must not depend on hosts' clocks agreeing.

Real `faketime` (Debian's package) sets one process's clock ahead or behind, as another
host's would be; file mtimes still come from the filesystem's clock. A second "host" is a
process in its own UTS namespace (`unshare -u`) with another hostname, so its claims and
temp files are judged by their heartbeat alone, as another machine's are.

- A watcher 11 minutes ahead once stole a live claim and ingested the drop itself; a fsck
  2 hours ahead deleted a live temp blob. Both must leave live work alone.
- A claim or temp file whose writer was SIGKILLed must still be cleaned up, even by a host
  whose clock runs an hour behind (it once never was).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_kit import wait_for
from sshfs_mount import sshfs_mount  # noqa: F401  (the module-scoped mount fixture)

from modelyard.store import Store

from helpers import write_manifest_folder

pytestmark = pytest.mark.reliability

MODELYARD = Path(sys.executable).with_name("modelyard")
OTHER_HOST = "otherhost"

# Holds a claim on a drop (or a temp blob) the way a watcher (or writer) does, prints its
# path, and keeps it until stdin closes: the live work of another host.
HOLDER = """
import sys, time
from pathlib import Path
from modelyard.store.disk import atomic
from modelyard.store.ingest.claims import claim, heartbeat
what, path = sys.argv[1], Path(sys.argv[2])
if what == "claim":
    held = claim(path)
    with heartbeat(held.dir):
        print(held.dir, flush=True)
        sys.stdin.read()
else:
    fd, tmp = atomic.create_temp(path)
    atomic.write_all(fd, b"half a blob", path)
    print(tmp, flush=True)
    sys.stdin.read()
"""

RECOVER = """
import sys, time
from modelyard.store import Store
from modelyard.store.ingest.claims import recover_claims
with Store.open(sys.argv[1]) as store:
    deadline = time.monotonic() + float(sys.argv[3])
    while time.monotonic() < deadline:
        returned = recover_claims(store, timeout=float(sys.argv[2]))
        if returned:
            print("returned", *[p.name for p in returned])
            break
        time.sleep(0.1)
"""

FSCK = """
import sys
from modelyard.store import Store
with Store.open(sys.argv[1]) as store:
    print("removed", *store.fsck(temp_age=float(sys.argv[2])).stale_temps_removed)
"""


def _missing() -> str | None:
    if shutil.which("faketime") is None:
        return "faketime is not installed (apt-get install -y faketime)"
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare for a second hostname"
    return None


pytestmark = [pytestmark, pytest.mark.skipif(_missing() is not None,
                                             reason=str(_missing()))]


def _skewed(offset: str, argv: list[str], **kw) -> subprocess.CompletedProcess:
    """Run `argv` with its clock moved by `offset` (faketime's syntax: '+11m', '-1h')."""
    return subprocess.run(["faketime", "-f", offset, *argv], capture_output=True, text=True,
                          timeout=60, **kw)


def _other_host(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `argv` as a process of another host (its own hostname, its own clock-free
    liveness), with pipes for its stdin and stdout."""
    return subprocess.Popen(["unshare", "-u", "sh", "-c", f'hostname {OTHER_HOST} && exec "$@"',
                             "sh", *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=None if env is None else {**os.environ, **env})


def test_faketime_moves_the_python_clock() -> None:
    """The rest means nothing unless faketime really moves time.time() in Python."""
    seen = _skewed("+11m", [sys.executable, "-c", "import time; print(time.time())"])
    assert abs(float(seen.stdout) - time.time() - 660) < 30, seen


def _drop(root: Path, name: str) -> Path:
    folder = write_manifest_folder(root / "drops" / name, model=name)
    (folder / "COMPLETE").write_bytes(b"")
    return folder


def test_a_watcher_whose_clock_is_ahead_leaves_a_live_claim_alone(tmp_path: Path) -> None:
    root = tmp_path / "store"
    Store.init(root).close()
    holder = _other_host([sys.executable, "-c", HOLDER, "claim", str(_drop(root, "held"))])
    try:
        cdir = Path(holder.stdout.readline().strip())
        assert cdir.is_dir() and f"@{OTHER_HOST}@" in cdir.name
        ahead = _skewed("+11m", [str(MODELYARD), "--store", str(root), "watch", "--once",
                                 "--quiet", "0"])
        assert ahead.returncode == 0, ahead.stderr
        assert "ingested" not in ahead.stdout, ahead.stdout
        assert (cdir / "held").is_dir(), "the live claim was taken"
        assert not (root / "drops" / "held").exists()
    finally:
        holder.stdin.close()
        holder.wait(30)
    with Store.open(root) as store:
        assert store.search("") == []


def test_a_dead_claim_is_recovered_by_a_host_whose_clock_is_behind(tmp_path: Path) -> None:
    root = tmp_path / "store"
    Store.init(root).close()
    holder = _other_host([sys.executable, "-c", HOLDER, "claim", str(_drop(root, "orphan"))])
    cdir = Path(holder.stdout.readline().strip())
    holder.send_signal(signal.SIGKILL)
    holder.wait(30)
    assert (cdir / "orphan").is_dir()
    behind = _skewed("-1h", [sys.executable, "-c", RECOVER, str(root), "1", "15"])
    assert behind.stdout.split() == ["returned", "orphan"], (behind.stdout, behind.stderr)
    assert (root / "drops" / "orphan").is_dir() and not cdir.exists()
    again = subprocess.run([str(MODELYARD), "--store", str(root), "watch", "--once",
                            "--quiet", "0"], capture_output=True, text=True, timeout=60)
    assert "ingested orphan as orphan:1" in again.stdout, again.stdout


def _temp_blob(root: Path) -> tuple[subprocess.Popen, Path]:
    target = root / "blobs" / "sha256" / "ab" / "cd" / ("abcd" + "0" * 60)
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = _other_host([sys.executable, "-c", HOLDER, "temp", str(target)])
    tmp = Path(writer.stdout.readline().strip())
    assert tmp.is_file() and f".{OTHER_HOST}." in tmp.name, tmp
    return writer, tmp


def test_fsck_whose_clock_is_ahead_leaves_a_live_temp_file_alone(tmp_path: Path) -> None:
    root = tmp_path / "store"
    Store.init(root).close()
    writer, tmp = _temp_blob(root)
    try:
        ahead = _skewed("+2h", [str(MODELYARD), "--store", str(root), "fsck"])
        assert tmp.is_file(), f"fsck 2 hours ahead removed a live temp file: {ahead.stdout}"
    finally:
        writer.stdin.close()
        writer.wait(30)


def test_fsck_whose_clock_is_behind_removes_an_old_temp_file(tmp_path: Path) -> None:
    root = tmp_path / "store"
    Store.init(root).close()
    writer, tmp = _temp_blob(root)
    writer.send_signal(signal.SIGKILL)
    writer.wait(30)
    born = tmp.stat().st_mtime
    wait_for(lambda: time.time() - born > 1.2, 10, "the temp file to be a second old")
    behind = _skewed("-2h", [sys.executable, "-c", FSCK, str(root), "1"])
    assert not tmp.exists(), (behind.stdout, behind.stderr)
    assert tmp.name in behind.stdout


def test_a_watcher_whose_claim_was_taken_back_says_so(tmp_path: Path) -> None:
    """A watcher paused past the claim timeout (SIGSTOP) loses its drop to another: when it
    resumes it must say that, not 'the disk or network filesystem failed ... ENOENT'."""
    root = tmp_path / "store"
    Store.init(root).close()
    folder = write_manifest_folder(root / "drops" / ".slow", model="slow")
    shards = folder / "shards"
    shards.mkdir()
    for i in range(300):
        (shards / f"{i:05d}.bin").write_bytes(i.to_bytes(4, "big") * 256)
    (folder / "COMPLETE").write_bytes(b"")
    claims = root / "drops" / ".claims"
    flag = tmp_path / "blob.hashing.paused"  # the watcher waits there, mid-ingest
    watcher = _other_host([str(MODELYARD), "--store", str(root), "watch", "--once",
                           "--quiet", "0"],
                          env={"MODELYARD_PAUSE_AT": "blob.hashing",
                               "MODELYARD_PAUSE_DIR": str(tmp_path)})
    os.rename(folder, root / "drops" / "slow")
    try:
        wait_for(lambda: flag.exists() or watcher.poll() is not None, 30,
                 "the watcher to reach its first file")
        assert watcher.poll() is None, "the watcher ended before its first file"
        watcher.send_signal(signal.SIGSTOP)  # as a hung host: its heartbeat stops too
        flag.unlink()  # it goes on from there once continued
        held = [n for n in os.listdir(claims) if not n.startswith(".")]
        cdir = claims / held[0]
        assert os.path.isdir(cdir / "slow"), os.listdir(cdir)
        born = cdir.stat().st_mtime
        wait_for(lambda: time.time() - born > 1.2, 10, "the claim's heartbeat to be 1 s old")
        taken = subprocess.run([sys.executable, "-c", RECOVER, str(root), "1", "15"],
                               capture_output=True, text=True, timeout=60)
        assert taken.stdout.split() == ["returned", "slow"], (taken.stdout, taken.stderr)
    finally:
        watcher.send_signal(signal.SIGCONT)
        out, _ = watcher.communicate(timeout=60)
    assert "another watcher took slow back" in out, out
    assert "disk or network filesystem failed" not in out, out
    assert (root / "drops" / "slow" / "shards" / "00299.bin").is_file()  # back, whole
    with Store.open(root) as store:
        assert store.search("") == []  # the paused watcher stored nothing of it


def test_claims_through_sshfs_are_judged_by_the_servers_clock(
        sshfs_mount: tuple[Path, Path]) -> None:  # noqa: F811
    """The same through a network filesystem: the heartbeat and the probe are both stamped
    by the file server, so a watcher 11 minutes ahead leaves a live claim alone, and one an
    hour behind recovers a dead one."""
    root = sshfs_mount[1] / "clocks"
    Store.init(root).close()
    holder = _other_host([sys.executable, "-c", HOLDER, "claim", str(_drop(root, "far"))])
    try:
        cdir = Path(holder.stdout.readline().strip())
        ahead = _skewed("+11m", [str(MODELYARD), "--store", str(root), "watch", "--once",
                                 "--quiet", "0"])
        assert "ingested" not in ahead.stdout and (cdir / "far").is_dir(), ahead.stdout
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    behind = _skewed("-1h", [sys.executable, "-c", RECOVER, str(root), "1", "25"])
    assert behind.stdout.split() == ["returned", "far"], (behind.stdout, behind.stderr)
