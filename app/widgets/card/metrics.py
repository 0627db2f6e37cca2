"""Metrics: final values in a table, chosen curves plotted with plotext beside it, or a grid
of small plots, one per metric (g)."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from modelyard.app.explorer import ExplorerApp
from modelyard.app.safe_text import fmt_number, printable
from modelyard.app.widgets.card.curve_keys import CURVE_BINDINGS, CurveKeys, toolbar_bits
from modelyard.app.widgets.card.curves import CurveView, overview_serves, prepare
from modelyard.app.widgets.curve_grid import MAX_PANELS, CurveGrid, Line, Panel
from modelyard.store import Version


class SeriesCache:
    """One version's curves, each read once and each view of them prepared once: the card
    reads and prepares its first curve as soon as it opens, and the Metrics tab asking
    meanwhile waits for that work instead of repeating it (a million points cost ~50 ms to
    read and decode and ~20 ms to downsample)."""

    def __init__(self, version: Version) -> None:
        self.version = version
        self._lock = threading.Lock()
        self._done: dict[tuple, Future] = {}

    @classmethod
    def of(cls, version: Version) -> SeriesCache:
        cache = version.__dict__.get("_series_cache")
        if cache is None:
            cache = version.__dict__["_series_cache"] = cls(version)
        return cache

    def _once(self, token: tuple, work: Any) -> Any:
        with self._lock:
            done = self._done.get(token)
            mine = done is None
            if done is None:
                done = self._done[token] = Future()
        if mine:
            try:
                done.set_result(work())
            except BaseException as exc:
                done.set_exception(exc)
        return done.result()

    def get(self, key: str) -> Any:
        """The polars frame of one curve (raises what reading it raised)."""
        return self._once(("frame", key), lambda: self.version.metric_series(key))

    def overview(self, key: str) -> Any | None:
        """The curve's overview frame (a few thousand points), or None if it has none."""
        return self._once(("overview", key), lambda: self.version.metric_overview(key))

    def prepared(self, key: str, view: CurveView) -> tuple[list[float], list[float], str]:
        """(x, y, note) of one curve as `view` shows it: from its overview when that draws
        the same picture (a million-point curve opens without reading its million rows)."""
        token = ("view", key, *sorted(vars(view).items()))

        def work() -> tuple[list[float], list[float], str]:
            brief = self.overview(key) if overview_serves(view) else None
            if brief is None:
                return prepare(self.get(key), view)
            return prepare(brief, view, points=self._points(key))

        return self._once(token, work)

    def _points(self, key: str) -> int | None:
        info = (self.version.record.get("metric_series") or {}).get("keys") or {}
        return (info.get(key) or {}).get("points")

    def ready(self, key: str) -> Any | None:
        """The curve's frame if read, else its overview if read (the same steps but for
        non-finite points at the ends), for the zoom's bounds; None before either is."""
        for token in (("frame", key), ("overview", key)):
            done = self._done.get(token)
            if done is not None and done.done() and done.exception() is None and \
                    done.result() is not None:
                return done.result()
        return None


def curve_keys(version: Version) -> list[str]:
    """Keys with a curve, longest first; and the one plotted when the tab opens."""
    info = (version.record.get("metric_series") or {}).get("keys") or {}
    return sorted(info, key=lambda k: (-(info[k].get("points") or 0), k))


def first_curve(version: Version) -> str | None:
    curves = curve_keys(version)
    preferred = [k for k in curves if "loss" in k.lower()][:1] or curves[:1]
    return preferred[0] if preferred else None


