"""Params against a metric across the versions the search lists (the first 2,000): a
scatter of one metric against one param, or parallel coordinates of several params and the
metric. Text, booleans and lists sit at evenly spaced category positions; every series
has its own marker, so the views read without colour (NO_COLOR)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Static
from textual_plotext import PlotextPlot

from modelyard.app.explorer import ExplorerApp
from modelyard.app.param_data import CAP, Rows, parallel, read_rows, scatter, zigzag
from modelyard.app.safe_text import printable
from modelyard.app.screens.compare_data import lower_is_better
from modelyard.app.widgets.axis_picker import AxisPicker
from modelyard.app.widgets.footer import Footer

MARKERS = ("•", "+", "x", "o", "*", "#", "%", "@")
TIER_NAMES = ("best third", "middle third", "worst third")
MODELS_APART = 6  # up to this many models, each gets its own marker and legend entry


class ParamViewScreen(Screen):
    app = getters.app(ExplorerApp)

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("v", "toggle_view", "Scatter/parallel"),
        Binding("x", "pick_params", "Param(s)"),
        Binding("y", "pick_metric", "Metric"),
        Binding("l", "toggle_log_x", "Log x"),
    ]
    DEFAULT_CSS = """
    ParamViewScreen #pv-title { height: auto; padding: 0 1; background: $panel; }
    ParamViewScreen #pv-note { height: auto; padding: 0 1; color: $text-muted; }
    ParamViewScreen PlotextPlot { height: 1fr; }
    """

    def __init__(self, query: str, *, shown: str = "", model: str | None = None,
                 metrics: Sequence[str] = (), params: Sequence[str] = ()) -> None:
        super().__init__()
        self.query_text, self.model = query, model
        self.shown_query = shown  # what the person typed (query adds the table's order)
        self.metric: str | None = None
        self.param: str | None = None
        self.params: list[str] = []
        self.view = "scatter"
        self.log_x = False
        self.data = Rows()
        self.plotted = 0  # points (scatter) or lines (parallel) drawn, for tests and notes
        self._wanted = (list(metrics), list(params))  # the table's columns, tried first

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="pv-title")
        yield PlotextPlot(id="pv-plot")
        yield Static("", id="pv-note")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "modelyard"
        self.sub_title = "params against a metric"
        self.query_one("#pv-title", Static).update(Text("Reading the listed versions…"))
        self.load()

    @work(thread=True, exclusive=True, group="param-views")
    def load(self) -> None:
        data = read_rows(self.app.store, self.query_text, model=self.model)
        self.app.call_from_thread(self._loaded, data)

    def _loaded(self, data: Rows) -> None:
        self.data = data
        metrics = [k for k, _n, _d in data.metric_keys()]
        varying = [k for k, _n, d in data.param_keys() if d > 1] or \
            [k for k, _n, _d in data.param_keys()]
        want_metrics, want_params = self._wanted
        self.metric = next((m for m in want_metrics if m in metrics), None) or \
            next(iter(metrics), None)
        self.param = next((p for p in want_params if p in varying), None) or \
            next(iter(varying), None)
        self.params = ([p for p in want_params if p in varying] + varying)[:4]
        self.params = list(dict.fromkeys(self.params))[:4]
        self.draw()

    def draw(self) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        self.plotted = 0
        if self.metric is None or (self.param is None and not self.params):
            note = "the listed versions have no params and metrics to plot"
        elif self.view == "scatter":
            note = self._scatter(plt)
        else:
            note = self._parallel(plt)
        plot.refresh()
        self._title(note)

    def _title(self, note: str) -> None:
        data = self.data
        title = Text("Params against a metric: ", style="bold")
        read = len(data.rows) + data.unreadable
        title.append(f"{read:,} listed versions" + (f" (the first {CAP:,} of {data.total:,})"
                                                     if data.total > read else ""))
        if self.shown_query.strip():
            title.append("  search: " + printable(self.shown_query)[:80], style="dim")
        if data.unreadable:
            title.append(f"\n{data.unreadable} unreadable records left out", style="bold")
        self.query_one("#pv-title", Static).update(title)
        keys = (f"{self.view} (v)  ·  metric: {printable(self.metric or '-')} (y)  ·  "
                + (f"param: {printable(self.param or '-')} (x)  ·  log x: "
                   f"{'on' if self.log_x else 'off'} (l)" if self.view == "scatter" else
                   f"params: {printable(', '.join(self.params) or '-')} (x)"))
        self.query_one("#pv-note", Static).update(Text(keys + "\n" + note))

    def _scatter(self, plt) -> str:
        assert self.metric is not None and self.param is not None
        s = scatter(self.data.rows, self.param, self.metric)
        self.plotted = len(s.xs)
        models = list(dict.fromkeys(s.models))
        groups = [(m, [i for i, x in enumerate(s.models) if x == m]) for m in models] \
            if len(models) <= MODELS_APART else [("versions", list(range(len(s.xs))))]
        for n, (name, idx) in enumerate(groups):
            if idx:
                plt.scatter([s.xs[i] for i in idx], [s.ys[i] for i in idx],
                            marker=MARKERS[n % len(MARKERS)], label=printable(name)[:24])
        log_x = self.log_x and s.axis.numeric and s.axis.lo > 0
        plt.xscale("log" if log_x else "linear")
        if not s.axis.numeric and s.axis.categories:
            every = max(1, len(s.axis.categories) // 8)  # room for about 8 labels
            ticks = list(range(0, len(s.axis.categories), every))
            plt.xticks(ticks, [s.axis.categories[i][:14] for i in ticks])
            plt.xlim(-0.5, len(s.axis.categories) - 0.5)
        plt.xlabel("params." + printable(self.param)[:40])
        plt.ylabel(printable(self.metric)[:40])
        plt.title(f"{printable(self.metric)[:40]} against {printable(self.param)[:40]}")
        kind = "numbers" if s.axis.numeric else f"{len(s.axis.categories)} categories"
        note = f"{len(s.xs):,} versions plotted, {s.missing:,} lack the param or the metric"
        note += f"; x: {kind}: {s.axis.describe()}"
        if self.log_x and not log_x:
            note += "; log x needs positive numbers"
        return note

    def _parallel(self, plt) -> str:
        assert self.metric is not None
        p = parallel(self.data.rows, self.params, self.metric,
                     lower_better=lower_is_better(self.metric))
        self.plotted = p.drawn
        for n, lines in enumerate(p.tiers):
            if lines:
                xs, ys = zigzag(lines)
                plt.plot(xs, ys, marker=MARKERS[n], label=TIER_NAMES[n])
        for i in range(len(p.axes)):
            plt.vline(i)
        room = max(6, self.query_one(PlotextPlot).size.width // len(p.axes) - 2)
        plt.xticks(list(range(len(p.axes))), [printable(a.key)[:room] for a in p.axes])
        plt.yticks([0, 0.5, 1], ["low", "mid", "high"])
        plt.xlim(-0.2, len(p.axes) - 0.8)
        plt.ylim(-0.05, 1.05)
        plt.title(f"parallel coordinates, by {printable(self.metric)[:40]}")
        note = (f"{p.drawn:,} lines drawn of {p.having:,} versions having every key "
                f"({p.missing:,} lack one)")
        return note + "\naxes, low..high (categories in order): " + "  ·  ".join(
            a.describe() for a in p.axes)

    def action_toggle_view(self) -> None:
        self.view = "parallel" if self.view == "scatter" else "scatter"
        self.draw()

    def action_toggle_log_x(self) -> None:
        self.log_x = not self.log_x
        self.draw()

    def action_pick_metric(self) -> None:
        def chosen(keys: list[str] | None) -> None:
            if keys:
                self.metric = keys[0]
                self.draw()

        self.app.push_screen(AxisPicker("The metric", self.data.metric_keys(),
                                        [self.metric] if self.metric else [],
                                        several=False, prefix="metrics."), chosen)

    def action_pick_params(self) -> None:
        several = self.view == "parallel"

        def chosen(keys: list[str] | None) -> None:
            if keys:
                if several:
                    self.params = keys
                else:
                    self.param = keys[0]
                self.draw()

        title = "Params, one axis each" if several else "The param on the x axis"
        current = self.params if several else [self.param] if self.param else []
        self.app.push_screen(AxisPicker(title, self.data.param_keys(), current,
                                        several=several, prefix="params."), chosen)
