"""The help screen: every key of the screen you came from, and of the app."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

QUERY_HELP = """\
Search: words (prefix full-text), "phrases", metrics.auc > 0.9, params.lr = '0.01',
params.optimizer.lr < 1e-3, tags.team = 'risk', @champion, model:vit-*, user:alice,
is:deprecated, is:pickle, parent:vit-base:2, dataset:food101, created > -7d,
size > 10MB, a and (b or not c), metrics.auc between 0.8 and 0.9,
... order by metrics.auc desc"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 98%; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", padding=(0, 2))
        table.add_column("key")
        table.add_column("action")
        table.add_row(Text("ctrl+p", style="bold"), Text("command palette: every action"))
        seen = set()
        ours = [n for n in self.under.query("*") if type(n).__module__.startswith("modelyard.")]
        for node in [self.under, *ours, self.app]:
            for klass in type(node).__mro__:  # our own classes' bindings, not Textual's
                if not klass.__module__.startswith("modelyard."):
                    continue
                for binding in klass.__dict__.get("BINDINGS", []):
                    if not isinstance(binding, Binding) or not binding.description:
                        continue
                    keys = " / ".join(self.app.get_key_display(Binding(k, ""))
                                      for k in binding.key.split(","))
                    if (keys, binding.description) in seen:
                        continue
                    seen.add((keys, binding.description))
                    table.add_row(Text(keys, style="bold"), Text(binding.description))
        with VerticalScroll():
            yield Static(Text("Keys on this screen", style="bold"))
            yield Static(table)
            yield Static(Text("\n" + QUERY_HELP))
