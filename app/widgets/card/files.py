"""Files: every stored file with size, format, digest and the pickle warning; enter views a
text file, p hands the stored file itself (read-only, after checking its digest) to
$PAGER."""

from __future__ import annotations

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from modelyard.app.explorer import ExplorerApp
from modelyard.app.safe_text import human_size, plain, printable
from modelyard.store import Version
from modelyard.store.ingest.sniff import PICKLE_WARNING

TEXT_FORMATS = {"text", "json", "yaml", "python", "markdown"}


class FilesPane(Vertical):
    app = getters.app(ExplorerApp)

    BINDINGS = [Binding("p", "page", "Open in $PAGER")]

    def compose(self) -> ComposeResult:
        yield Static("", id="files-note", classes="toolbar")
        yield DataTable(id="files-table", cursor_type="row", zebra_stripes=True)

    def show(self, v: Version) -> None:
        self.version = v
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_columns("path", "size", "format", "digest", "")
        for f in v.files:
            warn = Text(f"⚠ {PICKLE_WARNING}", style="bold red") if f.get("pickle") else Text()
            table.add_row(plain(f["path"]), Text(human_size(f["size"])),
                          plain(f.get("format", "")), Text(f["digest"][7:23] + "…"), warn,
                          key=f["path"])
        note = (f"{len(v.files)} files, {human_size(v.size)}; enter opens a text file, "
                "p any file in $PAGER")
        if v.has_pickle:
            note += ". Pickle files are stored, never loaded by modelyard"
        self.query_one("#files-note", Static).update(Text(note))

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        path = str(event.row_key.value)
        entry = next(f for f in self.version.files if f["path"] == path)
        if entry.get("format") not in TEXT_FORMATS or entry["size"] > 2_000_000:
            self.notify("Only text files up to 2 MB open here; use `modelyard export` for "
                        "the rest", severity="warning")
            return
        from modelyard.app.screens.file_viewer import FileViewer

        self.app.push_screen(FileViewer(self.version, path))

    def action_page(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        path = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        entry = next(f for f in self.version.files if f["path"] == path)
        if entry["size"] > 200_000_000:
            self.notify(f"Checking the digest of {printable(path)} first", markup=False)
        self._check_and_page(entry)

    @work(thread=True, exclusive=True, group="files-pager")
    def _check_and_page(self, entry: dict) -> None:
        """The pager reads the blob itself, so its bytes are checked against the digest
        first (off the event loop): a damaged blob is reported, never shown as the file."""
        store = self.app.store
        problem = store.blobs.verify(entry["digest"])
        if problem is not None:
            self.app.call_from_thread(
                self.notify, printable(f"{entry['path']} cannot be shown: its blob is "
                                       f"{problem}; run `modelyard fsck --read-data`"),
                severity="error", markup=False)
            return
        self.app.call_from_thread(self._page, store.blobs.path(entry["digest"]))

    def _page(self, blob) -> None:
        from ...pager import page

        page(self.app, blob)
