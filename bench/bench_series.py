"""Metric logging through the SDK: points per second one call at a time, and one call per
step with every metric (the SDK's batch form), against MLflow's own per-call/batch gap."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .measure import Result, Stats

GROUP = "sdk"
POINTS = 200_000
TARGET_RATE, TARGET_GAP = 50_000, 2.0


def _rate(root: Path, log, points: int, repeat: int) -> Stats:
    from modelyard import new_version

    samples = []
    for _ in range(repeat):
        v = new_version("series-bench", store=root)
        v.__enter__()
        start = time.perf_counter()
        log(v, points)
        samples.append(points / (time.perf_counter() - start))
        v._closed = True  # measured the logging only; no drop is written
    return Stats.of(samples)


def _per_call(v, points: int) -> None:
    log = v.log_metric
    for step in range(points):
        log("loss", 1.0 / (1 + step), step)


def _batched(v, points: int) -> None:
    for step in range(points // 10):
        v.log_metrics({f"metric_{k}": 1.0 / (1 + step + k) for k in range(10)}, step)


def run(workdir: Path, *, repeat: int = 5, mlflow_points: int = 300) -> list[Result]:
    from modelyard.store import Store

    root = workdir / "series" / "store"
    shutil.rmtree(root, ignore_errors=True)
    Store.init(root, index=workdir / "series" / "index.sqlite").close()
    per_call = _rate(root, _per_call, POINTS, max(3, repeat // 3))
    batched = _rate(root, _batched, POINTS, max(3, repeat // 3))
    gap = batched.median / per_call.median
    theirs = ""
    from .bench_mlflow import MlflowUnavailable, call

    try:
        info = call(workdir, "percall", folder=str(workdir / "mlflow" / "percall"),
                    points=mlflow_points)
        theirs = f"; MLflow per call is {info['per_call_s'] / info['batched_s']:.0f}x slower " \
                 f"than log_batch ({mlflow_points / info['per_call_s']:,.0f} points/s per call)"
    except MlflowUnavailable:
        pass
    return [
        Result(GROUP, "log_metric, one point per call", per_call, "points/s",
               target=f">= {TARGET_RATE:,} points/s", met=per_call.median >= TARGET_RATE,
               note=f"{POINTS:,} points, one key"),
        Result(GROUP, "per call vs batched (log_metrics, 10 keys a step)",
               Stats(gap, gap, gap, 1), "x slower", target=f"<= {TARGET_GAP:g}x",
               met=gap <= TARGET_GAP,
               note=f"batched {batched.median:,.0f} points/s{theirs}"),
    ]
