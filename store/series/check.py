"""Turning the metric curves a caller or a drop gives into one checked frame (key, step,
value, timestamp): the accepted shapes, and an error that names the key and the point when
one is wrong. The column checks themselves are in series_columns.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelyard.store.errors import InvalidManifest
from modelyard.store.series import columns
from modelyard.store.series.columns import (
    _SPECIAL,
    check_frame,
    check_key,
    empty_frame,
    sort_points,
)

if TYPE_CHECKING:
    import polars as pl


class SeriesTable(Mapping):
    """Curves read from a drop's metric file, kept as one frame. To code that wants lists it
    looks like {key: {"steps": [...], "values": [...], "timestamps": [...]}}, building a
    key's lists only when that key is asked for; the writer uses the frame as it is, or
    `raw`, the file's own bytes, when the frame is already in the stored shape."""

    def __init__(self, frame: pl.DataFrame, raw: bytes | None = None) -> None:
        self.frame = frame
        self.raw = raw  # the Parquet file the frame was read from whole, if it was
        self._names: list[str] | None = None

    @property
    def _keys(self) -> list[str]:
        if self._names is None:
            self._names = [str(k) for k in
                           self.frame["key"].unique(maintain_order=True).to_list()]
        return self._names

    def __getitem__(self, key: str) -> dict[str, list | None]:
        import polars as pl

        part = self.frame.filter(pl.col("key") == key)
        if part.is_empty():
            raise KeyError(key)
        stamps = part["timestamp"].to_list() if "timestamp" in part.columns else None
        return {"steps": part["step"].to_list(), "values": part["value"].to_list(),
                "timestamps": stamps}

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def normalize_series(series: Any) -> pl.DataFrame:
    """Check every point and return one frame (key, step, value, timestamp) sorted by key
    then step, stably. Accepts a polars frame (a drop's metric file) or, per key, a list of
    numbers (steps 0..n-1), a list of [step, value] or [step, value, timestamp_ms], or
    {"steps": [...], "values": [...], "timestamps": [...]}.
    """
    import polars as pl

    if isinstance(series, SeriesTable):
        series = series.frame
    if isinstance(series, pl.DataFrame):
        return sort_points(check_frame(series, "metric_series"))
    if not isinstance(series, Mapping):
        raise InvalidManifest("metric_series must map metric names to lists of points")
    if len(series) > columns.MAX_KEYS:
        raise InvalidManifest(f"metric_series has {len(series):,} curves; the limit is "
                              f"{columns.MAX_KEYS:,}")
    frames, total = [], 0
    plain: dict[str, Sequence] = {}  # curves given as lists of numbers: checked together
    for key, points in series.items():
        check_key(key)
        if isinstance(points, (list, tuple)) and all(type(p) in (float, int) for p in points):
            plain[key] = points
            total += len(points)
        else:
            frame = _key_frame(key, points, f"metric_series[{key!r}]")
            total += frame.height
            frames.append(frame)
        if total > columns.MAX_POINTS:
            raise InvalidManifest(f"metric_series has more than {columns.MAX_POINTS:,} points; "
                                  "thin the curves before storing them")
    if plain:
        frames.append(_plain_frame(plain))
    if not frames:
        return empty_frame()
    return sort_points(pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0])


