"""A read-only viewer for one text file of a version (verified against its digest)."""

from __future__ import annotations

from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from modelyard.app.explorer import ExplorerApp
from modelyard.app.safe_text import plain
from modelyard.app.widgets.card.source import code_view
from modelyard.app.widgets.footer import Footer
from modelyard.store import ModelyardError, Version


class FileViewer(ModalScreen[None]):
    app = getters.app(ExplorerApp)

    DEFAULT_CSS = """
    FileViewer { align: center middle; }
    FileViewer > VerticalScroll { width: 95%; height: 90%; border: thick $primary;
        background: $surface; }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, version: Version, path: str) -> None:
        super().__init__()
        self.version, self.path = version, path

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(plain(f"{self.version.ref} / {self.path}", "bold"))
            yield Static(id="file-text")
        yield Footer()

    def on_mount(self) -> None:
        try:
            text = self.version.open(self.path).decode("utf-8", "replace")
        except ModelyardError as exc:
            from modelyard.store.check.integrity import note_read_error
            from modelyard.store.errors import StoreCorrupt

            if isinstance(exc, StoreCorrupt):
                note_read_error(self.app.store.index, exc)
            text = f"cannot open {self.path}: {exc}"
        self.query_one("#file-text", Static).update(code_view(text, self.path))
        self.query_one(VerticalScroll).focus()
