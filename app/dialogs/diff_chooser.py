"""Choose what compare's `p` pages: the params' diff or a file both versions have."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..safe_text import plain, printable


class DiffChooser(ModalScreen[str | None]):
    """Enter pages the highlighted diff in $PAGER; escape cancels."""

    DEFAULT_CSS = """
    DiffChooser { align: center middle; }
    DiffChooser > Vertical { width: 70; max-width: 95%; height: auto; max-height: 80%;
        padding: 1 2; border: thick $primary; background: $surface; }
    DiffChooser OptionList { height: auto; max-height: 20; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, a: str, b: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.a, self.b, self.choices = a, b, choices

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text("Diff in $PAGER: ", style="bold")
            title.append(printable(f"{self.a} against {self.b}"))
            title.append("\nenter pages it, escape cancels", style="dim")
            yield Static(title)
            yield OptionList(*[Option(plain(label), id=choice)
                               for choice, label in self.choices])

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
