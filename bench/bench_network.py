"""A store read through a network filesystem: `reindex` through sshfs (a loopback sshd, as
the reliability tests mount it), reading records 16 at a time against one at a time (the
same code with READ_AHEAD_THREADS = 1), alternating, in the same run. Needs root, FUSE,
sshfs and sshd (`apt-get install -y openssh-server sshfs`); skipped with the reason
otherwise."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from .measure import Result, Stats

GROUP = "network"
ROUNDS = 3
RELIABILITY = Path(__file__).resolve().parent.parent / "tests" / "reliability"


def run(workdir: Path, root: Path, size: int, skipped: list[str]) -> list[Result]:
    sys.path[:0] = [str(RELIABILITY), str(RELIABILITY.parent)]
    from sshfs_mount import MountFailed, missing, mount_sshfs

    from modelyard.store import Store
    from modelyard.store.disk import records

    reason = missing()
    if reason:
        skipped.append(f"reindex through sshfs: {reason}")
        return []
    base = workdir / "sshfs"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    times: dict[int, list[float]] = {1: [], records.READ_AHEAD_THREADS: []}
    threads = records.READ_AHEAD_THREADS
    try:
        with mount_sshfs(base, ("follow_symlinks",)) as (served, mount):
            (served / "store").symlink_to(root)  # followed on the server (follow_symlinks)
            for _ in range(ROUNDS):
                for count in times:
                    records.READ_AHEAD_THREADS = count
                    index = base / f"index-{count}.sqlite"
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{index}{suffix}").unlink(missing_ok=True)
                    with Store.open(mount / "store", index=index, sync=False) as store:
                        start = time.perf_counter()
                        store.reindex()
                        times[count].append(time.perf_counter() - start)
    except MountFailed as exc:
        skipped.append(f"reindex through sshfs: {exc}")
        return []
    finally:
        records.READ_AHEAD_THREADS = threads
        shutil.rmtree(base, ignore_errors=True)
    ahead, serial = Stats.of(times[threads]), Stats.of(times[1])
    return [Result(GROUP, f"reindex through sshfs, records read {threads} at a time", ahead,
                   "s", "one at a time", serial.median / ahead.median, size=size,
                   note=f"{size:,} versions; one at a time: median {serial.median:.1f} s")]
