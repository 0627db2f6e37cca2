"""Serving: framework, signature, resources, a KServe InferenceService and the export
command, both copyable (y and Y)."""

from __future__ import annotations

from rich.console import Group
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from modelyard.store import Version
from modelyard.store.errors import ModelyardError
from modelyard.store.serving import export_command, plan

from ...safe_text import plain, printable
from .kv import kv_table


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
                Binding("Y", "copy_export", "Copy export command")]

    def compose(self):
        yield Static(id="serving-body")

    def show(self, v: Version) -> None:
        serving = v.serving or {}
        store = self.app.store  # type: ignore[attr-defined]
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
            Text("\nKServe InferenceService (y copies)", style="bold"),
            Syntax(printable(self._yaml, multiline=True), "yaml", theme="ansi_dark"),
            Text("\nExport the files for it (Y copies)", style="bold"),
            Text(printable(self._export)),
        ))

    def action_copy_yaml(self) -> None:
        self.app.copy_to_clipboard(self._yaml)
        self.notify("InferenceService YAML copied")

    def action_copy_export(self) -> None:
        self.app.copy_to_clipboard(self._export)
        self.notify("Export command copied")
