"""Timing and the result rows every benchmark reports: median, min and max over repeated
runs, the ratio against a baseline measured in the same run, and whether a target is met."""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Stats:
    median: float
    min: float
    max: float
    runs: int

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))

    def scaled(self, factor: float) -> Stats:
        return Stats(self.median * factor, self.min * factor, self.max * factor, self.runs)

    def inverted(self, amount: float) -> Stats:
        """Seconds per job as jobs per second (`amount` jobs per sample): min and max swap."""
        return Stats(amount / self.median, amount / self.max, amount / self.min, self.runs)


def timed(fn: Callable[[], Any], *, repeat: int = 5, warmup: int = 1,
          setup: Callable[[], Any] | None = None) -> Stats:
    """Seconds per call of `fn`: `warmup` calls not counted, then `repeat` measured ones,
    each after `setup()` (not timed). The collector is off while timing."""
    for _ in range(warmup):
        if setup is not None:
            setup()
        fn()
    samples = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        gc.disable()
        try:
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return Stats.of(samples)


@dataclass
class Result:
    """One line of the results table."""

    group: str
    name: str
    stats: Stats | None  # in `unit`
    unit: str
    baseline: str = ""  # what the ratio compares against
    ratio: float | None = None  # how many times better than the baseline (>1: better)
    target: str = ""  # e.g. "median < 20 ms"
    met: bool | None = None  # None: no target, or not measurable here
    note: str = ""
    size: int | None = None  # the store size it ran on, when it depends on one
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def value(self) -> float | None:
        return None if self.stats is None else self.stats.median


def ms(stats: Stats) -> Stats:
    return stats.scaled(1000)


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT MET", None: ""}[met]


def row(r: Result) -> list[str]:
    s = r.stats
    ratio = "" if r.ratio is None else f"{fmt(r.ratio)}x {r.baseline}"
    size = "" if r.size is None else f"{r.size:,}"
    return [r.group, r.name, size, fmt(s.median if s else None), fmt(s.min if s else None),
            fmt(s.max if s else None), r.unit, ratio, r.target, verdict(r.met)]


HEADERS = ["group", "benchmark", "versions", "median", "min", "max", "unit",
           "vs baseline (same run)", "target", "met"]


def text_table(results: list[Result]) -> str:
    rows = [HEADERS, *(row(r) for r in results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: list[Result]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for r in results:
        cells = [c.replace("|", "\\|") for c in row(r)]
        if r.met is False:
            cells[-1] = "**NOT MET**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def process_env(base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment of a timed process, as a user's would be: with Python's bytecode
    cache. (A sandbox may set PYTHONDONTWRITEBYTECODE, which makes every start of an
    editable install compile the package again: ~40 ms per CLI command, ~60 ms per app
    start, that no installed copy pays.) The first, untimed run of each benchmark writes
    the cache."""
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env
