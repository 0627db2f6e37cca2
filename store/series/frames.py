"""Metric series: every point of every curve, kept as one Parquet blob per version.

Parquet (zstd, sorted by key and step) keeps a point at a few bytes, and polars reads one
metric out of it with predicate pushdown. polars is imported only here and only when a
series is written or read, so the CLI's listing commands start fast.

Curves are handled as columns end to end (a polars frame, never a Python object per point),
so ten million points from a drop's Parquet or CSV file cost a few hundred megabytes and a
few seconds, not gigabytes. What is accepted: NaN and infinities (also as the strings "nan",
"inf", "-inf"), steps in any order and repeated (kept, sorted stably: the final value is the
last one logged at the highest step). What is refused, naming the key and the point: other
text, booleans, fractional or missing steps, names with control characters, more than
MAX_KEYS curves or MAX_POINTS points. The checks are in series_check.py (shapes callers
give) and series_columns.py (column operations); this module encodes, summarizes and reads.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

from modelyard.store.series.check import SeriesTable, normalize_series
from modelyard.store.series.columns import (
    COLUMNS,
    MAX_KEYS,
    MAX_POINTS,
    check_frame,
    empty_frame,
    sorted_summary,
)

if TYPE_CHECKING:
    import polars as pl

__all__ = ["COLUMNS", "MAX_KEYS", "MAX_POINTS", "SeriesTable", "check_frame", "downsample",
           "empty_frame", "normalize_series", "overview", "passthrough", "read_series",
           "summarize", "sorted_summary", "to_parquet"]

OVERVIEW_MIN_POINTS = 20_000  # a curve longer than this gets an overview
OVERVIEW_BUCKETS = 1_000  # of at most ~4,000 of its points: more than any first draw needs


def _as_frame(series: Any) -> pl.DataFrame:
    """Normalized frames pass through; {key: (steps, values, stamps)} (the SDK's arrays or
    lists) becomes one frame built from plain lists once, sorted by key then step (stably)
    in Python: a polars frame per key costs more than the whole encoding."""
    import polars as pl

    if isinstance(series, pl.DataFrame):
        return series
    if not series:
        return empty_frame()
    names: list[str] = []
    steps: list[int] = []
    values: list[float] = []
    stamps: list[int | None] = []
    for key in sorted(series):  # code point order, as polars sorts UTF-8 text
        steps_in, values_in, stamps_in = series[key]
        s, v = _plain(steps_in), _plain(values_in)
        n = len(s)
        t = [None] * n if stamps_in is None else _plain(stamps_in)
        if any(a > b for a, b in zip(s, s[1:], strict=False)):  # logged out of order: sort, stably
            order = sorted(range(n), key=s.__getitem__)
            s, v, t = [s[i] for i in order], [v[i] for i in order], [t[i] for i in order]
        names += [key] * n
        steps += s
        values += v
        stamps += t
    return pl.DataFrame({"key": pl.Series(names, dtype=pl.String),
                         "step": pl.Series(steps, dtype=pl.Int64),
                         "value": pl.Series(values, dtype=pl.Float64),
                         "timestamp": pl.Series(stamps, dtype=pl.Int64)})


def _plain(column: Any) -> list:
    if isinstance(column, list):
        return column
    return column.tolist() if hasattr(column, "tolist") else list(column)


def to_parquet(series: Any) -> bytes:
    """Encode series (a normalized frame, or {key: (steps, values, stamps)}) as one Parquet
    file sorted by key then step."""
    frame = _as_frame(series)
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", compression_level=9, statistics=True)
    return buf.getvalue()


def summarize(series: Any) -> dict[str, dict]:
    """Per key: final value (at the highest step, last logged wins), its step, min and max
    of the finite values (None when there are none) and the number of points."""
    import polars as pl

    frame = _as_frame(series)
    if not frame.height:
        return {}
    value = pl.col("value")
    finite = value.filter(value.is_finite())
    rows = frame.group_by("key", maintain_order=True).agg(
        value.last().alias("last"), pl.col("step").last().alias("step"),
        finite.min().alias("min"), finite.max().alias("max"), pl.len().alias("points"))
    return {r["key"]: {"last": r["last"], "step": r["step"], "min": r["min"], "max": r["max"],
                       "points": r["points"]} for r in rows.iter_rows(named=True)}


def passthrough(series: Any) -> tuple[bytes, dict[str, dict]] | None:
    """(bytes, summary) of a drop's Parquet file that can be stored as it is: read whole,
    in exactly the stored shape and order, and checked (`sorted_summary`). Its bytes are
    the blob, so an SDK's file is neither normalized nor encoded again; None otherwise."""
    if not isinstance(series, SeriesTable) or series.raw is None:
        return None
    summary = sorted_summary(series.frame)
    return None if summary is None else (series.raw, summary)


