"""Metric series: every point of every curve, kept as one Parquet blob per version.

Parquet (zstd, sorted by key and step) keeps a point at a few bytes, and polars reads one
metric out of it with predicate pushdown. polars is imported only here and only when a
series is written or read, so the CLI's listing commands start fast.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

from .errors import InvalidManifest

COLUMNS = ("key", "step", "value", "timestamp")


def normalize_series(series: Mapping[str, Any]) -> dict[str, tuple[list, list, list]]:
    """Turn the accepted shapes into {key: (steps, values, timestamps)}, checking each point.

    Accepted per key: a list of numbers (steps 0..n-1), a list of [step, value] or
    [step, value, timestamp_ms], or {"steps": [...], "values": [...], "timestamps": [...]}.
    """
    if not isinstance(series, Mapping):
        raise InvalidManifest("metric_series must map metric names to lists of points")
    out: dict[str, tuple[list, list, list]] = {}
    for key, points in series.items():
        if not isinstance(key, str) or not key:
            raise InvalidManifest(f"metric_series has a non-text key {key!r}")
        where = f"metric_series[{key!r}]"
        steps: list[int] = []
        values: list[float] = []
        stamps: list[int | None] = []
        if isinstance(points, Mapping):
            vals = list(points.get("values") or [])
            st = list(points.get("steps") or range(len(vals)))
            ts = list(points.get("timestamps") or [None] * len(vals))
            if not (len(st) == len(vals) == len(ts)):
                raise InvalidManifest(f"{where}: steps, values and timestamps differ in length")
            rows = zip(st, vals, ts, strict=True)
        elif isinstance(points, (list, tuple)):
            rows = (_row(i, p, where) for i, p in enumerate(points))
        else:
            raise InvalidManifest(f"{where} must be a list of points or a steps/values mapping")
        for i, (step, value, stamp) in enumerate(rows):
            steps.append(_int(step, f"{where} point {i} step"))
            values.append(_number(value, f"{where} point {i} value"))
            stamps.append(None if stamp is None else _int(stamp, f"{where} point {i} timestamp"))
        out[key] = (steps, values, stamps)
    return out


def _row(i: int, point: Any, where: str) -> tuple[Any, Any, Any]:
    if isinstance(point, (list, tuple)):
        if len(point) == 2:
            return point[0], point[1], None
        if len(point) == 3:
            return point[0], point[1], point[2]
        raise InvalidManifest(f"{where} point {i} has {len(point)} fields; use [step, value]")
    return i, point, None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise InvalidManifest(f"{where} is a boolean; metric values must be numbers")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "+inf", "-inf",
                                                            "infinity", "-infinity"):
        return float(value.strip().lower().replace("infinity", "inf"))
    raise InvalidManifest(f"{where} is {value!r}; metric values must be numbers")


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidManifest(f"{where} is {value!r}; it must be a whole number")
    if int(value) != value:
        raise InvalidManifest(f"{where} is {value!r}; it must be a whole number")
    return int(value)


def to_parquet(series: dict[str, tuple[list, list, list]]) -> bytes:
    """Encode normalized series as one Parquet file, sorted by key then step (stable)."""
    import polars as pl

    keys: list[str] = []
    steps: list[int] = []
    values: list[float] = []
    stamps: list[int | None] = []
    for key, (st, va, ts) in series.items():
        keys.extend([key] * len(st))
        steps.extend(st)
        values.extend(va)
        stamps.extend(ts)
    frame = pl.DataFrame(
        {"key": keys, "step": steps, "value": values, "timestamp": stamps},
        schema={"key": pl.String, "step": pl.Int64, "value": pl.Float64,
                "timestamp": pl.Int64},
    ).sort(["key", "step"], maintain_order=True)
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", compression_level=9, statistics=True)
    return buf.getvalue()


def summarize(series: dict[str, tuple[list, list, list]]) -> dict[str, dict]:
    """Per key: final value (at the highest step, last logged wins), min, max, points."""
    out = {}
    for key, (steps, values, _) in series.items():
        if not steps:
            continue
        last_i = max(range(len(steps)), key=lambda i: (steps[i], i))
        finite = [v for v in values if not math.isnan(v)]
        out[key] = {
            "last": values[last_i],
            "step": steps[last_i],
            "min": min(finite) if finite else None,
            "max": max(finite) if finite else None,
            "points": len(steps),
        }
    return out


def read_series(data: bytes, key: str | None = None):
    """A polars DataFrame (key, step, value, timestamp) of one metric or all of them."""
    import polars as pl

    frame = pl.read_parquet(io.BytesIO(data))
    if key is not None:
        frame = frame.filter(pl.col("key") == key)
    return frame


def downsample(frame, buckets: int = 200):
    """Reduce a curve to about `buckets` x 3 points keeping every spike: per step bucket the
    first, min, max and last points survive, in step order."""
    import polars as pl

    n = frame.height
    if n <= buckets * 3:
        return frame
    lo, hi = frame["step"].min(), frame["step"].max()
    width = max(1, math.ceil((hi - lo + 1) / buckets))
    tagged = frame.with_row_index("_i").with_columns(((pl.col("step") - lo) // width).alias("_b"))
    finite = tagged.filter(pl.col("value").is_not_nan())
    picks = pl.concat([
        tagged.group_by("_b").agg(pl.col("_i").first()),
        tagged.group_by("_b").agg(pl.col("_i").last()),
        finite.group_by("_b").agg(pl.col("_i").get(pl.col("value").arg_min())),
        finite.group_by("_b").agg(pl.col("_i").get(pl.col("value").arg_max())),
    ])["_i"].unique()
    return tagged.filter(pl.col("_i").is_in(picks.implode())).drop("_i", "_b")
