"""What the param-versus-metric views plot, computed without any UI: the listed versions'
params and metrics, an axis per key (numbers, or categories at evenly spaced positions),
scatter points and parallel-coordinate lines."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from modelyard.store import ModelyardError, Store

from .safe_text import fmt_number, printable

CAP = 2000           # versions read for the views: the first of the listed ones
PARALLEL_LINES = 300  # lines drawn in parallel coordinates (plotext slows past that)


@dataclass
class Row:
    ref: str
    model: str
    params: dict[str, Any]
    metrics: dict[str, float]


@dataclass
class Rows:
    """The listed versions as read: `total` matched the search, `rows` are the first CAP."""

    rows: list[Row] = field(default_factory=list)
    total: int = 0
    unreadable: int = 0

    def param_keys(self) -> list[tuple[str, int, int]]:
        """(key, versions having it, distinct values), most common first."""
        return _keys([r.params for r in self.rows])

    def metric_keys(self) -> list[tuple[str, int, int]]:
        return _keys([r.metrics for r in self.rows])


def _keys(dicts: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    having: Counter[str] = Counter()
    values: dict[str, set[str]] = {}
    for d in dicts:
        for k, v in d.items():
            having[k] += 1
            values.setdefault(k, set()).add(repr(v))
    return sorted(((k, n, len(values[k])) for k, n in having.items()),
                  key=lambda t: (-t[1], t[0]))


def read_rows(store: Store, query: str, *, model: str | None = None, cap: int = CAP) -> Rows:
    """The first `cap` versions the search lists, with flattened params (run it in a
    worker: it reads every record file)."""
    from modelyard.store.versions.card import flatten_params

    versions = store.search(query, limit=cap, model=model)
    out = Rows(total=len(versions) if len(versions) < cap else store.count(query, model=model))
    for v in versions:
        try:
            out.rows.append(Row(v.ref, v.model, flatten_params(v.params), v.metrics))
        except ModelyardError:  # a damaged record: left out, and counted
            out.unreadable += 1
    return out


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value)


@dataclass
class Axis:
    """Where a key's values sit on an axis: numbers as they are, anything else (text,
    booleans, lists) as categories at positions 0, 1, 2... in sorted order."""

    key: str
    numeric: bool
    categories: list[str] = field(default_factory=list)
    lo: float = 0.0
    hi: float = 1.0

    @classmethod
    def of(cls, key: str, values: list[Any]) -> Axis:
        present = [v for v in values if v is not None]
        if present and all(is_number(v) for v in present):
            return cls(key, True, lo=float(min(present)), hi=float(max(present)))
        categories = sorted({category(v) for v in present})
        return cls(key, False, categories, 0.0, float(max(0, len(categories) - 1)))

    def position(self, value: Any) -> float | None:
        if value is None:
            return None
        if self.numeric:
            return float(value) if is_number(value) else None
        return float(self.categories.index(category(value)))

    def unit(self, value: Any) -> float | None:
        """The position scaled to 0..1 (one value only: the middle)."""
        pos = self.position(value)
        if pos is None:
            return None
        return 0.5 if self.hi == self.lo else (pos - self.lo) / (self.hi - self.lo)

    def describe(self) -> str:
        """The axis's range in words: `lr 1e-05..0.01` or `optimizer adam | sgd`."""
        if self.numeric:
            return f"{printable(self.key)} {fmt_number(self.lo)}..{fmt_number(self.hi)}"
        shown = " | ".join(self.categories[:6]) + (" | …" if len(self.categories) > 6 else "")
        return f"{printable(self.key)} {shown}"


def category(value: Any) -> str:
    """A non-numeric value as a category's label (control characters made visible)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return printable(value if isinstance(value, str) else repr(value))


@dataclass
class Scatter:
    xs: list[float]
    ys: list[float]
    models: list[str]
    axis: Axis
    missing: int  # listed versions without the param or a finite metric value


def scatter(rows: list[Row], param: str, metric: str) -> Scatter:
    axis = Axis.of(param, [r.params.get(param) for r in rows])
    xs, ys, models, missing = [], [], [], 0
    for r in rows:
        x, y = axis.position(r.params.get(param)), r.metrics.get(metric)
        if x is None or y is None or not is_number(y):
            missing += 1
            continue
        xs.append(x)
        ys.append(float(y))
        models.append(r.model)
    return Scatter(xs, ys, models, axis, missing)


@dataclass
class Parallel:
    axes: list[Axis]              # the params, then the metric
    tiers: list[list[list[float]]]  # per tier (best third first), lines of 0..1 positions
    drawn: int
    having: int                   # versions having every chosen key
    missing: int


def parallel(rows: list[Row], params: list[str], metric: str, *, lower_better: bool,
             cap: int = PARALLEL_LINES) -> Parallel:
    """One line per version across the chosen params and the metric, split in thirds by the
    metric (best third first), at most `cap` lines (every n-th in the metric's order)."""
    having = [r for r in rows if all(r.params.get(p) is not None for p in params)
              and is_number(r.metrics.get(metric))]
    axes = [Axis.of(p, [r.params.get(p) for r in having]) for p in params]
    axes.append(Axis.of(metric, [r.metrics[metric] for r in having]))
    ranked = sorted(having, key=lambda r: r.metrics[metric], reverse=not lower_better)
    if len(ranked) > cap:
        step = len(ranked) / cap
        ranked = [ranked[int(i * step)] for i in range(cap)]
    tiers: list[list[list[float]]] = [[], [], []]
    for i, r in enumerate(ranked):
        values = [r.params.get(p) for p in params] + [r.metrics[metric]]
        line = [a.unit(v) for a, v in zip(axes, values, strict=True)]
        tier = tiers[min(2, i * 3 // max(1, len(ranked)))]
        tier.append(line)  # type: ignore[arg-type]  # no None: `having` has every value
    return Parallel(axes, tiers, len(ranked), len(having), len(rows) - len(having))


def zigzag(lines: list[list[float]]) -> tuple[list[float], list[float]]:
    """Many polylines as one series: every other line runs backwards, so the joins between
    lines run along an axis (where the axis line is drawn) instead of across the plot."""
    xs: list[float] = []
    ys: list[float] = []
    for i, line in enumerate(lines):
        points = list(enumerate(line))
        for x, y in points if i % 2 == 0 else reversed(points):
            xs.append(float(x))
            ys.append(y)
    return xs, ys
