"""Checking a frame of metric points with column operations only: names, values, steps and
timestamps, and the order the store keeps them in. Ten million points never become ten
million Python objects here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from modelyard.store.errors import InvalidManifest
from modelyard.store.names import unsafe_char

if TYPE_CHECKING:
    import polars as pl

COLUMNS = ("key", "step", "value", "timestamp")
MAX_KEYS = 10_000
MAX_POINTS = 50_000_000
MAX_KEY_LENGTH = 1000
_SPECIAL = {"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
            "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf}


def _schema() -> dict:
    import polars as pl

    return {"key": pl.String, "step": pl.Int64, "value": pl.Float64, "timestamp": pl.Int64}


def empty_frame() -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame(schema=_schema())


def check_key(key: Any) -> None:
    if not isinstance(key, str) or not key:
        raise InvalidManifest(f"metric_series has a non-text or empty key {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidManifest(f"metric name {key[:40]!r}… is {len(key):,} characters; the "
                              f"limit is {MAX_KEY_LENGTH}")
    bad = unsafe_char(key) or next((c for c in key if 0xD800 <= ord(c) <= 0xDFFF), None)
    if bad is not None:
        raise InvalidManifest(f"metric name {key!r} holds the control character "
                              f"U+{ord(bad):04X}; use printable names")


def check_frame(frame: pl.DataFrame, where: str) -> pl.DataFrame:
    """A frame with columns key, step, value[, timestamp], checked with column operations
    only and cast to the stored types; InvalidManifest names the first bad row."""
    import polars as pl

    missing = {"key", "step", "value"} - set(frame.columns)
    if missing:
        raise InvalidManifest(f"{where} lacks the columns {', '.join(sorted(missing))}")
    if frame.height > MAX_POINTS:
        raise InvalidManifest(f"{where} has {frame.height:,} points; the limit is "
                              f"{MAX_POINTS:,}; thin the curves before storing them")
    if "timestamp" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("timestamp"))
    frame = frame.select(COLUMNS)
    keys = frame["key"].cast(pl.String, strict=False)
    if keys.null_count():
        raise InvalidManifest(f"{where} row {_first(keys.is_null())} has no metric name")
    unique = keys.unique()
    if unique.len() > MAX_KEYS:
        raise InvalidManifest(f"{where} has {unique.len():,} curves; the limit is {MAX_KEYS:,}")
    for key in unique.to_list():
        check_key(key)
    value = _values(frame["value"], where)
    step = _whole(frame["step"], where, "step", nulls=False)
    stamp = _whole(frame["timestamp"], where, "timestamp", nulls=True)
    return pl.DataFrame({"key": keys, "step": step, "value": value, "timestamp": stamp})


def _first(mask: pl.Series) -> int:
    return int(mask.arg_true()[0])


def _values(column: pl.Series, where: str) -> pl.Series:
    import polars as pl

    if column.dtype == pl.Boolean:
        raise InvalidManifest(f"{where}: values are booleans; metric values must be numbers")
    if column.dtype == pl.String:
        text = column.str.strip_chars().str.to_lowercase()
        special = text.replace_strict(_SPECIAL, default=None, return_dtype=pl.Float64)
        parsed = column.cast(pl.Float64, strict=False).fill_null(special)
        bad = parsed.is_null() & column.is_not_null()
        if bad.any():
            i = _first(bad)
            raise InvalidManifest(f"{where} row {i} value is {column[i]!r}; metric values "
                                  "must be numbers")
        column = parsed
    elif not column.dtype.is_numeric():
        raise InvalidManifest(f"{where}: values are {column.dtype}; they must be numbers")
    if column.null_count():
        raise InvalidManifest(f"{where} row {_first(column.is_null())} has no value; write "
                              "nan for a missing one")
    return column.cast(pl.Float64)


def _whole(column: pl.Series, where: str, name: str, *, nulls: bool) -> pl.Series:
    import polars as pl

    if column.dtype == pl.Null:
        column = column.cast(pl.Int64)
    if column.dtype == pl.Boolean or not (column.dtype.is_numeric()):
        raise InvalidManifest(f"{where}: {name}s are {column.dtype}; they must be whole numbers")
    if not nulls and column.null_count():
        raise InvalidManifest(f"{where} row {_first(column.is_null())} has no {name}")
    if column.dtype.is_float():
        ok = column.is_null() | (column.is_finite() & (column == column.floor())
                                 & (column.abs() < 2.0**63))
        if not ok.all():
            i = _first(~ok)
            raise InvalidManifest(f"{where} row {i} {name} is {column[i]!r}; it must be a "
                                  "whole number")
    try:
        return column.cast(pl.Int64, strict=True)
    except pl.exceptions.PolarsError:
        raise InvalidManifest(f"{where}: a {name} does not fit in 64 bits") from None


def sort_points(frame: pl.DataFrame) -> pl.DataFrame:
    """Sorted by key then step, keeping the logged order of repeated steps; no copy when the
    curves already come in order (they nearly always do)."""
    import polars as pl

    if frame.height < 2:
        return frame
    key, step = pl.col("key"), pl.col("step")
    disorder = frame.select(((key.shift(-1) < key) | ((key.shift(-1) == key)
                                                      & (step.shift(-1) < step))).any()).item()
    return frame.sort(["key", "step"], maintain_order=True) if disorder else frame




def sorted_summary(frame: pl.DataFrame) -> dict[str, dict] | None:
    """The per-key summary of a frame already in the stored shape (exact column types, no
    missing steps or values, keys contiguous and ascending, steps non-decreasing per key),
    checked and computed in one polars query. None when the frame is not in that shape:
    the caller then takes the general path (check_frame, sort_points), whose errors name
    the bad row. Accepting only, never refusing, keeps one source of error messages."""
    import polars as pl

    if dict(frame.schema) != _schema() or list(frame.columns) != list(COLUMNS):
        return None
    if not 0 < frame.height <= MAX_POINTS:
        return None
    if sum(frame.null_count().row(0)[:3]):  # key, step, value
        return None
    step, value = pl.col("step"), pl.col("value")
    finite = value.filter(value.is_finite())
    rows = frame.group_by("key", maintain_order=True).agg(
        value.last().alias("last"), step.last().alias("step"), finite.min().alias("min"),
        finite.max().alias("max"), pl.len().alias("points"),
        (step.diff() < 0).any().alias("_disorder"))
    runs = int(frame["key"].rle_id()[-1]) + 1  # as many runs of one key as keys: contiguous
    if rows.height > MAX_KEYS or runs != rows.height or rows["_disorder"].any():
        return None
    keys = rows["key"].to_list()
    if any(a >= b for a, b in zip(keys, keys[1:], strict=False)):  # code point order
        return None
    for name in keys:
        check_key(name)
    return {r[0]: {"last": r[1], "step": r[2], "min": r[3], "max": r[4], "points": r[5]}
            for r in rows.select("key", "last", "step", "min", "max", "points").iter_rows()}
