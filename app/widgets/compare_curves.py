"""Compare's Curves tab: one metric of every compared version overlaid (a marker per
version, so the curves read without colour), or a grid of small plots, one per metric
(g). The card's curve keys mean the same here: l, o, w, +, -, <, >, 0."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual_plotext import PlotextPlot

from modelyard.store import ModelyardError, Version

from ..safe_text import plain, printable
from .card.curve_keys import CURVE_BINDINGS, CurveKeys, toolbar_bits
from .card.curves import CurveView
from .card.metrics import SeriesCache
from .curve_grid import MAX_PANELS, CurveGrid, Line, Panel

MARKERS = ("•", "+", "x", "o", "*", "#", "%", "@")


class CompareCurves(CurveKeys, Horizontal):
    """The metric list on the left (down/up choose), the plot or the grid on the right."""

    BINDINGS = CURVE_BINDINGS
    DEFAULT_CSS = """
    CompareCurves #cmp-curve-toolbar { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = CurveView()
        self.grid = False
        self.versions: list[Version] = []
        self.keys: list[str] = []
        self.key: str | None = None
        self.curve_refs: list[str] = []  # what is drawn, for tests and titles

    def compose(self) -> ComposeResult:
        yield OptionList(id="cmp-curve-keys", classes="pane-left")
        with Vertical(classes="pane-right"):
            yield Static("", id="cmp-curve-toolbar", classes="toolbar")
            yield PlotextPlot(id="cmp-plot")
            yield CurveGrid(id="cmp-grid")

    def on_mount(self) -> None:
        self.query_one(CurveGrid).display = False

    def show(self, versions: list[Version]) -> None:
        self.versions = versions
        self.keys = sorted({k for v in versions for k in v.metric_keys})
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(plain(k), id=k) for k in self.keys])
        if self.keys:
            options.highlighted = 0
        else:
            self._toolbar("these versions have no metric curves")

    @on(OptionList.OptionHighlighted, "#cmp-curve-keys")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.key = event.option.id or ""
        self.redraw()

    def redraw(self) -> None:
        keys = self.keys[:MAX_PANELS] if self.grid else [self.key] if self.key else []
        listing, grid = self.query_one(OptionList), self.query_one(CurveGrid)
        if listing.display == self.grid:  # g switched: the grid takes the list's room too
            listing.display = not self.grid
            self.query_one("#cmp-plot").display = not self.grid
            grid.display = self.grid
            (grid if self.grid else listing).focus()
        self._drawn = keys
        self._compute(keys, CurveView(**vars(self.view)))

    @work(thread=True, exclusive=True, group="compare-curves")
    def _compute(self, keys: list[str], view: CurveView) -> None:
        panels, notes = [], []
        for key in keys:
            lines = []
            for i, v in enumerate(self.versions):
                if key not in v.metric_keys:
                    continue
                try:
                    xs, ys, note = SeriesCache.of(v).prepared(key, view)
                except ModelyardError as exc:
                    notes.append(f"{v.ref}: {exc}")
                    continue
                lines.append(Line(v.ref, xs, ys, MARKERS[i % len(MARKERS)]))
                # per curve, how many points were drawn would repeat for every version
                notes += [n for n in note.split("; ") if n and "drawn as" not in n]
            panels.append(Panel(key, lines))
        self.app.call_from_thread(self._draw, panels, "; ".join(dict.fromkeys(notes)))

    def _draw(self, panels: list[Panel], note: str) -> None:
        if self.grid:
            shown = f"{len(panels)} of {len(self.keys)} metrics"
            self.query_one(CurveGrid).show(panels, log_y=self.view.log_y)
            self.curve_refs = sorted({line.label for p in panels for line in p.lines})
            self._toolbar("; ".join(n for n in (shown, note) if n))
            return
        plot = self.query_one("#cmp-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        lines = panels[0].lines if panels else []
        self.curve_refs = [line.label for line in lines]
        for line in lines:
            # a marker per version too, not only a colour: NO_COLOR and monochrome terminals
            plt.plot(line.xs, line.ys, label=printable(line.label)[:30], marker=line.marker)
        if panels:
            plt.title(printable(panels[0].title)[:60])
        plt.yscale("log" if self.view.log_y else "linear")
        plt.xlabel("minutes since start" if self.view.x_axis == "time" else "step")
        plot.refresh()
        self._toolbar(note)

    def _toolbar(self, note: str) -> None:
        text = Text("  ·  ".join(toolbar_bits(self.view, self.grid)))
        if self.grid and self.versions:  # the legend: small plots have no room for one
            text.append("\n" + "  ".join(f"{MARKERS[i % len(MARKERS)]} {printable(v.ref)}"
                                         for i, v in enumerate(self.versions)))
        if note:
            text.append("\n" + printable(note), style="dim")
        self.query_one("#cmp-curve-toolbar", Static).update(text)

    def _bounds(self) -> tuple[int, int] | None:
        frames = [SeriesCache.of(v).ready(k) for v in self.versions
                  for k in getattr(self, "_drawn", [])]
        steps = [(int(f["step"].min()), int(f["step"].max())) for f in frames
                 if f is not None and f.height]
        if not steps:
            return None
        lo, hi = min(s[0] for s in steps), max(s[1] for s in steps)
        return (lo, hi) if hi > lo else None
