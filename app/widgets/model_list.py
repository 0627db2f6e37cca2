"""The model list: every model with its version count; choosing one filters the table.

A Line API widget like the versions table: a store of ten thousand models costs what one
screenful does. (Textual's OptionList builds and measures every option: 0.4-0.8 s of the
event loop for 8,000 models, during which keys and scrolling wait.)
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from modelyard.app.safe_text import printable
from modelyard.store import ModelInfo

ALL = "\x00all"


class ModelList(ScrollView, can_focus=True):
    """Models by name; the first entry shows every version."""

    COMPONENT_CLASSES = {"model-list--highlighted", "model-list--count", "model-list--all"}
    DEFAULT_CSS = """
    ModelList { width: 28; height: 1fr; border: tall $border-blurred; padding: 0 1;
        background: $surface; overflow-x: hidden; }
    ModelList:focus { border: tall $border; background-tint: $foreground 5%; }
    ModelList > .model-list--highlighted { color: $foreground;
        background: $block-cursor-blurred-background; }
    ModelList:focus > .model-list--highlighted { color: $block-cursor-foreground;
        background: $block-cursor-background; text-style: $block-cursor-text-style; }
    ModelList > .model-list--count { color: $text-muted; }
    ModelList > .model-list--all { text-style: bold; }
    """
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "choose", "Filter", show=False),
    ]

    highlighted: reactive[int] = reactive(0)

    class Chosen(Message):
        """A model (or all models: None) was chosen."""

        def __init__(self, model: str | None) -> None:
            super().__init__()
            self.model = model

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[tuple[str, str, int]] = []  # (id, shown name, versions)
        self._count_width = 7  # a space and the widest count

    @property
    def ids(self) -> list[str]:
        return [entry[0] for entry in self.entries]

    @property
    def highlighted_id(self) -> str | None:
        return self.entries[self.highlighted][0] if self.entries else None

    def show_models(self, models: list[ModelInfo], total: int) -> None:
        """Replace the list, keeping the highlighted model when it is still there."""
        keep = self.highlighted_id or ALL
        self.entries = [(ALL, "All models", total)]
        # ⚠: the name mixes look-alike scripts and may impersonate another model's name
        self.entries += [(m.name, ("⚠ " if m.mixed_script else "") + printable(m.name),
                          m.versions) for m in models]
        self._count_width = 1 + max(len(str(entry[2])) for entry in self.entries)
        self.virtual_size = Size(0, len(self.entries))
        index = next((i for i, entry in enumerate(self.entries) if entry[0] == keep), 0)
        self.highlighted = index
        self.refresh()

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        # Not size.width: that counts the vertical scrollbar's cells, which then painted
        # over the last digits of every count.
        width = self.scrollable_content_region.width
        if index >= len(self.entries):
            return Strip.blank(width, self.rich_style)
        _id, name, count = self.entries[index]
        style = self.rich_style
        if index == 0:
            style = style + self.get_component_rich_style("model-list--all")
        count_style = style + self.get_component_rich_style("model-list--count")
        if index == self.highlighted:
            cursor = self.get_component_rich_style("model-list--highlighted")
            style, count_style = style + cursor, count_style + cursor
        digits = f"{count:>{self._count_width}}"
        room = max(1, width - len(digits))
        shown = name if cell_len(name) <= room else set_cell_size(name, room - 1) + "…"
        segments = [Segment(set_cell_size(shown, room), style), Segment(digits, count_style)]
        return Strip(segments).adjust_cell_length(width, self.rich_style)

    def watch_highlighted(self, old: int, new: int) -> None:
        visible = max(1, self.size.height)
        top = int(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + visible:
            self.scroll_to(y=new - visible + 1, animate=False)
        self.refresh()

    def validate_highlighted(self, value: int) -> int:
        return max(0, min(value, len(self.entries) - 1))

    def action_move(self, delta: int) -> None:
        self.highlighted += delta

    def action_page(self, direction: int) -> None:
        self.highlighted += direction * max(1, self.size.height - 1)

    def action_jump(self, where: int) -> None:
        self.highlighted = 0 if where == 0 else len(self.entries) - 1

    def action_choose(self) -> None:
        chosen = self.highlighted_id
        if chosen is not None:
            self.post_message(self.Chosen(None if chosen == ALL else chosen))

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_offset.y) + event.y
        if 0 <= index < len(self.entries):
            self.highlighted = index
            self.action_choose()
