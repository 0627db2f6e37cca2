"""Textual's Footer, rebuilt only when the keys it shows change.

Textual's Footer rebuilds all its keys after every change of the screen's bindings, and
every focus move changes them: opening a version card moves the focus several times
(screen, tabs, the shown pane, its table), so the footer was rebuilt seven or eight times,
each rebuild mounting and restyling every key, before the card's first frame, mostly to
show the same keys again. Here a change rebuilds it only when the keys it would show (key,
action, description, enabled, tooltip, group) differ from those it shows.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """The key bar, rebuilt when what it shows changes."""

    _shown: tuple[tuple[object, ...], ...] | None = None  # what the last rebuild showed

    def bindings_changed(self, screen: Screen) -> None:
        shown = self._showing(screen)
        if self._bindings_ready and shown == self._shown:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = shown  # the rebuild Textual just scheduled shows these

    def _showing(self, screen: Screen) -> tuple[tuple[object, ...], ...]:
        """Everything `Footer.compose` reads from the bindings, in its order."""
        active = screen.active_bindings
        keys: tuple[tuple[object, ...], ...] = tuple(
            (binding.key, binding.action, binding.description, binding.group,
             binding.key_display, binding.tooltip, enabled, tooltip)
            for _node, binding, enabled, tooltip in active.values() if binding.show)
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if palette is not None:
            _node, binding, enabled, tooltip = palette
            keys += ((binding.key, binding.action, binding.description, binding.tooltip,
                      enabled, tooltip),)
        return keys
