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
        seen = set()
        nodes = [self.under, *self.under.query("*")]
        for node in [*nodes, self.app]:
            for binding in getattr(node, "BINDINGS", []):
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                keys = binding.key_display or binding.key
                if (keys, binding.description) in seen:
                    continue
                seen.add((keys, binding.description))
                table.add_row(Text(keys.replace(",", " / "), style="bold"),
                              Text(binding.description))
        table.add_row(Text("ctrl+p", style="bold"), Text("command palette: every action"))
        with VerticalScroll():
            yield Static(Text("Keys on this screen", style="bold"))
            yield Static(table)
            yield Static(Text("\n" + QUERY_HELP))
