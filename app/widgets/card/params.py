"""Params: the whole config as a tree, filtered as you type."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Tree

from modelyard.app.safe_text import printable
from modelyard.store import Version


class ParamsPane(Vertical):
    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter params (e.g. lr, optimizer.)", id="params-filter")
        yield Tree(Text("params"), id="params-tree")

    def show(self, v: Version) -> None:
        self._params = {"params": v.params, "features": [f.get("name") for f in v.features]}
        self._rebuild("")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._rebuild(event.value.strip().lower())

    def _rebuild(self, needle: str) -> None:
        tree = self.query_one(Tree)
        tree.clear()
        tree.root.expand()
        for section, data in self._params.items():
            if not data:
                continue
            node = tree.root.add(Text(section, style="bold"), expand=True)
            self._add(node, data, needle, section)

    def _add(self, node, data: Any, needle: str, path: str) -> bool:
        """Add the children of `data`; returns whether anything under it matched."""
        items = data.items() if isinstance(data, dict) else enumerate(data)
        matched = False
        for key, value in items:
            full = f"{path}.{key}"
            if isinstance(value, (dict, list)) and value and not _is_scalar_list(value):
                child = node.add(Text(printable(key), style="bold"), expand=True)
                if self._add(child, value, needle, full) or needle in printable(key).lower():
                    matched = True
                else:
                    child.remove()
            elif not needle or needle in full.lower() or needle in printable(value).lower():
                label = Text(printable(key), style="bold")
                label.append(" = ")
                label.append(printable(value))
                node.add_leaf(label)
                matched = True
        return matched


def _is_scalar_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(x, (dict, list)) for x in value) \
        and len(value) <= 12
