"""Downsampling curves for the terminal: per step bucket the first, last, min and max points
survive (NaN is never a spike), in step order; compared with a plain Python reference."""

from __future__ import annotations

import math
import random

import polars as pl
import pytest

from modelyard.store.series.frames import downsample


def reference(steps: list[int], values: list[float], buckets: int) -> list[int]:
    """Row numbers kept, computed point by point."""
    if len(steps) <= buckets * 3:
        return list(range(len(steps)))
    lo, hi = min(steps), max(steps)
    width = max(1, math.ceil((hi - lo + 1) / buckets))
    groups: dict[int, list[int]] = {}
    for i, step in enumerate(steps):
        groups.setdefault((step - lo) // width, []).append(i)
    kept: set[int] = set()
    for rows in groups.values():
        kept.update((rows[0], rows[-1]))
        finite = [i for i in rows if not math.isnan(values[i])]
        if finite:
            kept.add(min(finite, key=lambda i: (values[i], i)))
            kept.add(max(finite, key=lambda i: (values[i], -i)))
    return sorted(kept)


def frame(steps: list[int], values: list[float]) -> pl.DataFrame:
    n = len(steps)
    return pl.DataFrame({"key": ["loss"] * n, "step": steps, "value": values,
                         "timestamp": list(range(n))},
                        schema={"key": pl.String, "step": pl.Int64, "value": pl.Float64,
                                "timestamp": pl.Int64})


@pytest.mark.parametrize("seed", range(40))
def test_downsample_keeps_exactly_first_last_min_max_per_bucket(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.choice([601, 1000, 5000])
    steps = sorted(rng.choices(range(rng.choice([n // 3, n, 10 * n])), k=n))
    specials = [math.nan, math.inf, -math.inf]
    values = [rng.choice(specials) if rng.random() < 0.1 else rng.uniform(-5, 5)
              for _ in range(n)]
    if seed % 5 == 0:  # a stretch of NaN: buckets with no finite point keep first and last
        values[: n // 2] = [math.nan] * (n // 2)
    buckets = rng.choice([50, 200])
    got = downsample(frame(steps, values), buckets)
    want = frame(steps, values)[reference(steps, values, buckets)]
    assert got.equals(want)
    assert got.height < n


def test_a_single_spike_in_a_million_points_survives() -> None:
    n = 1_000_000
    values = [math.sin(i / 5000) for i in range(n)]
    values[654_321] = 1e9
    got = downsample(frame(list(range(n)), values), 200)
    assert got.height <= 800
    assert got["value"].max() == 1e9 and got["step"].is_sorted()


def test_short_curves_are_returned_whole() -> None:
    small = frame(list(range(600)), [float(i) for i in range(600)])
    assert downsample(small, 200).equals(small)
