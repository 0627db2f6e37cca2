"""Regenerate every SVG in screenshots/ from the real app on the demo store.

    .venv/bin/python screenshots/regenerate.py

The demo store is built fresh (deterministic, seed 7) in a temporary folder with its own
index, so this never touches your stores or your cache.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
STORE = Path(tempfile.gettempdir()) / "modelyard-screenshots" / "demo-store"


async def settle(pilot) -> None:
    for _ in range(40):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.03)
        if not any(w.is_running for w in pilot.app.workers):
            break
    await pilot.pause(0.1)


def open_card(ref: str, tab: str) -> Callable[[object], Awaitable[None]]:
    async def steps(pilot) -> None:
        from modelyard.app.messages import OpenVersion

        pilot.app.post_message(OpenVersion(ref))
        await settle(pilot)
        await pilot.press(tab)
    return steps


def typed(query: str) -> Callable[[object], Awaitable[None]]:
    async def steps(pilot) -> None:
        await pilot.press("slash", *query)
        await pilot.pause(0.5)  # a person stops typing: an invalid query explains itself
        await settle(pilot)
    return steps


async def compare(pilot) -> None:
    from modelyard.app.screens.compare import CompareScreen

    await pilot.app.push_screen(CompareScreen(["vit-food101:16", "vit-food101:15",
                                               "vit-base:2"]))
    await settle(pilot)
    await pilot.press("2")


async def compare_curves(pilot) -> None:
    await compare(pilot)
    await settle(pilot)
    await pilot.press("3")


def then(steps: Callable, *keys: str) -> Callable[[object], Awaitable[None]]:
    """`steps`, then `keys` pressed one by one with the screen settled after each."""
    async def more(pilot) -> None:
        await steps(pilot)
        for key in keys:
            await settle(pilot)
            await pilot.press(key)
    return more


async def param_views(pilot) -> None:
    await pilot.press("p")


async def nothing(pilot) -> None:
    return None


SHOTS: list[tuple[str, tuple[int, int], Callable]] = [
    ("browse", (120, 40), nothing),
    ("browse-80x24", (80, 24), nothing),
    ("search", (120, 40), typed("metrics.accuracy > 0.85 order by metrics.accuracy desc")),
    ("search-error", (120, 40), typed("metrics.auc > and @champion")),
    ("card-overview", (120, 40), open_card("vit-food101:12", "1")),
    ("card-params", (120, 40), open_card("churn-xgb:25", "2")),
    ("card-metrics", (120, 40), open_card("vit-food101:16", "3")),
    ("card-charts", (120, 40), open_card("churn-xgb:25", "4")),
    ("card-lineage", (120, 40), open_card("llama-mini-support-lora:12", "5")),
    ("card-source", (120, 40), open_card("churn-xgb:18", "6")),
    ("card-files", (120, 40), open_card("churn-xgb:25", "7")),
    ("card-serving", (120, 40), open_card("vit-food101:15", "8")),
    ("card-history", (120, 40), open_card("churn-xgb:25", "9")),
    ("compare-metrics", (120, 40), compare),
    ("compare-curves", (120, 40), compare_curves),
    ("compare-curves-grid", (120, 40), then(compare_curves, "g")),
    ("card-metrics-grid", (120, 40), then(open_card("vit-food101:16", "3"), "g")),
    ("card-metrics-grid-80x24", (80, 24), then(open_card("vit-food101:16", "3"), "g")),
    ("param-scatter", (120, 40), param_views),
    ("param-scatter-80x24", (80, 24), param_views),
    ("param-parallel", (120, 40), then(param_views, "v")),
    ("markup-model", (80, 24), open_card("resnet[/bold]:2", "1")),
]


async def shoot(store, name: str, size: tuple[int, int], steps) -> None:
    from modelyard.app.explorer import make_app

    app = make_app(store, live=False, label="~/models/demo-store")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await steps(pilot)
        await settle(pilot)
        app.save_screenshot(f"{name}.svg", path=str(HERE))
    print(f"screenshots/{name}.svg")


def main() -> None:
    cache = tempfile.mkdtemp(prefix="modelyard-shots-cache-")
    os.environ["MODELYARD_CACHE_DIR"] = cache
    from modelyard.store.demo.build import build_demo

    if STORE.exists():
        shutil.rmtree(STORE)
    STORE.parent.mkdir(parents=True, exist_ok=True)
    store = build_demo(STORE)
    for old in HERE.glob("*.svg"):
        old.unlink()
    for name, size, steps in SHOTS:
        asyncio.run(shoot(store, name, size, steps))
    store.close()
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
