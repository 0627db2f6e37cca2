"""Focus helpers: a person's keyboard reaches only the focused widget."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Input


def focus_first(widget: Widget) -> bool:
    """Focus `widget`, or else its first focusable descendant (a tab's content after its
    number key, so the content's keys work at once, not after tab). A text box comes last:
    focused, it would take the next number key as text instead of switching tabs. False
    when there is nothing to focus yet."""
    if widget.focusable:
        widget.focus()
        return True
    focusable = [w for w in widget.query("*") if w.focusable]
    target = next((w for w in focusable if not isinstance(w, Input)), None) or \
        next(iter(focusable), None)
    if target is None:
        return False  # nothing focusable yet (its children still mounting): try again
    target.focus()
    return True
