"""A new host's first open, with and without a shared index snapshot (issue 16): publish a
snapshot of the bench's index, then time `modelyard ls` as a whole process on hosts with an
empty cache folder: one told not to use snapshots (it builds the index from the records,
as every new host did before), one that copies the snapshot and catches up. Then the
restored index's verification against the records, in the foreground (time to a fully
verified index). The snapshot folder is removed afterwards, so the generated store stays
as it was for the other groups."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from modelyard.store import Store
from modelyard.store.index import snapshots

from .measure import Result, Stats, process_env

GROUP = "snapshot"
FIRST_ANSWER_S = 10.0  # "answers within seconds", at 100,000 versions


def _timed_cli(root: Path, cache: Path, *args: str, **env: str) -> tuple[float, str]:
    shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "modelyard.app.cli.main", "--store", str(root),
                          *args], capture_output=True, text=True, timeout=3600,
                         env=process_env(MODELYARD_CACHE_DIR=str(cache),
                                         MODELYARD_SNAPSHOT_VERIFY="off", **env))
    seconds = time.perf_counter() - start
    if out.returncode not in (0, 1):
        raise RuntimeError(f"modelyard {' '.join(args)} failed: {out.stderr[-2000:]}")
    return seconds, out.stderr


def run(root: Path, index: Path, size: int, workdir: Path) -> list[Result]:
    shutil.rmtree(snapshots.folder(root), ignore_errors=True)
    try:
        with Store.open(root, index=index) as store:
            start = time.perf_counter()
            published = snapshots.publish(store, force=True)
            publish_s = time.perf_counter() - start
        snap = published.snapshot
        hosts = workdir / "snapshot-hosts"
        without, _ = _timed_cli(root, hosts / "records", "ls", "--limit", "1",
                                MODELYARD_SNAPSHOT_RESTORE="0")
        with_snap, warnings = _timed_cli(root, hosts / "snapshot", "ls", "--limit", "1")
        assert "warning" not in warnings, warnings
        with Store.open(root, index=next((hosts / "snapshot" / "index").glob("*.sqlite"))) as s:
            from modelyard.store.index.snapshot_verify import verify

            start = time.perf_counter()
            report = verify(s)
            verify_s = time.perf_counter() - start
            assert report.state == "verified", report.to_dict()
        target = FIRST_ANSWER_S * max(1.0, size / 100_000)
        one = lambda s: Stats(s, s, s, 1)  # noqa: E731
        return [
            Result(GROUP, "publish a snapshot (VACUUM INTO, gzip, link)", one(publish_s), "s",
                   size=size, note=f"{snap.size / 2**20:,.0f} MiB in the store for a "
                   f"{snap.info['index_bytes'] / 2**20:,.0f} MiB index "
                   f"({snap.size / snap.info['index_bytes']:.0%})"),
            Result(GROUP, "new host, first `ls`: no snapshot (build from records)",
                   one(without), "s", size=size),
            Result(GROUP, "new host, first `ls`: from the snapshot", one(with_snap), "s",
                   baseline="no snapshot", ratio=without / with_snap,
                   target=f"< {target:g} s", met=with_snap < target, size=size),
            Result(GROUP, "new host: the restored index verified against the records",
                   one(verify_s), "s", size=size,
                   note=f"{report.models_checked:,} models, foreground (the restore runs it "
                        "in the background at low priority)"),
        ]
    finally:
        shutil.rmtree(snapshots.folder(root), ignore_errors=True)
