"""A grid of small plots, one per metric: several curves at once, for one version (the
card's Metrics tab) or overlaid for compared versions (compare's Curves tab)."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.containers import VerticalScroll
from textual_plotext import PlotextPlot

from ..safe_text import printable

MAX_PANELS = 12   # more metrics than this: the toolbar says how many were left out
PANEL_WIDTH = 38  # cells a small plot needs for its y labels and a readable curve
PANEL_HEIGHT = 8  # rows: title, five of plot, x ticks; the grid scrolls below that


@dataclass
class Line:
    label: str
    xs: list[float]
    ys: list[float]
    marker: str = "braille"


@dataclass
class Panel:
    """One small plot: a metric and its curve(s)."""

    title: str
    lines: list[Line] = field(default_factory=list)


class CurveGrid(VerticalScroll, can_focus=True):
    """Small plots in as many columns as fit; up/down scroll when they do not all fit."""

    DEFAULT_CSS = """
    CurveGrid { height: 1fr; layout: grid; grid-gutter: 0 1; grid-size: 2; }
    CurveGrid > PlotextPlot { height: 100%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.titles: list[str] = []  # what is drawn, for tests and the toolbar
        self.points = 0

    def show(self, panels: list[Panel], *, log_y: bool = False) -> None:
        """Draw one small plot per panel (at most MAX_PANELS), in as many columns as fit
        the grid's width, each as tall as the grid's height allows (at least PANEL_HEIGHT
        rows: below that the grid scrolls)."""
        panels = panels[:MAX_PANELS]
        self.remove_children()
        plots = []
        self.titles, self.points = [], 0
        for panel in panels:
            plot = PlotextPlot()
            plt = plot.plt
            for line in panel.lines:
                if line.xs:
                    plt.plot(line.xs, line.ys, marker=line.marker)
                    self.points += len(line.xs)
            title = printable(panel.title)[:PANEL_WIDTH - 4]
            plt.title(title)
            plt.yscale("log" if log_y else "linear")
            self.titles.append(title)
            plots.append(plot)
        if plots:
            self.mount_all(plots)
        self._fit()
        self.call_after_refresh(self._fit)  # shown just now: its size comes with layout

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        count = len(self.titles)
        width = self.size.width or self.app.size.width
        height = self.size.height or max(PANEL_HEIGHT, self.app.size.height - 12)
        columns = max(1, min(4, width // PANEL_WIDTH, count or 1))
        rows = -(-count // columns) if count else 1
        self.styles.grid_size_columns = columns
        self.styles.grid_rows = str(max(PANEL_HEIGHT, height // rows))
