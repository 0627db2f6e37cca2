"""A version's card: Overview, Params, Metrics, Charts, Lineage, Source, Files, Serving,
History, one tab each (1-9 switch tabs, [ and ] step through the model's versions)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, Static, TabbedContent, TabPane

from modelyard.app.actions import VersionActions
from modelyard.app.focus import focus_first
from modelyard.app.messages import OpenVersion, StoreChanged
from modelyard.app.safe_text import printable
from modelyard.app.widgets.card.charts import ChartsPane
from modelyard.app.widgets.card.curves import CurveView
from modelyard.app.widgets.card.files import FilesPane
from modelyard.app.widgets.card.history import HistoryPane
from modelyard.app.widgets.card.lineage import LineagePane
from modelyard.app.widgets.card.metrics import MetricsPane, SeriesCache, first_curve
from modelyard.app.widgets.card.overview import OverviewPane
from modelyard.app.widgets.card.params import ParamsPane
from modelyard.app.widgets.card.serving import ServingPane
from modelyard.app.widgets.card.source import SourcePane
from modelyard.app.widgets.footer import Footer
from modelyard.store import ModelyardError, Version
from modelyard.store.ingest.sniff import PICKLE_WARNING

TABS = [("overview", "Overview", OverviewPane), ("params", "Params", ParamsPane),
        ("metrics", "Metrics", MetricsPane), ("charts", "Charts", ChartsPane),
        ("lineage", "Lineage", LineagePane), ("source", "Source", SourcePane),
        ("files", "Files", FilesPane), ("serving", "Serving", ServingPane),
        ("history", "History", HistoryPane)]
PANES = {tab_id: pane for tab_id, _label, pane in TABS}


class VersionScreen(VersionActions):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),  # as in lazygit and k9s
        *[Binding(str(i + 1), f"tab('{tab}')", label, show=False)
          for i, (tab, label, _) in enumerate(TABS)],
        Binding("left_square_bracket", "step(-1)", "Older"),
        Binding("right_square_bracket", "step(1)", "Newer"),
        *VersionActions.ACTION_BINDINGS,  # alias, tag, describe, deprecate, export
    ]

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref
        self.version: Version | None = None
        self._shown: set[str] = set()
        self._focus_when_shown = False  # a number key chose the tab: focus its content
        self._focus_tries = 0

    def current_ref(self) -> str | None:
        return self.version.ref if self.version else self.ref

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="card-title")
        with TabbedContent(id="card-tabs"):
            for tab_id, label, _pane in TABS:
                yield TabPane(label, id=tab_id)  # its pane is mounted when first shown
        yield Footer()

    def on_mount(self) -> None:
        self.title = "modelyard"
        self.load(self.ref)

    @work(thread=True, exclusive=True, group="card")
    def load(self, ref: str) -> None:
        from modelyard.store.check.integrity import corrupt_refs, note_read_error
        from modelyard.store.errors import StoreCorrupt

        try:
            version = self.store.get(ref)
            version.record  # noqa: B018 - read the record file here, not on the event loop
            version.aliases  # noqa: B018
            # The card's own facts ride on the Version it shows; Version does not declare
            # them (they are the app's, not the store's), hence the four ignores below.
            version.policy_report = self.store.check_results(version)  # type: ignore[attr-defined]
            version.newest_number = self.store.get(version.model).number  # type: ignore[attr-defined]
            version.violations = [  # type: ignore[attr-defined]
                x["message"] for x in self.store.policy_violations(version.model)
                if x["ref"] == version.ref] if version.policy_state == "violation" else []
            try:
                version.charts  # noqa: B018
            except StoreCorrupt as exc:  # show the rest of the card, and mark it corrupt
                note_read_error(self.store.index, exc)
                version.__dict__["charts"] = {}
                self.app.call_from_thread(self.app.broadcast_change, StoreChanged())
            version.corrupt = corrupt_refs(self.store.index).get(version.ref, [])  # type: ignore[attr-defined]
        except ModelyardError as exc:
            self.app.call_from_thread(self.notify, printable(str(exc)), severity="error",
                                      markup=False)
            return
        # Textual awaits a coroutine function's result; its annotation expects a plain one
        self.app.call_from_thread(self._show, version)  # type: ignore[arg-type]
        curve = first_curve(version)
        if curve is not None:  # read and prepare it now: the Metrics tab plots it at once
            try:
                SeriesCache.of(version).prepared(curve, CurveView())
            except Exception:  # noqa: S110  (the Metrics tab reports it when opened)
                pass

    async def _show(self, version: Version) -> None:
        self.version = version
        self.ref = version.ref
        self.sub_title = printable(version.ref)
        title = Text(printable(version.ref), style="bold")
        if version.aliases:
            title.append("  " + printable(" ".join("@" + a for a in version.aliases)))
        if version.deprecated:
            title.append("  deprecated", style="bold")
        if version.has_pickle:
            title.append(f"  ⚠ {PICKLE_WARNING}", style="bold red")
        for reason in getattr(version, "corrupt", [])[:2]:
            title.append("\n✗ CORRUPT: " + printable(reason)[:110], style="bold red")
        report = getattr(version, "policy_report", None)
        if getattr(version, "violations", None):
            title.append("  ✗ policy violation: an alias was moved onto it past its gate",
                         style="bold red")
        if version.mixed_script:
            title.append("  ⚠ name mixes scripts", style="bold red")
        if report is not None and report.state == "failing":
            title.append("  ✗ fails policy: " + printable(", ".join(r.rule for r in
                                                                   report.failing)),
                         style="bold red")
        if version.description:
            first = printable(version.description.splitlines()[0])[:100]
            title.append("\n" + first, style="dim")
        self.query_one("#card-title", Static).update(title)
        self._shown.clear()
        await self._show_active()

    async def _show_active(self) -> None:
        """Mount and fill the visible tab's pane now, the others when first shown: nine
        panes of tables, trees and plots cost ~0.2 s of layout to mount at once."""
        if self.version is None:
            return
        active = self.query_one(TabbedContent).active
        if active and active not in self._shown:
            self._shown.add(active)
            panes = self.query(f"#{active}-pane")
            if panes:
                pane = panes.first()
            else:
                pane = PANES[active](id=f"{active}-pane")
                await self.query_one(f"#{active}", TabPane).mount(pane)
            pane.show(self.version)  # type: ignore[attr-defined]  # every PANES class has it
        self._focus_content()

    async def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated
                                              ) -> None:
        await self._show_active()
        self._focus_content()

    def action_tab(self, tab: str) -> None:
        """Show the tab and focus its content: keys reach only the focused widget, so its
        keys (and the footer's list of them) work at once, not after tab."""
        tabs = self.query_one(TabbedContent)
        self._focus_when_shown, self._focus_tries = True, 0
        if tabs.active == tab:
            self._focus_content()
        else:
            tabs.active = tab

    def _focus_content(self) -> None:
        if not self._focus_when_shown:
            return
        active = self.query_one(TabbedContent).active
        panes = self.query(f"#{active}-pane")
        if not panes:
            return  # not mounted yet (the version is loading): _show_active comes back here
        if focus_first(panes.first()):
            self._focus_when_shown = False
        elif self._focus_tries < 20:  # its content is still mounting: after the next frame
            self._focus_tries += 1
            self.call_after_refresh(self._focus_content)

    def action_step(self, delta: int) -> None:
        """[ and ]: the previous or next version of this model; at either end, say so
        (asking the store for a version past the newest raised a red error toast)."""
        if self.version is None:
            return
        number = self.version.number + delta
        newest = getattr(self.version, "newest_number", None)  # read by load()
        if number < 1 or (newest is not None and number > newest):
            where = "oldest" if number < 1 else "newest"
            self.notify(f"{printable(self.version.ref)} is the {where} version", markup=False)
            return
        self.load(f"{self.version.model}:{number}")

    def on_store_changed(self, event: StoreChanged) -> None:
        if self.version is not None:
            self.load(self.version.ref)

    def on_open_version(self, event: OpenVersion) -> None:
        if self.version is not None and event.ref == self.version.ref:
            event.stop()
