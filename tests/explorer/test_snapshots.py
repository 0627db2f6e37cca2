"""SVG snapshots of the key screens at 80x24 and 120x40 on the deterministic demo store.

Each `run_before` asserts the screen really holds data before the picture is taken: a table
that renders empty must fail here, not become the new baseline."""

from __future__ import annotations

import pytest

from modelyard.app.messages import OpenVersion
from modelyard.app.widgets.versions_table import VersionsTable

from explorer_helpers import app_for, export_text, settle

SIZES = [(80, 24), (120, 40)]


def browse(expect: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        table = pilot.app.screen.query_one(VersionsTable)
        assert table.total == 62 and table.current_ref == "churn-xgb:25"
        assert expect in export_text(pilot.app)
    return run_before


def card(ref: str, tab: str, expect: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.post_message(OpenVersion(ref))
        await settle(pilot)
        await pilot.press(tab)
        await settle(pilot)
        assert expect in export_text(pilot.app)
    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_browse(snap_compare, demo_store, size) -> None:
    assert snap_compare(app_for(demo_store), terminal_size=size,
                        run_before=browse("churn-xgb:25"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_card_overview(snap_compare, demo_store, size) -> None:
    assert snap_compare(app_for(demo_store), terminal_size=size,
                        run_before=card("vit-food101:12", "1", "vit-base:2"))


def test_card_metrics(snap_compare, demo_store) -> None:
    assert snap_compare(app_for(demo_store), terminal_size=(120, 40),
                        run_before=card("churn-xgb:25", "3", "eval/logloss"))


def test_card_charts(snap_compare, demo_store) -> None:
    assert snap_compare(app_for(demo_store), terminal_size=(120, 40),
                        run_before=card("churn-xgb:25", "4", "AUC"))


def test_markup_model_renders_literally(snap_compare, demo_store) -> None:
    assert snap_compare(app_for(demo_store), terminal_size=(120, 40),
                        run_before=card("resnet[/bold]:2", "1", "[@click=app.quit]"))


def test_compare(snap_compare, demo_store) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        from modelyard.app.screens.compare import CompareScreen

        await pilot.app.push_screen(CompareScreen(["vit-food101:16", "vit-food101:15",
                                                   "vit-base:2"]))
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert "vit-base:2" in export_text(pilot.app)

    assert snap_compare(app_for(demo_store), terminal_size=(120, 40), run_before=run_before)