class MetricsPane(CurveKeys, Horizontal):
    """Enter or space on a metric toggles its curve; l log, o smoothing, w x axis, +/- zoom,
    </> pan, 0 reset, g a grid of small plots (the marked metrics, or all) or one plot."""

    app = getters.app(ExplorerApp)

    BINDINGS = CURVE_BINDINGS

    def compose(self) -> ComposeResult:
        with Vertical(classes="pane-left"):
            yield DataTable(id="metric-table", cursor_type="row", zebra_stripes=True)
        with Vertical(classes="pane-right"):
            yield Static("", id="curve-toolbar", classes="toolbar")
            yield PlotextPlot(id="curve-plot")
            yield CurveGrid(id="curve-grid")

    def on_mount(self) -> None:
        self.query_one(CurveGrid).display = False

    def show(self, v: Version) -> None:
        self.version = v
        self.view = CurveView()
        self.series = SeriesCache.of(v)
        self.plotted: list[str] = []
        self.grid = getattr(self, "grid", False)
        self._drawn: list[str] = []
        info = (v.record.get("metric_series") or {}).get("keys") or {}
        self._rows = []
        for key, value in v.metrics.items():
            s = info.get(key) or {}
            self._rows.append((key, [printable(key), fmt_number(value),
                                     fmt_number(s.get("min")), fmt_number(s.get("max")),
                                     f"{s.get('points', 0):,}"]))
        self._fill_table()
        first = first_curve(v)
        if first is not None:
            self._toggle(first)
        else:
            self._draw([], "this version has no metric curves")

    def _fill_table(self) -> None:
        """The rows, fitted to the screen's width now (again on a resize), keeping the
        cursor and the marks of plotted curves."""
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        headers, name_cells = self._fit_table([cells for _key, cells in self._rows])
        self._fitted_width = self.app.size.width
        table.add_columns(*headers)
        for key, (name, *numbers) in self._rows:
            label = Text(name)
            label.truncate(name_cells, overflow="ellipsis")
            cells = [Text(n) for n in numbers][: len(headers) - 2]
            mark = Text("●" if key in self.plotted else " ", style="bold")
            table.add_row(mark, label, *cells, key=key)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

    def on_resize(self) -> None:
        if getattr(self, "_rows", None) is not None and \
                self.app.size.width != getattr(self, "_fitted_width", None):
            self._fill_table()

    def _fit_table(self, rows: list[list[str]]) -> tuple[tuple[str, ...], int]:
        """Size the table's pane to its content, within 60% of the screen, so no number is
        ever cut (the pane was 34 columns at every size: `4.672` for 4.672e-09). When it
        does not fit, the points column goes first (the plot's note says how many), then
        metric names are elided. Returns the columns to show and the cells a name may take.
        """
        headers: tuple[str, ...] = ("", "metric", "final", "min", "max", "points")
        padding = 2 * self.query_one(DataTable).cell_padding
        gutter = 2  # the table's vertical scrollbar
        limit = max(34, int(self.app.size.width * 0.6))
        widths = [1] + [max([len(h)] + [len(r[i]) for r in rows])
                        for i, h in enumerate(headers[1:])]
        total = sum(w + padding for w in widths) + gutter
        if total > limit:
            headers, total = headers[:-1], total - widths[-1] - padding
        name = widths[1]
        if total > limit:
            name = max(8, name - (total - limit))
            total -= widths[1] - name
        self.query_one(".pane-left").styles.width = total
        return headers, name

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._toggle(str(event.row_key.value))

    def key_space(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            self._toggle(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))

    def _toggle(self, key: str) -> None:
        info = (self.version.record.get("metric_series") or {}).get("keys") or {}
        if key not in info:
            self.notify(f"{printable(key)} has a final value but no curve", markup=False)
            return
        if key in self.plotted:
            self.plotted.remove(key)
        else:
            self.plotted.append(key)
        table = self.query_one(DataTable)
        table.update_cell(key, table.ordered_columns[0].key,
                          Text("●" if key in self.plotted else " ", style="bold"))
        self.redraw()

    def grid_keys(self) -> list[str]:
        """The grid's metrics: the marked ones when two or more are, else every curve."""
        if len(self.plotted) >= 2:
            return list(self.plotted)
        return curve_keys(self.version)[:MAX_PANELS]

    def redraw(self) -> None:
        # A fixed 200 buckets (at most 800 points, more than a terminal plot resolves), so
        # the card's loader can prepare the first curve before this pane even exists.
        table, grid = self.query_one(".pane-left"), self.query_one(CurveGrid)
        if table.display == self.grid:  # g switched: the grid takes the table's room too
            table.display = not self.grid
            self.query_one("#curve-plot").display = not self.grid
            grid.display = self.grid
            (grid if self.grid else self.query_one(DataTable)).focus()
        self._drawn = self.grid_keys() if self.grid else list(self.plotted)
        self._compute(list(self._drawn), CurveView(**vars(self.view)))

    @work(thread=True, exclusive=True, group="curves")
    def _compute(self, keys: list[str], view: CurveView) -> None:
        lines, notes = [], []
        from modelyard.store.check.integrity import note_read_error
        from modelyard.store.errors import StoreCorrupt

        for key in keys:
            try:
                xs, ys, note = self.series.prepared(key, view)
            except StoreCorrupt as exc:
                note_read_error(self.app.store.index, exc)
                self.app.call_from_thread(self._draw, [], f"curves unreadable: {exc}")
                return
            lines.append((key, xs, ys))
            if note:
                notes.append(note)
        self.app.call_from_thread(self._draw, lines, "; ".join(dict.fromkeys(notes)))

    def _draw(self, lines: list, note: str) -> None:
        if self.grid:
            self._draw_grid(lines, note)
            return
        plot = self.query_one("#curve-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        for key, xs, ys in lines:
            if xs:
                plt.plot(xs, ys, label=printable(key)[:30], marker="braille")
        plt.yscale("log" if self.view.log_y else "linear")
        plt.xlabel("minutes since start" if self.view.x_axis == "time" else "step")
        plot.refresh()
        self._toolbar(note)

    def _draw_grid(self, lines: list, note: str) -> None:
        grid = self.query_one(CurveGrid)
        panels = [Panel(key, [Line(printable(key), xs, ys)]) for key, xs, ys in lines]
        grid.show(panels, log_y=self.view.log_y)
        total = len(curve_keys(self.version))
        which = "the marked" if len(self.plotted) >= 2 else "all: g, mark some, g"
        shown = f"{len(panels)} of {total} curves ({which})"
        self._toolbar("; ".join(n for n in (shown, note) if n))

    def _toolbar(self, note: str) -> None:
        toolbar = Text("  ·  ".join(toolbar_bits(self.view, self.grid)))
        if note:
            toolbar.append("\n" + printable(note), style="dim")
        self.query_one("#curve-toolbar", Static).update(toolbar)

    def _bounds(self) -> tuple[int, int] | None:
        info = (self.version.record.get("metric_series") or {}).get("keys") or {}
        frames = [f for f in map(self.series.ready, self._drawn) if f is not None]
        if not frames:
            return None
        lo = min(int(f["step"].min()) for f in frames if f.height)
        hi = max(int(f["step"].max()) for f in frames if f.height)
        return (lo, hi) if hi > lo and info else None
