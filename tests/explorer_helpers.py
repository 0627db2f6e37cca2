"""Helpers for driving the explorer in tests (shared by tests/explorer/)."""

from __future__ import annotations

from modelyard.app.explorer import ExplorerApp, make_app
from modelyard.store import Store


def app_for(store: Store, **kwargs) -> ExplorerApp:
    """The app as the CLI builds it; the header names the store by its folder only."""
    kwargs.setdefault("label", store.root.name)
    return make_app(store, live=kwargs.pop("live", False), **kwargs)


async def settle(pilot, *, rounds: int = 40) -> None:
    """Wait until every worker finished and the screen re-rendered."""
    from textual.worker import WorkerCancelled

    for _ in range(rounds):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:  # replaced by a newer one (exclusive workers): wait again
            pass
        await pilot.pause(0.02)
        if not any(w.is_running for w in pilot.app.workers):
            break
    await pilot.pause(0.05)


def export_text(app) -> str:
    """What the screen shows, as plain text: asserts on what a person sees, not on state."""
    import html
    import re

    texts = re.findall(r">([^<]*)</text>", app.export_screenshot())
    return html.unescape("".join(texts)).replace("\xa0", " ")


def screen_lines(app, region=None) -> list[str]:
    """The screen as lines of text with their columns kept (export_text drops blank runs),
    optionally cropped to a widget's region: what a person reads inside a dialog."""
    update = app.screen._compositor.render_full_update()
    lines = ["".join(segment.text for segment in strip) for strip in update.strips]
    if region is not None:
        lines = [line[region.x:region.right] for line in lines[region.y:region.bottom]]
    return lines