def _plain_frame(curves: dict[str, Sequence]) -> pl.DataFrame:
    """One frame of many curves given as lists of numbers (steps 0..n-1), checked in one
    pass: a frame and its checks per curve cost more than the points of a short one. When
    that check fails, each curve is checked alone, so the error names its curve."""
    import polars as pl

    try:
        frame = pl.DataFrame({
            "key": [key for key, points in curves.items() for _ in range(len(points))],
            "step": [step for points in curves.values() for step in range(len(points))],
            "value": [float(v) for points in curves.values() for v in points],
            "timestamp": pl.Series([None] * sum(map(len, curves.values())), dtype=pl.Int64)},
            schema={"key": pl.String, "step": pl.Int64, "value": pl.Float64,
                    "timestamp": pl.Int64})
        return check_frame(frame, "metric_series")
    except (InvalidManifest, TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        return pl.concat([_key_frame(key, points, f"metric_series[{key!r}]")
                          for key, points in curves.items()], how="vertical")


def _key_frame(key: str, points: Any, where: str) -> pl.DataFrame:
    import polars as pl

    if isinstance(points, Mapping):
        values = _column(points.get("values"), where, "values")
        if values is None:
            raise InvalidManifest(f"{where} needs values (and optionally steps, timestamps)")
        steps = _column(points.get("steps"), where, "steps")
        stamps = _column(points.get("timestamps"), where, "timestamps")
        n = len(values)
        if steps is None:
            steps = range(n)
        if stamps is None:
            stamps = [None] * n
        if not (len(steps) == n == len(stamps)):
            raise InvalidManifest(f"{where}: steps, values and timestamps differ in length")
        columns = (steps, values, stamps)
    elif isinstance(points, (list, tuple)):
        if all(type(p) in (float, int) for p in points):  # the common case, kept fast
            columns = (range(len(points)), points, [None] * len(points))
        else:
            columns = _rows(points, where)
    else:
        raise InvalidManifest(f"{where} must be a list of points or a steps/values mapping")
    try:
        frame = pl.DataFrame({
            "key": pl.repeat(key, len(columns[1]), dtype=pl.String, eager=True),
            "step": _strict(columns[0], pl.Int64), "value": _strict(columns[1], pl.Float64),
            "timestamp": _strict(columns[2], pl.Int64)})
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        _explain(columns, where)  # raises InvalidManifest naming the point
        raise
    return check_frame(frame, where)


def _column(value: Any, where: str, name: str) -> Sequence | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
        raise InvalidManifest(f"{where}.{name} must be a list")
    return value


def _rows(points: Sequence, where: str) -> tuple[list, list, list]:
    steps, values, stamps = [], [], []
    for i, point in enumerate(points):
        if isinstance(point, (list, tuple)):
            if len(point) not in (2, 3):
                raise InvalidManifest(f"{where} point {i} has {len(point)} fields; use "
                                      "[step, value] or [step, value, timestamp_ms]")
            steps.append(point[0])
            values.append(point[1])
            stamps.append(point[2] if len(point) == 3 else None)
        else:
            steps.append(i)
            values.append(point)
            stamps.append(None)
    return steps, values, stamps


def _strict(values: Any, dtype: Any) -> pl.Series:
    """A typed column; only exact ints and floats pass (not bools, not text)."""
    import polars as pl

    if isinstance(values, pl.Series):
        if values.dtype == pl.Boolean or values.dtype == pl.String:
            raise TypeError("wrong column type")
        return values.cast(dtype, strict=True)
    if isinstance(values, range):
        return pl.Series(values, dtype=dtype)
    if dtype == pl.Float64:
        values = [_SPECIAL.get(v.strip().lower(), v) if isinstance(v, str) else v
                  for v in values] if any(isinstance(v, str) for v in values) else values
    if not all(type(v) in (int, float) or v is None for v in values):
        raise TypeError("a point is not a number")
    if dtype == pl.Int64 and not all(v is None or (
            -(2**63) <= v < 2**63 and (type(v) is int or v == math.floor(v)))
            for v in values):  # NaN and infinities fail the range test
        raise TypeError("a step is not a whole number that fits in 64 bits")
    return pl.Series(values, dtype=dtype, strict=False) if dtype == pl.Int64 else \
        pl.Series([float(v) if v is not None else None for v in values], dtype=dtype)


def _explain(columns: tuple, where: str) -> None:
    """Find the first bad point and say which and why (only runs when a column failed)."""
    for i, (step, value, stamp) in enumerate(zip(*columns, strict=True)):
        _number(value, f"{where} point {i} value")
        _int(step, f"{where} point {i} step")
        if stamp is not None:
            _int(stamp, f"{where} point {i} timestamp")
    raise InvalidManifest(f"{where} holds values that are not numbers")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise InvalidManifest(f"{where} is a boolean; metric values must be numbers")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            raise InvalidManifest(f"{where} is too large for a 64-bit float") from None
    if isinstance(value, str) and value.strip().lower() in _SPECIAL:
        return _SPECIAL[value.strip().lower()]
    raise InvalidManifest(f"{where} is {value!r}; metric values must be numbers")


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise InvalidManifest(f"{where} is {value!r}; it must be a whole number")
    if int(value) != value or not -(2**63) <= int(value) < 2**63:
        raise InvalidManifest(f"{where} is {value!r}; it must be a whole number")
    return int(value)


