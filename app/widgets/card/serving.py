"""Serving: framework, signature, resources, a KServe InferenceService and the export
command, both copyable (y and Y) and writable to a file (w): a terminal may ignore the
OSC 52 sequence that copying sends, and nothing can tell the app whether it did."""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import getters, work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from modelyard.app.explorer import ExplorerApp
from modelyard.app.safe_text import plain, printable
from modelyard.app.widgets.card.kv import kv_table
from modelyard.store import Version
from modelyard.store.errors import ModelyardError
from modelyard.store.versions.serving import export_command, plan


def signature_table(sig: dict) -> Table | Text:
    rows = [("input", i) for i in sig.get("inputs") or []] + \
        [("output", o) for o in sig.get("outputs") or []]
    if not rows:
        return Text("no signature recorded", style="dim")
    table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
    for col in ("", "name", "type", "shape"):
        table.add_column(col)
    for kind, item in rows:
        item = item if isinstance(item, dict) else {"name": item}
        table.add_row(kind, plain(item.get("name", "")), plain(item.get("type", "")),
                      plain(item.get("shape") or (item.get("tensor-spec") or {}).get("shape")
                            or ""))
    return table


class ServingPane(VerticalScroll):
    BINDINGS = [Binding("y", "copy_yaml", "Copy YAML"),
                Binding("Y", "copy_export", "Copy export command"),
                Binding("w", "write_file", "Write to file")]

    app = getters.app(ExplorerApp)
    _last = "yaml"  # what w writes: what y or Y sent last
    _ref = "version"  # the version shown, which names the file w writes

    def compose(self):
        yield Static(id="serving-body")

    def show(self, v: Version) -> None:
        serving = v.serving or {}
        store = self.app.store
        self._ref = v.ref
        try:
            self._yaml = store.deploy_spec(v.ref)
        except ModelyardError as exc:  # e.g. a format no shipped KServe runtime serves
            self._yaml = f"# no InferenceService: {exc}\n"
        self._export = export_command(v, str(store.root))
        how = plan(v)
        resources = serving.get("resources") or {}
        facts = kv_table([
            ("Framework", " ".join(str(x) for x in (serving.get("framework", ""),
                                                    serving.get("framework_version", "")))),
            ("Runtime", serving.get("runtime")),
            ("KServe", f"{how.model_format} on {how.runtime or 'a custom runtime'}"
                       + (f", protocol {how.protocol}" if how.protocol else "")),
            ("Export layout", how.layout + (f" (loads {how.root}/)" if how.root else "")),
            ("Resources", "  ".join(f"{k}={val}" for k, val in resources.items())),
            ("Requirements", "\n".join(map(str, serving.get("requirements") or []))),
        ])
        self.query_one("#serving-body", Static).update(Group(
            facts, Text("\nSignature", style="bold"), signature_table(serving.get("signature")
                                                                      or {}),
            Text("\nKServe InferenceService (y: to the clipboard, w: to a file)", style="bold"),
            Syntax(printable(self._yaml, multiline=True), "yaml", theme="ansi_dark"),
            Text("\nExport the files for it (Y: to the clipboard, w: to a file)", style="bold"),
            Text(printable(self._export)),
        ))

    def action_copy_yaml(self) -> None:
        self._send("yaml", "the InferenceService YAML", self._yaml)

    def action_copy_export(self) -> None:
        self._send("export", "the export command", self._export)

    def _send(self, what: str, name: str, text: str) -> None:
        """Say what was sent, not that it was copied: OSC 52 has no answer."""
        self._last = what
        self.app.copy_to_clipboard(text)
        lines = text.count("\n") + (not text.endswith("\n"))
        self.notify(f"Sent {name} ({lines} line{'s' * (lines != 1)}, {len(text)} characters) "
                    "to the terminal's clipboard (OSC 52); your terminal or tmux may ignore "
                    "it. w writes it to a file.", title="Clipboard", markup=False, timeout=8)

    def action_write_file(self) -> None:
        from modelyard.app.dialogs.prompt import PromptDialog

        what = self._last
        ref = self._ref
        stem = ref.replace(":", "-v").replace("/", "_")
        name = f"{stem}-inferenceservice.yaml" if what == "yaml" else f"{stem}-export.sh"
        dialog = PromptDialog("Write to a file", "Write "
                              + ("the InferenceService YAML" if what == "yaml"
                                 else "the export command") + " to this file.",
                              subject=ref, value=printable(str(Path.cwd() / name)))
        text = self._yaml if what == "yaml" else self._export + "\n"

        def write(path: str | None) -> None:
            if path:
                self._write(path, text)

        self.app.push_screen(dialog, write)

    @work(thread=True, group="serving-write")
    def _write(self, path: str, text: str) -> None:
        target = Path(path).expanduser()
        try:
            with open(target, "x", encoding="utf-8") as out:  # never over another file
                out.write(text)
        except OSError as exc:
            self.app.call_from_thread(self.notify, printable(f"{target}: {exc.strerror}; "
                                                             "choose another path"),
                                      title="Not written", severity="error", markup=False)
            return
        self.app.call_from_thread(self.notify, printable(f"Wrote {target}"), markup=False)
