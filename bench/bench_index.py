"""The index against its files: a full `reindex`, and catching up with 1,000 new records
written by other processes (as after another host's training jobs)."""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

from modelyard.store import Store
from modelyard.store.disk import changes
from modelyard.store.disk.layout import Layout

from .generate import _write, build_record, pools_of
from .measure import Result, Stats

GROUP = "index"
CATCHUP_PREFIX = "catchup-"
CATCHUP_RECORDS = 1_000
REINDEX_1M_S, CATCHUP_S = 60.0, 2.0


def remove_catchup_models(root: Path) -> None:
    """Undo an earlier run's catch-up records, so the store has exactly its generated size."""
    models = Layout(root).models
    for entry in models.iterdir() if models.exists() else []:
        if entry.name.startswith(CATCHUP_PREFIX):
            shutil.rmtree(entry)


def reindex(root: Path, index: Path, size: int) -> tuple[Store, Result]:
    """Time a full rebuild of a fresh index; returns the open store for later benchmarks."""
    remove_catchup_models(root)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    store = Store.open(root, index=index, sync=False)
    start = time.perf_counter()
    report = store.reindex()
    seconds = time.perf_counter() - start
    target = REINDEX_1M_S * size / 1_000_000
    result = Result(GROUP, "full reindex", Stats(seconds, seconds, seconds, 1), "s",
                    target=f"< {REINDEX_1M_S:g} s per 1,000,000 (< {target:.3g} s here)",
                    met=seconds < target if size >= 100_000 else None, size=size,
                    note=f"{report.versions:,} versions, {report.events:,} events, "
                         f"{size / seconds:,.0f} versions/s; index "
                         f"{index.stat().st_size / 2**20:,.0f} MiB")
    return store, result


def catch_up(store: Store, size: int) -> Result:
    """Another process writes 1,000 records (10 new models); time this host's catch-up."""
    layout = store.layout
    pools = pools_of(store.root)
    for m in range(CATCHUP_RECORDS // 100):
        name = f"{CATCHUP_PREFIX}{m:02d}"
        rng = random.Random(f"catchup:{m}")
        layout.versions_dir(name).mkdir(parents=True, exist_ok=True)
        layout.events_dir(name).mkdir(parents=True, exist_ok=True)
        for number in range(1, 101):
            serial = size + m * 100 + number
            _write(layout.record_path(name, number),
                   build_record(rng, name, number, serial, pools, None))
            changes.note(layout.models, layout.model_dir(name).name)  # as add_version does
    start = time.perf_counter()
    report = store.sync()
    seconds = time.perf_counter() - start
    assert report.versions == CATCHUP_RECORDS, report
    return Result(GROUP, "catch-up after 1,000 new records", Stats(seconds, seconds, seconds, 1),
                  "s", target=f"< {CATCHUP_S:g} s", met=seconds < CATCHUP_S, size=size,
                  note=f"{CATCHUP_RECORDS / seconds:,.0f} records/s, 10 new models")
