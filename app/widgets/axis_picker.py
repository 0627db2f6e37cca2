"""Choose the keys the param-versus-metric views plot: one key (a metric, or the scatter's
param) or several (parallel coordinates' params). Each key says how many of the listed
versions have it and how many values it takes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..safe_text import printable


def _label(key: str, having: int, distinct: int, prefix: str, mark: str = "") -> Text:
    text = Text(mark + printable(prefix + key))
    text.append(f"  {having} versions, {distinct} value{'s' if distinct != 1 else ''}",
                style="dim")
    return text


class AxisPicker(ModalScreen[list[str] | None]):
    """Single: enter chooses. Several: space toggles ([x] or [ ], readable without colour),
    enter applies. Escape cancels."""

    DEFAULT_CSS = """
    AxisPicker { align: center middle; }
    AxisPicker > Vertical { width: 70; max-width: 95%; height: 80%; padding: 1 2;
        border: thick $primary; background: $surface; }
    AxisPicker OptionList { height: 1fr; }
    """
    # enter outranks the OptionList's own enter, as in the column picker
    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("enter", "done", "Apply", priority=True),
                Binding("space", "toggle_option", "Toggle", show=False)]

    def __init__(self, title: str, keys: list[tuple[str, int, int]], chosen: list[str], *,
                 several: bool, prefix: str = "") -> None:
        super().__init__()
        self.title_text, self.keys, self.chosen = title, keys, chosen
        self.several, self.prefix = several, prefix
        self.selected = [k for k in chosen if k in {key for key, _n, _d in keys}]

    def _option(self, key: str, having: int, distinct: int) -> Option:
        mark = ("[x] " if key in self.selected else "[ ] ") if self.several else ""
        return Option(_label(key, having, distinct, self.prefix, mark), id=key)

    def compose(self) -> ComposeResult:
        how = "space to toggle, enter to apply" if self.several else "enter to choose"
        with Vertical():
            yield Static(Text(f"{self.title_text} ({how}, escape cancels)"))
            yield OptionList(*[self._option(k, n, d) for k, n, d in self.keys])

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [k for k, _n, _d in self.keys]
        first = self.chosen[0] if self.chosen else None
        options.highlighted = ids.index(first) if first in ids else 0
        options.focus()

    def action_toggle_option(self) -> None:  # not `toggle`: DOMNode has toggle(attribute)
        options = self.query_one(OptionList)
        index = options.highlighted
        if not self.several or index is None:
            return
        key, having, distinct = self.keys[index]
        if key in self.selected:
            self.selected.remove(key)
        else:
            self.selected.append(key)
        options.replace_option_prompt_at_index(index, self._option(key, having,
                                                                    distinct).prompt)

    def action_done(self) -> None:
        if self.several:
            self.dismiss(list(self.selected))
            return
        option = self.query_one(OptionList).highlighted_option
        self.dismiss([option.id] if option is not None and option.id is not None else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
