"""Charts: ROC and PR curves, confusion matrix, feature importance and distributions."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option
from textual_plotext import PlotextPlot

from modelyard.app.safe_text import fmt_number, plain, printable
from modelyard.store import Version

TITLES = {"roc": "ROC curve", "pr": "Precision-recall", "confusion_matrix": "Confusion matrix",
          "feature_importance": "Feature importance", "calibration": "Calibration"}


def feature_stats(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Both shapes producers use: {features: [{name, ...}]} or {name: {...}}."""
    if isinstance(data.get("features"), list):
        return [f for f in data["features"] if isinstance(f, dict)]
    return [{"name": k, **v} for k, v in data.items() if isinstance(v, dict)]


class ChartsPane(Horizontal):
    def compose(self) -> ComposeResult:
        yield OptionList(id="chart-list", classes="pane-left")
        with Vertical(classes="pane-right"):
            yield Static("", id="chart-note", classes="toolbar")
            yield PlotextPlot(id="chart-plot")
            yield DataTable(id="chart-table", cursor_type="cell")

    def show(self, v: Version) -> None:
        self.charts = v.charts
        options = self.query_one(OptionList)
        options.clear_options()
        for kind in ("roc", "pr", "confusion_matrix", "feature_importance", "calibration"):
            if kind in self.charts:
                options.add_option(Option(TITLES[kind], id=kind))
        for stat in feature_stats(self.charts.get("feature_stats") or {}):
            options.add_option(Option(Text.assemble("distribution: ", printable(stat["name"])),
                                      id=f"stats:{stat['name']}"))
        if options.option_count:
            options.highlighted = 0
            self._draw_chart(options.get_option_at_index(0).id or "")
        else:
            self._note("this version has no charts")
            self.query_one(PlotextPlot).display = False
            self.query_one(DataTable).display = False

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._draw_chart(event.option.id or "")

    def _note(self, text: str) -> None:
        self.query_one("#chart-note", Static).update(Text(text))

    def _draw_chart(self, chart_id: str) -> None:
        plot, table = self.query_one(PlotextPlot), self.query_one(DataTable)
        plot.display = chart_id != "confusion_matrix"
        table.display = chart_id == "confusion_matrix"
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        data = self.charts.get(chart_id, {})
        if chart_id == "roc":
            plt.plot(data["fpr"], data["tpr"], marker="braille", label="ROC")
            plt.plot([0, 1], [0, 1], marker="dot", label="chance")
            plt.xlabel("false positive rate")
            plt.ylabel("true positive rate")
            self._note(f"AUC {fmt_number(data.get('auc'))}")
        elif chart_id == "pr":
            plt.plot(data["recall"], data["precision"], marker="braille", label="PR")
            plt.xlabel("recall")
            plt.ylabel("precision")
            self._note(f"average precision {fmt_number(data.get('ap'))}")
        elif chart_id == "confusion_matrix":
            self._confusion(table, data)
        elif chart_id == "feature_importance":
            names = [printable(n)[:24] for n in data.get("features", [])][:25]
            plt.bar(names, data.get("importance", [])[:25], orientation="horizontal",
                    width=0.3)
            self._note(f"{len(data.get('features', []))} features"
                       + (f" ({printable(data['type'])})" if data.get("type") else ""))
        elif chart_id.startswith("stats:"):
            self._distribution(plt, chart_id[6:])
        elif chart_id == "calibration":
            self._note("calibration data: " + printable(str(data)[:200]))
        plot.refresh()

    def _confusion(self, table: DataTable, data: dict[str, Any]) -> None:
        labels = data.get("labels") or [str(i) for i in range(len(data.get("matrix", [])))]
        table.clear(columns=True)
        table.add_column(Text("true \\ predicted", style="bold"))
        for label in labels:
            table.add_column(plain(label, "bold"))
        matrix = data.get("matrix", [])
        for i, row in enumerate(matrix):
            total = sum(row) or 1
            cells = [Text(f"{fmt_number(x)} ({x / total:.0%})",
                          style="bold" if j == i else "") for j, x in enumerate(row)]
            table.add_row(plain(labels[i] if i < len(labels) else i, "bold"), *cells)
        correct = sum(matrix[i][i] for i in range(len(matrix)) if i < len(matrix[i]))
        everything = sum(sum(r) for r in matrix) or 1
        self._note(f"accuracy {correct / everything:.3f}  (diagonal in bold; row shares)")

    def _distribution(self, plt, name: str) -> None:
        stat = next((s for s in feature_stats(self.charts.get("feature_stats") or {})
                     if s["name"] == name), {})
        hist = stat.get("histogram") or {}
        edges, counts = hist.get("edges") or [], hist.get("counts") or []
        if edges and counts and len(edges) == len(counts) + 1:
            centers = [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)]
            plt.bar(centers, counts, width=0.8)
        summary = "  ".join(f"{k} {fmt_number(stat.get(k))}"
                            for k in ("count", "mean", "std", "min", "max") if k in stat)
        self._note(printable(name) + ("  " + summary if summary else ""))
