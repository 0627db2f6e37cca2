"""Preparing curves for the terminal: range, smoothing, x axis and downsampling, in polars,
off the event loop. A million points become a few hundred without losing a spike."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CurveView:
    """How the user wants the curves drawn."""

    log_y: bool = False
    smoothing: float = 0.0          # exponential moving average weight, as in TensorBoard
    x_axis: str = "step"            # step or time
    step_range: tuple[int, int] | None = None
    buckets: int = 200


SMOOTHING_STEPS = (0.0, 0.6, 0.9, 0.99)


def prepare(frame, view: CurveView, *,
            points: int | None = None) -> tuple[list[float], list[float], str]:
    """(x, y, note) for one metric's series `frame` (columns step, value, timestamp): all of
    it, or its overview standing for `points` points."""
    import polars as pl

    from modelyard.store.series.frames import downsample

    note = ""
    if view.step_range is not None:
        lo, hi = view.step_range
        frame = frame.filter((pl.col("step") >= lo) & (pl.col("step") <= hi))
    frame = frame.filter(pl.col("value").is_finite())
    if view.smoothing > 0 and frame.height:
        frame = frame.with_columns(pl.col("value").ewm_mean(alpha=1 - view.smoothing,
                                                             adjust=True))
    if view.log_y:
        before = frame.height
        frame = frame.filter(pl.col("value") > 0)
        if frame.height < before:
            note = "non-positive values hidden on the log scale"
    total = frame.height if points is None else points
    frame = downsample(frame, view.buckets)
    if frame.height < total:
        note = (note + "; " if note else "") + f"{total:,} points drawn as {frame.height:,}"
    if view.x_axis == "time" and frame.height and frame["timestamp"].null_count() == 0:
        first = frame["timestamp"].min()
        xs = [(t - first) / 60000 for t in frame["timestamp"].to_list()]
    else:
        if view.x_axis == "time":
            note = (note + "; " if note else "") + "no timestamps: x is the step"
        xs = [float(s) for s in frame["step"].to_list()]
    return xs, frame["value"].to_list(), note


def overview_serves(view: CurveView) -> bool:
    """Whether a curve's overview draws `view` as its full series would: the whole curve,
    unsmoothed (a moving average needs every point, a zoom more detail), at a resolution
    the overview holds."""
    from modelyard.store.series.frames import OVERVIEW_BUCKETS

    return view.step_range is None and view.smoothing == 0 and view.buckets <= OVERVIEW_BUCKETS


def zoom(bounds: tuple[int, int], current: tuple[int, int] | None, factor: float,
         shift: float = 0.0) -> tuple[int, int] | None:
    """Zoom (factor < 1 narrows) and pan (shift in widths) within `bounds`."""
    lo, hi = current or bounds
    width = max(1.0, (hi - lo) * factor)
    center = (lo + hi) / 2 + shift * (hi - lo)
    new_lo = max(bounds[0], int(center - width / 2))
    new_hi = min(bounds[1], int(center + width / 2))
    if new_hi - new_lo < 2 or (new_lo, new_hi) == bounds:
        return None if (new_lo, new_hi) == bounds else current
    return new_lo, new_hi
