"""Compare marked versions (of any models): params that differ, metrics with the best value
per row and deltas, overlaid curves (or a grid of them), a source diff and lineage
differences; p pages a diff of the first two versions' params or of a file in both."""

from __future__ import annotations

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from modelyard.app.explorer import ExplorerApp
from modelyard.app.focus import focus_first
from modelyard.app.safe_text import fmt_number, plain, printable
from modelyard.app.screens.compare_data import (
    lineage_rows,
    metric_rows,
    param_rows,
    source_paths,
)
from modelyard.app.widgets.card.source import DIFF, code_view
from modelyard.app.widgets.compare_curves import CompareCurves
from modelyard.app.widgets.footer import Footer
from modelyard.store import ModelyardError, Version
from modelyard.store.versions.diff import source_text_diff

VALUE_CELLS = 24  # a longer param value (a list, say) is elided; enter shows all of it


def elided(value: object) -> Text:
    """A param value in at most VALUE_CELLS cells: one long list made its column ~185
    cells wide and pushed the other versions off screen."""
    text = plain(value)
    text.truncate(VALUE_CELLS, overflow="ellipsis")
    return text


class CompareScreen(Screen):
    app = getters.app(ExplorerApp)

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),  # as in lazygit and k9s
        Binding("a", "toggle_all", "All/only differences"),
        Binding("p", "page_diff", "Diff in $PAGER"),
        Binding("1", "tab('cmp-params')", "Params", show=False),
        Binding("2", "tab('cmp-metrics')", "Metrics", show=False),
        Binding("3", "tab('cmp-curves')", "Curves", show=False),
        Binding("4", "tab('cmp-source')", "Source", show=False),
        Binding("5", "tab('cmp-lineage')", "Lineage", show=False),
    ]

    def __init__(self, refs: list[str]) -> None:
        super().__init__()
        self.refs = refs
        self.versions: list[Version] = []
        self.only_diff = True
        self.param_values: dict[str, list] = {}  # the full values behind elided cells

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="compare-title")
        with TabbedContent():
            # The first column (the key) stays put when scrolling right.
            with TabPane("Params", id="cmp-params"):
                yield DataTable(id="cmp-params-table", zebra_stripes=True, fixed_columns=1)
            with TabPane("Metrics", id="cmp-metrics"):
                yield DataTable(id="cmp-metrics-table", zebra_stripes=True, fixed_columns=1)
            with TabPane("Curves", id="cmp-curves"):
                yield CompareCurves(id="cmp-curves-pane")
            with TabPane("Source diff", id="cmp-source"), Horizontal():
                yield OptionList(id="cmp-source-files", classes="pane-left")
                with VerticalScroll(classes="pane-right"):
                    yield Static(id="cmp-diff")
            with TabPane("Lineage", id="cmp-lineage"):
                yield DataTable(id="cmp-lineage-table", zebra_stripes=True, fixed_columns=1)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "modelyard"
        self.sub_title = "compare"
        self.load()

    @work(thread=True, exclusive=True, group="compare")
    def load(self) -> None:
        store = self.app.store
        versions = []
        for ref in self.refs:
            try:
                v = store.get(ref)
                v.record  # noqa: B018 - read records off the event loop
                versions.append(v)
            except ModelyardError:
                continue
        self.app.call_from_thread(self._show, versions)

    def _show(self, versions: list[Version]) -> None:
        self.versions = versions
        title = Text(f"Comparing {len(versions)} versions: ", style="bold")
        title.append(printable(", ".join(v.ref for v in versions)))
        title.append("\na: all params or only differences · enter on a value: all of it",
                     style="dim")
        self.query_one("#compare-title", Static).update(title)
        self._params()
        self._metrics()
        self._lineage()
        self.query_one(CompareCurves).show(versions)
        files = self.query_one("#cmp-source-files", OptionList)
        if len(versions) >= 2:
            files.add_options([Option(plain(p), id=p) for p in source_paths(*versions[:2])])
            if files.option_count:
                files.highlighted = 0
        tabs = self.query_one(TabbedContent)
        if tabs.active and not isinstance(self.focused, DataTable | OptionList):
            focus_first(self.query_one(f"#{tabs.active}", TabPane))  # arrows reach the rows

    def _header(self, table: DataTable, first: str) -> None:
        table.clear(columns=True)
        table.add_column(Text(first, style="bold"))
        for v in self.versions:
            table.add_column(plain(v.ref, "bold"))

    def _params(self) -> None:
        table = self.query_one("#cmp-params-table", DataTable)
        self._header(table, "param (differences)" if self.only_diff else "param")
        self.param_values = {}
        for key, values in param_rows(self.versions, only_diff=self.only_diff):
            differs = len({repr(v) for v in values}) > 1
            self.param_values[key] = values
            table.add_row(plain(key, "bold" if differs else ""),
                          *[elided("-" if v is None else v) for v in values], key=key)

    @on(DataTable.CellSelected, "#cmp-params-table")
    def _full_value(self, event: DataTable.CellSelected) -> None:
        """Enter on a value: the whole of it (the table shows at most VALUE_CELLS)."""
        column = event.coordinate.column
        key = str(event.cell_key.row_key.value)
        if column == 0 or key not in self.param_values:
            return
        value = self.param_values[key][column - 1]
        self.notify(printable("-" if value is None else value), markup=False, timeout=15,
                    title=printable(f"{key} in {self.versions[column - 1].ref}"))

    def _metrics(self) -> None:
        table = self.query_one("#cmp-metrics-table", DataTable)
        self._header(table, "metric (best in reverse; delta vs first)")
        for key, values, best in metric_rows(self.versions):
            cells = []
            base = values[0]
            for i, value in enumerate(values):
                text = fmt_number(value)
                if i and isinstance(value, float) and isinstance(base, float):
                    text += f" ({value - base:+.3g})"
                cells.append(Text(text, style="bold reverse" if i == best else ""))
            table.add_row(plain(key), *cells)

    def _lineage(self) -> None:
        table = self.query_one("#cmp-lineage-table", DataTable)
        self._header(table, "lineage (differences bold)")
        for name, values, differs in lineage_rows(self.versions):
            style = "bold" if differs else ""
            table.add_row(Text(name, style=style), *[plain(v, style) for v in values])

    @property
    def curve_refs(self) -> list[str]:
        """The versions whose curves are drawn now."""
        return self.query_one(CompareCurves).curve_refs

    @on(OptionList.OptionHighlighted, "#cmp-source-files")
    def _source(self, event: OptionList.OptionHighlighted) -> None:
        self._compute_diff(event.option.id or "")

    @work(thread=True, exclusive=True, group="compare-diff")
    def _compute_diff(self, path: str) -> None:
        a, b = self.versions[:2]
        text = source_text_diff(a, b, path) or f"{path} is the same in {a.ref} and {b.ref}"
        self.app.call_from_thread(self.query_one("#cmp-diff", Static).update,
                                  code_view(text, DIFF))

    def action_page_diff(self) -> None:
        """A unified diff of the first two versions' params, or of a file both have, in
        $PAGER: chosen from a list, written to a temp file, paged, then deleted."""
        if len(self.versions) < 2:
            return
        from ..dialogs.diff_chooser import DiffChooser
        from ..diff_text import diff_choices

        a, b = self.versions[:2]

        def chosen(choice: str | None) -> None:
            if choice is not None:
                self._write_diff(choice)

        self.app.push_screen(DiffChooser(a.ref, b.ref, diff_choices(a, b)), chosen)

    @work(thread=True, exclusive=True, group="compare-page-diff")
    def _write_diff(self, choice: str) -> None:
        from ..diff_text import diff_text
        from ..pager import write_temp

        a, b = self.versions[:2]
        try:
            path = write_temp(diff_text(a, b, choice), suffix=".diff")
        except ModelyardError as exc:
            self.app.call_from_thread(self.notify, printable(str(exc)), severity="error",
                                      markup=False)
            return
        self.app.call_from_thread(self._page_and_delete, path)

    def _page_and_delete(self, path) -> None:
        from ..pager import page

        try:
            page(self.app, path)
        finally:
            path.unlink(missing_ok=True)

    def action_toggle_all(self) -> None:
        self.only_diff = not self.only_diff
        self._params()

    def action_tab(self, tab: str) -> None:
        """Show the tab and focus its content, so down/enter act there at once."""
        self.query_one(TabbedContent).active = tab
        focus_first(self.query_one(f"#{tab}", TabPane))
