"""Key/value grids for the card panes, built from rich Tables of literal Text only."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from modelyard.app.safe_text import plain


def kv_table(rows: list[tuple[str, Any]]) -> Table:
    """A two-column grid; values are stored strings, shown literally; empty rows dropped."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in rows:
        if value in (None, "", [], {}):
            continue
        grid.add_row(Text(key), value if isinstance(value, Text) else plain(value,
                                                                             multiline=True))
    return grid


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"
