"""A store read through a network filesystem (sshfs from a loopback sshd, as the reliability
tests mount it): `reindex` reading records 16 at a time against one at a time (the same
code with READ_AHEAD_THREADS = 1), alternating, in the same run; and a new host's first
`ls` through the mount, from a shared index snapshot against building from the records.
Needs root, FUSE, sshfs and sshd (`apt-get install -y openssh-server sshfs`); skipped with
the reason otherwise."""

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


FIRST_OPEN_MAX = 100_000  # without a snapshot a new host reads every record: ~2 min here


def first_open(workdir: Path, root: Path, index: Path, size: int,
               skipped: list[str]) -> list[Result]:
    """A new host (an empty cache folder) runs `modelyard ls --limit 1` on the store through
    sshfs: once told not to use snapshots (it builds its index from the records, as every
    new host did before snapshots), once copying the snapshot the bench publishes first and
    catching up. Time to the first answer; verification is left to the `snapshot` group."""
    sys.path[:0] = [str(RELIABILITY), str(RELIABILITY.parent)]
    from sshfs_mount import MountFailed, missing, mount_sshfs

    from modelyard.store import Store
    from modelyard.store.index import snapshots

    from .bench_snapshots import _timed_cli

    reason = missing()
    if reason or size > FIRST_OPEN_MAX:
        skipped.append(f"first open through sshfs at {size:,}: "
                       f"{reason or f'over {FIRST_OPEN_MAX:,} versions'}")
        return []
    base = workdir / "sshfs-first-open"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    shutil.rmtree(snapshots.folder(root), ignore_errors=True)
    try:
        with Store.open(root, index=index) as store:
            snapshots.publish(store, force=True)
        with mount_sshfs(base, ("follow_symlinks",)) as (served, mount):
            (served / "store").symlink_to(root)
            hosts = base / "hosts"
            without, _ = _timed_cli(mount / "store", hosts / "records", "ls", "--limit", "1",
                                    MODELYARD_SNAPSHOT_RESTORE="0")
            with_snap, warnings = _timed_cli(mount / "store", hosts / "snapshot", "ls",
                                             "--limit", "1")
            assert "warning" not in warnings, warnings
    except MountFailed as exc:
        skipped.append(f"first open through sshfs: {exc}")
        return []
    finally:
        shutil.rmtree(snapshots.folder(root), ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)
    one = Stats(with_snap, with_snap, with_snap, 1)
    return [Result(GROUP, "new host through sshfs, first `ls`: from the snapshot", one, "s",
                   "no snapshot (build from records)", without / with_snap, size=size,
                   note=f"building from the records through sshfs: {without:.1f} s")]
