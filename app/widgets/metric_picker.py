"""Choose which metrics and params show as columns in the versions table (a param's value
is a `Param(key)`, a metric's its key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from modelyard.app.safe_text import plain


@dataclass(frozen=True)
class Param:
    """A param key in the picker (metric keys are plain strings)."""

    key: str


class MetricPicker(ModalScreen[list[str] | None]):
    """Space toggles a metric, enter keeps the choice, escape cancels."""

    DEFAULT_CSS = """
    MetricPicker { align: center middle; }
    MetricPicker > Vertical { width: 50; max-width: 95%; height: 80%; padding: 1 2;
        border: thick $primary; background: $surface; }
    MetricPicker SelectionList { height: 1fr; }
    """
    # enter must outrank the SelectionList's own enter (which toggles the highlighted item):
    # without priority the dialog could never be applied.
    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("enter", "done", "Apply", priority=True)]

    def __init__(self, keys: list[str], chosen: list[str], params: Sequence[str] = (),
                 chosen_params: Sequence[str] = ()) -> None:
        super().__init__()
        self._keys: list = [*keys, *(Param(p) for p in params)]
        self._chosen: list = [*chosen, *(Param(p) for p in chosen_params)]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Metric and param columns (space to toggle, enter to apply)")
            yield SelectionList(*[Selection(f"params.{plain(k.key)}" if isinstance(k, Param)
                                            else plain(k), k, k in self._chosen)
                                  for k in self._keys])

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_done(self) -> None:
        selected = set(self.query_one(SelectionList).selected)
        ordered = [k for k in self._chosen if k in selected]
        ordered += [k for k in self._keys if k in selected and k not in ordered]
        self.dismiss(ordered)

    def action_cancel(self) -> None:
        self.dismiss(None)
