"""Edit a version's description in a multi-line editor."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from modelyard.app.safe_text import plain, printable


class DescribeDialog(ModalScreen[str | None]):
    """Dismisses with the new text (ctrl+s or OK), or None when cancelled or unchanged.

    Control characters in the old text are shown as visible escapes (an editor must never
    write them to the terminal), so saving an edited text stores those escapes literally."""

    DEFAULT_CSS = """
    DescribeDialog { align: center middle; }
    DescribeDialog > Vertical { width: 80; max-width: 95%; height: 20; max-height: 90%;
        padding: 1 2; border: thick $primary; background: $surface; }
    DescribeDialog TextArea { height: 1fr; }
    DescribeDialog Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    DescribeDialog Button { margin-left: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, ref: str, text: str) -> None:
        super().__init__()
        self._ref, self._text = ref, printable(text, multiline=True)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Description", classes="dialog-title")
            yield Static(plain(self._ref, "bold"))
            yield TextArea(self._text, id="text", soft_wrap=True)
            with Horizontal():
                yield Button("Save (ctrl+s)", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        self.dismiss(None if text == self._text else text)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_save()
        else:
            self.action_cancel()
