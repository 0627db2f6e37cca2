"""The API's batch path: `Store.add_versions` of the MLflow workload (20 params, 10 curves
of 100 steps and a 1 MB artifact per run) against `add_version` called once per run, on the
same data in the same run, alternated so that load on the machine falls on both."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from .measure import Result, Stats

GROUP = "ingest"
ROUNDS = 3


def _items(runs: int, salt: bytes) -> list[dict[str, Any]]:
    """The workload's runs as add_version arguments; each artifact distinct (content
    addressing must not make later runs free), and distinct from other rounds'."""
    block = os.urandom(1 << 20)
    return [{"model": "bench-model",
             "params": {f"param_{j}": 0.001 * (i + j) for j in range(20)},
             "metric_series": {f"metric_{k}": [1.0 / (1 + s + k + i) for s in range(100)]
                               for k in range(10)},
             "files": {"model/artifact.bin": salt + i.to_bytes(8, "little") + block[16:]}}
            for i in range(runs)]


def _seconds(root: Path, items: list[dict[str, Any]], batched: bool) -> float:
    from modelyard.store import Store

    shutil.rmtree(root, ignore_errors=True)
    with Store.init(root) as store:
        start = time.perf_counter()
        if batched:
            store.add_versions(items)
        else:
            for fields in items:
                fields = dict(fields)
                store.add_version(fields.pop("model"), **fields)
        seconds = time.perf_counter() - start
    shutil.rmtree(root, ignore_errors=True)
    return seconds


def run(workdir: Path, runs: int, mlflow_rate: float | None = None) -> list[Result]:
    """`mlflow_rate`: MLflow's runs per second on the same workload in this run, if known."""
    rates: dict[bool, list[float]] = {False: [], True: []}
    for r in range(ROUNDS):
        for batched in (False, True):
            items = _items(runs, f"{r}{batched:d}".encode().ljust(8, b"-"))
            rates[batched].append(runs / _seconds(workdir / "ingest" / "batch", items, batched))
    one, many = Stats.of(rates[False]), Stats.of(rates[True])
    note = (f"add_version once per run: {one.median:,.1f} runs/s (medians of {ROUNDS} "
            "rounds, alternated)")
    if mlflow_rate:
        note += (f"; against MLflow's {mlflow_rate:.1f} runs/s in this run: add_versions "
                 f"{many.median / mlflow_rate:.1f}x, add_version {one.median / mlflow_rate:.1f}x")
    return [Result(GROUP, f"API: add_versions of the MLflow workload, {runs:,} runs", many,
                   "runs/s", "add_version once per run", many.median / one.median, note=note)]
