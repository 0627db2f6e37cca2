"""The first screen: models on the left, the versions table, the search bar above it."""

from __future__ import annotations

import gc
import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Header, Input, Static

from modelyard.app.actions import VersionActions
from modelyard.app.messages import OpenVersion, StoreChanged
from modelyard.app.safe_text import printable
from modelyard.app.widgets.footer import Footer
from modelyard.app.widgets.metric_picker import MetricPicker
from modelyard.app.widgets.model_list import ModelList
from modelyard.app.widgets.search_bar import SearchBar, with_model
from modelyard.app.widgets.versions_table import VersionsTable


class BrowseScreen(VersionActions):
    """Search and browse every version; mark some with space and compare them with c."""

    BINDINGS = [
        # first, so the footer shows them at 80 columns (it drops what does not fit)
        Binding("question_mark", "app.help", "Help"),
        Binding("q", "app.quit", "Quit"),
        Binding("slash", "focus_search", "Search"),
        Binding("escape", "focus_table", "Table", show=False),
        Binding("c", "compare", "Compare"),
        Binding("p", "param_views", "Plot params"),
        Binding("m", "toggle_models", "Models"),
        Binding("M", "pick_metrics", "Columns"),
        *VersionActions.ACTION_BINDINGS,  # alias, tag, describe, deprecate, export
        Binding("u", "clear_marks", "Unmark all", show=False),
        Binding("r", "reload", "Reload", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield SearchBar(id="search")
        yield Static("", id="index-progress", markup=False)
        with Horizontal(id="browse-body"):
            yield ModelList(id="models")
            with Vertical(id="table-pane"):
                yield VersionsTable(self.store, id="versions")
                yield Static("", id="status")
        yield Footer(show_command_palette=False)  # ctrl+p still opens it; ? lists it

    @property
    def table(self) -> VersionsTable:
        return self.query_one(VersionsTable)

    def current_ref(self) -> str | None:
        return self.table.current_ref

    def on_mount(self) -> None:
        self.table.focus()
        self.title = "modelyard"
        self.sub_title = printable(self.app.store_label)
        from modelyard.app.search_history import SearchHistory, history_path

        self.query_one(SearchBar).history = SearchHistory(  # a small file in the user's cache
            history_path(self.store.config["store_id"]))
        self.reload(first=True)

    @work(thread=True, exclusive=True, group="browse-reload")
    def reload(self, *, first: bool = False, keep: bool = False) -> None:
        """Show the table first, then the model list, then read the vocabulary for
        completion: on a million versions each of the later steps costs more than the
        first page does, and none of them should keep the rows from showing."""
        store = self.store
        table = self.table
        if first:
            columns = store.keys("metrics", by_frequency=True)[:2]
            self.app.call_from_thread(self._show_first, columns)
        else:
            columns = None  # opened before its index was built: the default columns now
            if not table.metric_columns and not getattr(self, "_metrics_picked", False):
                columns = store.keys("metrics", by_frequency=True)[:2] or None
            total = store.count(table.query_text, model=table.model)
            self.app.call_from_thread(self._show_again, total, keep, columns)
        models = store.models()
        self.app.call_from_thread(self._show_models, models)
        vocab = {"metrics": store.keys("metrics"), "params": store.keys("params"),
                 "tags": store.keys("tags"), "aliases": store.keys("aliases"),
                 "models": [m.name for m in models]}
        self.app.call_from_thread(self.query_one(SearchBar).suggester.set_vocabulary, **vocab)
        if first:
            gc.freeze()  # what starting built lives as long as the app: see warmup.py
            self.app.call_from_thread(self._wait_to_warm_up)

    def _wait_to_warm_up(self) -> None:
        from modelyard.app.warmup import IDLE_S

        shown = time.monotonic()  # idle counts from now: the table is there to read

        def check() -> None:
            last = max(shown, self.app.last_key_at)
            if time.monotonic() - last >= IDLE_S:
                timer.stop()
                self._warm_up()

        timer = self.set_interval(IDLE_S / 3, check)

    @work(thread=True, group="warm-up")
    def _warm_up(self) -> None:
        from modelyard.app.warmup import warm_up

        warm_up()

    def _show_first(self, metric_columns: list[str]) -> None:
        self.table.metric_columns = metric_columns
        self.table.load(self.table.query_text)

    def _show_again(self, total: int, keep: bool, columns: list[str] | None = None) -> None:
        table = self.table
        if columns:
            table.metric_columns = columns
        table.load(table.query_text, total, keep_ref=table.current_ref if keep else None)
        self._status()

    def _show_models(self, models) -> None:
        self.query_one(ModelList).show_models(models, sum(m.versions for m in models))
        longest = max((len(printable(m.name)) + len(str(m.latest)) + 1 for m in models),
                      default=16)
        self.table.set_ref_width(max(12, min(32, longest)))

    def _status(self) -> None:
        table = self.table
        parts = [f"{table.total:,}{'+' if table.counting else ''} versions"]
        if table.model is not None:
            parts.append(f"in {printable(table.model)}")
        if table.marks:
            parts.append(f"{len(table.marks)} marked (c to compare, u to unmark)")
        parts.append(f"sorted by {printable(table._title(table.sort_column))}")
        check = getattr(self.app, "index_check", None)
        if check:
            parts.append(check)
        self.query_one("#status", Static).update(Text("  ·  ".join(parts), style="dim"))

    def show_index_check(self) -> None:
        """The background check of a snapshot-seeded index moved on (see the app)."""
        self._status()

    def show_index_progress(self, line: str, finished: bool) -> None:
        """A first build of the index: its progress line, then for a while what it did."""
        progress = self.query_one("#index-progress", Static)
        progress.update(line)
        progress.display = True
        if finished:
            self.set_timer(8, lambda: setattr(progress, "display", False))

    # search and filters
    @on(SearchBar.Submitted)
    def search(self, event: SearchBar.Submitted) -> None:
        self.table.load(event.query)
        if event.final:
            self.table.focus()

    @on(ModelList.Chosen)
    def choose_model(self, event: ModelList.Chosen) -> None:
        """The choice becomes `model:NAME` in the search bar: one filter, in sight."""
        bar = self.query_one(SearchBar)
        text = with_model(bar.input.value, event.model)
        bar.shown = text
        with bar.input.prevent(Input.Changed):
            bar.input.value = text
        bar.check(text)
        self.table.load(text)
        self.table.focus()

    @on(VersionsTable.Loaded)
    @on(VersionsTable.MarksChanged)
    def _table_changed(self) -> None:
        self._status()

    @on(VersionsTable.Opened)
    def open_version(self, event: VersionsTable.Opened) -> None:
        self.post_message(OpenVersion(event.ref))

    def on_store_changed(self, event: StoreChanged) -> None:
        self.reload(keep=True)

    # actions
    def action_focus_search(self) -> None:
        self.query_one(SearchBar).input.focus()

    def action_focus_table(self) -> None:
        self.table.focus()

    def action_toggle_models(self) -> None:
        """Show the model list and focus it (its keys are what the person wants next),
        or hide it and go back to the table."""
        models = self.query_one(ModelList)
        showing = not (models.display and models.has_focus)
        models.display = showing
        (models if showing else self.table).focus()
        self._models_chosen = True

    def on_resize(self, event) -> None:
        """In a narrow terminal the table needs the room; m still shows the model list."""
        if not getattr(self, "_models_chosen", False):
            self.query_one(ModelList).display = event.size.width >= 100

    def action_clear_marks(self) -> None:
        self.table.marks.clear()
        self.table.refresh()
        self._status()

    def action_reload(self) -> None:
        self.reload(keep=True)

    def action_compare(self) -> None:
        marks = list(self.table.marks)
        if len(marks) < 2:
            self.notify("Mark two or more versions with space, then press c",
                        severity="warning")
            return
        from modelyard.app.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen(marks))

    def action_param_views(self) -> None:
        """A metric against params across the listed versions (the search's first 2,000,
        in the table's order)."""
        from .param_views import ParamViewScreen

        table = self.table
        self.app.push_screen(ParamViewScreen(table.effective_query(), shown=table.query_text,
                                             model=table.model,
                                             metrics=table.metric_columns,
                                             params=table.param_columns))

    def action_pick_metrics(self) -> None:
        from modelyard.app.widgets.metric_picker import Param

        keys = self.store.keys("metrics")
        params = self.store.keys("params")

        def chosen(columns: list | None) -> None:
            if columns is not None:
                self._metrics_picked = True
                self.table.metric_columns = [c for c in columns if not isinstance(c, Param)]
                self.table.param_columns = [c.key for c in columns if isinstance(c, Param)]
                table = self.table
                table.load(table.query_text, None if table.counting else table.total,
                           keep_ref=table.current_ref)

        self.app.push_screen(MetricPicker(keys, self.table.metric_columns, params,
                                          self.table.param_columns), chosen)

