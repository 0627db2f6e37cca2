"""A one-question dialog: a title, an explanation, an input, OK and Cancel."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Static

from modelyard.app.safe_text import plain


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text; dismisses with the text, or None when cancelled."""

    DEFAULT_CSS = """
    PromptDialog { align: center middle; }
    PromptDialog > Vertical { width: 70; max-width: 95%; height: auto; max-height: 100%;
        padding: 0 2; border: thick $primary; background: $surface; }
    PromptDialog .dialog-title { width: 1fr; text-style: bold; margin-bottom: 1; }
    PromptDialog #help-box { height: auto; max-height: 50vh; margin-bottom: 1; }
    PromptDialog .dialog-help { width: 1fr; color: $text-muted; }
    PromptDialog Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    PromptDialog Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, help_text: str, *, value: str = "",
                 placeholder: str = "", suggestions: list[str] | None = None,
                 subject: str = "") -> None:
        super().__init__()
        self._title, self._help, self._value = title, help_text, value
        self._placeholder, self._suggestions, self._subject = placeholder, suggestions, subject

    def compose(self) -> ComposeResult:
        with Vertical():
            # Static, not Label: a Label is as wide as its text and was cut off at the
            # dialog's edge; a Static wraps. A long help (every rule a gated alias fails)
            # scrolls rather than pushing the input off screen.
            yield Static(Text(self._title), classes="dialog-title")
            if self._subject:
                yield Static(plain(self._subject, "bold"))
            with VerticalScroll(id="help-box"):
                yield Static(Text(self._help), classes="dialog-help")  # may quote stored text
            suggester = SuggestFromList(self._suggestions) if self._suggestions else None
            yield Input(value=self._value, placeholder=self._placeholder, suggester=suggester,
                        id="answer")
            with Horizontal():
                yield Button("OK", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.query_one(Input).value if event.button.id == "ok" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
