"""The model list: every model with its version count; choosing one filters the table."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from modelyard.store import ModelInfo

from ..safe_text import printable

ALL = "\x00all"


class ModelList(OptionList):
    """Models, newest activity last; the first entry shows every version."""

    DEFAULT_CSS = """
    ModelList { width: 28; height: 1fr; border: tall $border-blurred; }
    ModelList:focus { border: tall $border; }
    """

    class Chosen(Message):
        """A model (or all models: None) was chosen."""

        def __init__(self, model: str | None) -> None:
            super().__init__()
            self.model = model

    def show_models(self, models: list[ModelInfo], total: int) -> None:
        highlighted = self.highlighted_option.id if self.highlighted_option else ALL
        self.clear_options()
        options = [Option(self._label("All models", total, "bold"), id=ALL)]
        options += [Option(self._label(printable(m.name), m.versions), id=m.name)
                    for m in models]
        self.add_options(options)
        ids = [o.id for o in options]
        self.highlighted = ids.index(highlighted) if highlighted in ids else 0

    def _label(self, name: str, count: int, style: str = "") -> Text:
        """Name and count on one line, the count right-aligned in its own column."""
        width = max(12, (self.size.width or 28) - 4) - 6
        shown = name if len(name) <= width else name[: width - 1] + "…"
        return Text.assemble((shown.ljust(width), style), (f"{count:>6}", "dim"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id
        self.post_message(self.Chosen(None if option_id == ALL else option_id))
