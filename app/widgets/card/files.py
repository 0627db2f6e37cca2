"""Files: every stored file with size, format, digest and the pickle warning; enter views a
text file."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from modelyard.app.safe_text import human_size, plain
from modelyard.store import Version
from modelyard.store.ingest.sniff import PICKLE_WARNING

TEXT_FORMATS = {"text", "json", "yaml", "python", "markdown"}


class FilesPane(Vertical):
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
        note = f"{len(v.files)} files, {human_size(v.size)}; enter opens a text file"
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