def read_series(data: bytes, key: str | None = None):
    """A polars DataFrame (key, step, value, timestamp) of one metric or all of them.

    One metric is read with the filter pushed into the Parquet reader, which decodes the
    other columns only for the key's rows. The file's own min/max statistics are not used
    to skip row groups: an SDK's file is stored as it came (`passthrough`), and statistics
    that lie would hide points from the curve while its summary still counted them."""
    import polars as pl

    if key is None:
        return pl.read_parquet(io.BytesIO(data))
    return (pl.scan_parquet(io.BytesIO(data), use_statistics=False)
            .filter(pl.col("key") == key).collect())


def overview(frame, summary: dict[str, dict]) -> tuple[bytes, list[str]] | None:
    """(Parquet bytes, keys) of the overview of every long curve, or None when none is long:
    each one's finite points downsampled to OVERVIEW_BUCKETS (first, min, max and last point
    of each bucket, all real points). Stored beside the series, it lets the app draw a
    million-point curve from a few thousand rows; zooming in or smoothing reads it all.

    `frame` is sorted by key then step and `summary` lists its keys in that order with
    their points, so each curve is a slice of the frame, found without a scan."""
    import polars as pl

    parts, keys, offset = [], [], 0
    for key, info in summary.items():
        points = int(info["points"])
        if points > OVERVIEW_MIN_POINTS:
            curve = frame.slice(offset, points)
            if curve["key"][0] != key or curve["key"][-1] != key:
                raise ValueError(f"series not in summary order at {key!r}")  # a bug: say so
            parts.append(downsample(curve.filter(pl.col("value").is_finite()),
                                    OVERVIEW_BUCKETS))
            keys.append(key)
        offset += points
    if not parts:
        return None
    return to_parquet(pl.concat(parts)), keys


def downsample(frame, buckets: int = 200):
    """Reduce a curve to about `buckets` x 3 points keeping every spike: per step bucket the
    first, min, max and last points survive, in step order (the frame is sorted by step).

    One `group_by` picks the four row numbers of every bucket and one gather takes them:
    ~1 ms for 10,000 points, ~20 ms for a million (four `group_by`s took 2-3x that)."""
    import polars as pl

    n = frame.height
    if n <= buckets * 3:
        return frame
    lo, hi = frame["step"].min(), frame["step"].max()
    width = max(1, math.ceil((hi - lo + 1) / buckets))
    row, value = pl.col("_i"), pl.col("_v")
    picked = frame.select(
        ((pl.col("step") - lo) // width).alias("_b"),
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i"),
        pl.col("value").fill_nan(None).alias("_v"),  # NaN is no spike: min/max skip it
    ).group_by("_b").agg(row.first().alias("first"), row.last().alias("last"),
                         row.get(value.arg_min()).alias("min"),
                         row.get(value.arg_max()).alias("max"))
    rows = pl.concat([picked["first"], picked["last"], picked["min"].drop_nulls(),
                      picked["max"].drop_nulls()]).unique().sort()
    return frame[rows]
