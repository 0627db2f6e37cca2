"""The explorer app: one Store, a stack of screens, and a live view of the index.

`make_app(store)` builds it for the CLI, the tests and the screenshot script alike.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from modelyard.app.messages import OpenVersion, StoreChanged
from modelyard.app.safe_text import printable
from modelyard.store import ModelyardError, Store

if TYPE_CHECKING:  # imported when first used: the app opens before they are needed
    from modelyard.store.index.live import IndexToken
    from modelyard.store.ingest.watcher import Watcher

SYNC_SECONDS = 1.0


class ExplorerApp(App):
    """Browse, search, read and compare model versions."""

    CSS_PATH = "explorer.tcss"
    TITLE = "modelyard"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        # Textual only hints at ctrl+q on ctrl+c; terminal users expect it to quit
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("ctrl+r", "sync_now", "Sync", show=False),
    ]

    def __init__(self, store: Store, *, watch: bool = False, live: bool = True,
                 label: str | None = None) -> None:
        super().__init__()
        self.store = store
        self.store_label = label or str(store.root)
        self.watch_drops = watch
        self.live = live
        self._watcher: Watcher | None = None
        self._token: IndexToken | None = None  # what the screens show, as of the last sync
        self.index_check: str | None = None  # the status line's word on a snapshot's check
        self._sync_lock = threading.Lock()
        self._syncing = self._sync_again = False
        self.last_key_at = time.monotonic()  # for work that waits until the user pauses

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.last_key_at = time.monotonic()
        await super().on_event(event)

    def on_mount(self) -> None:
        from modelyard.app.screens.browse import BrowseScreen
        from modelyard.app.warmup import tune_interpreter

        tune_interpreter()
        self.push_screen(BrowseScreen())
        if self.live:
            self.sync_index()
            self.set_interval(SYNC_SECONDS, self.sync_index)
        if self.watch_drops:
            self._start_watcher()

    # live updates
    def sync_index(self) -> None:
        """Start a catch-up unless one is running; then that one runs once more. One at a
        time: a thread worker cannot be cancelled, and two at once could each leave the
        other's news unannounced (the first build's rows would never show)."""
        with self._sync_lock:
            if self._syncing:
                self._sync_again = True
                return
            self._syncing = True
        self._sync_worker()

    @work(thread=True, group="sync")
    def _sync_worker(self) -> None:
        try:
            while True:
                self._sync_once()
                with self._sync_lock:
                    if not self._sync_again:
                        self._syncing = False
                        return
                    self._sync_again = False
        except BaseException:
            with self._sync_lock:
                self._syncing = False
            raise

    def _sync_once(self) -> None:
        """Catch the index up with what other processes and hosts wrote, then compare the
        index with what the screens show (another process may have indexed it first)."""
        from modelyard.app.index_progress import IndexProgress
        from modelyard.store.index.live import index_token, refs_added_since

        progress = IndexProgress(lambda line: self.call_from_thread(self.show_index_progress,
                                                                    line))
        report = self.store.sync(progress=progress)
        self._check_snapshot()
        token = index_token(self.store.index)
        seen = self._token
        if progress.started is not None:  # a first build: say so, and show its rows
            self.call_from_thread(self.show_index_progress, progress.done(), True)
        if seen is None:
            self._token = token
            if report.versions or report.events:  # the store opened without syncing
                self.call_from_thread(self.broadcast_change, StoreChanged())
            return
        if token != seen:
            self._token = token
            refs = refs_added_since(self.store.index, seen.last_version_id)
            self.call_from_thread(self.broadcast_change,
                                  StoreChanged(refs, token.events - seen.events))

    def _check_snapshot(self) -> None:
        """How far the background check of a snapshot-seeded index got, for the status
        line (a small file and one query: cheap at every catch-up)."""
        from modelyard.app.index_progress import snapshot_line

        line = snapshot_line(self.store.snapshot_check())
        if line != self.index_check:
            self.index_check = line
            self.call_from_thread(self._show_index_check)

    def _show_index_check(self) -> None:
        for screen in self.screen_stack:
            show = getattr(screen, "show_index_check", None)
            if show is not None:
                show()

    def show_index_progress(self, line: str, finished: bool = False) -> None:
        for screen in self.screen_stack:
            show = getattr(screen, "show_index_progress", None)
            if show is not None:
                show(line, finished)

    def broadcast_change(self, change: StoreChanged) -> None:
        if change.new_refs:
            shown = ", ".join(printable(r) for r in change.new_refs[:3])
            more = f" and {len(change.new_refs) - 3} more" if len(change.new_refs) > 3 else ""
            self.notify(f"New: {shown}{more}", title="Store updated", markup=False)
        for screen in self.screen_stack:
            screen.post_message(StoreChanged(change.new_refs, change.events))

    def refresh_from_index(self) -> None:
        """After this app wrote something: every screen refreshes, even without a timer."""
        if self.live:
            self.sync_index()
        else:
            self.broadcast_change(StoreChanged())

    def action_sync_now(self) -> None:
        self.sync_index()

    def _start_watcher(self) -> None:
        from modelyard.store.ingest.watcher import Watcher

        def on_result(result) -> None:
            severity = "information" if result.status == "ingested" else "warning"
            self.call_from_thread(self.notify, printable(result.line()), title="Drop",
                                  severity=severity, markup=False)
            self.call_from_thread(self.sync_index)

        _quiet_library_logging()
        self._watcher = Watcher(self.store.root, log=lambda line: None, on_result=on_result)
        self._watcher.start()

    def on_unmount(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    # navigation
    def on_open_version(self, event: OpenVersion) -> None:
        from modelyard.app.screens.version_card import VersionScreen

        try:
            self.store.get(event.ref)
        except ModelyardError as exc:
            self.notify(printable(str(exc)), severity="warning", markup=False)
            return
        self.push_screen(VersionScreen(event.ref))

    def action_help(self) -> None:
        from modelyard.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in screen.active_bindings.values():
            b = binding.binding
            if b.description and b.action not in ("quit", "help", "command_palette"):
                yield SystemCommand(b.description, f"{b.description} ({b.key_display or b.key})",
                                    lambda action=b.action, node=binding.node:
                                    self.call_later(self.run_action, action, node))
        yield SystemCommand("Help", "Every key, on every screen (?)", self.action_help)


def _quiet_library_logging() -> None:
    """The watcher logs through `logging`; inside the app that must not write to the
    terminal under Textual, so its records go to Textual's log instead."""
    import logging

    from textual.logging import TextualHandler

    root = logging.getLogger("modelyard")
    root.handlers[:] = [TextualHandler()]
    root.propagate = False


def make_app(store: Store, *, watch: bool = False, live: bool = True,
             label: str | None = None) -> ExplorerApp:
    """The app for the CLI, the tests and the screenshot script; `label` replaces the store
    path in the header (snapshots must not depend on where a temporary store lives)."""
    return ExplorerApp(store, watch=watch, live=live, label=label)


def run_explorer(store: Store, *, watch: bool = False) -> int:
    """Run the explorer; a crash inside it exits non-zero (Textual prints the traceback)."""
    app = make_app(store, watch=watch)
    app.run()
    return app.return_code or 0
