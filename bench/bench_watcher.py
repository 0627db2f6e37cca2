"""Drop watcher latency: from the atomic rename that publishes a drop to the version being
found by a search on the same host's index, with inotify and with polling."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from .measure import Result, Stats

GROUP = "watcher"
DROPS = 8
POLL_S = 2.0
INOTIFY_S = 1.0


def _publish(drops: Path, name: str) -> float:
    """Write a drop under a hidden name, then rename it in; returns the rename's time."""
    tmp = drops / f".tmp-{name}"
    tmp.mkdir(parents=True)
    (tmp / "weights.bin").write_bytes(os.urandom(4096))
    (tmp / "modelyard.json").write_text(json.dumps(
        {"model": name, "description": "watcher latency", "files": ["weights.bin"],
         "metrics": {"acc": 0.5}}))
    (tmp / "COMPLETE").write_text("")
    start = time.time()
    os.rename(tmp, drops / name)
    return start


def _latencies(workdir: Path, poll: float | None) -> list[float]:
    from modelyard.store import Store
    from modelyard.store.ingest.watcher import Watcher

    label = "poll" if poll else "inotify"
    root = workdir / "watcher" / label
    shutil.rmtree(root, ignore_errors=True)
    Store.init(root).close()  # the host's default index ($MODELYARD_CACHE_DIR), as a watcher
    watcher = Watcher(root, poll=poll, log=lambda line: None)
    watcher.start()
    searcher = Store.open(root)  # another process's view of the same host index
    time.sleep(1.5)  # the observer starts
    out = []
    try:
        for i in range(DROPS):
            name = f"dropped-{label}-{i}"
            start = _publish(root / "drops", name)
            deadline = start + 30
            while not searcher.search(f"model:{name}", limit=1):
                if time.time() > deadline:
                    raise TimeoutError(f"{name} was not searchable after 30 s")
                time.sleep(0.002)
            out.append(time.time() - start)
            time.sleep(0.3 + (i % 3) * 0.37)  # publish at varied phases of the watcher's tick
    finally:
        watcher.stop()
        searcher.close()
    return out


def run(workdir: Path) -> list[Result]:
    inotify = Stats.of(_latencies(workdir, None))
    polled = Stats.of(_latencies(workdir, POLL_S))
    return [
        Result(GROUP, "drop renamed in to searchable, inotify", inotify, "s",
               target=f"< {INOTIFY_S:g} s", met=inotify.max < INOTIFY_S,
               note=f"{inotify.runs} drops; the worst one counts"),
        Result(GROUP, f"drop renamed in to searchable, polling every {POLL_S:g} s", polled,
               "s", target=f"< {POLL_S + 1:g} s (poll + 1 s)", met=polled.max < POLL_S + 1,
               note=f"{polled.runs} drops; the worst one counts"),
    ]
