"""A version's card: every tab, opened with its number key, shows that version's data."""

from __future__ import annotations

from textual.widgets import DataTable, TabbedContent, Tree

from modelyard.app.messages import OpenVersion
from modelyard.app.screens.version_card import VersionScreen
from modelyard.app.widgets.card.metrics import MetricsPane

from explorer_helpers import app_for, export_text, settle


async def open_card(app, pilot, ref: str) -> VersionScreen:
    app.post_message(OpenVersion(ref))
    await settle(pilot)
    assert isinstance(app.screen, VersionScreen)
    return app.screen


async def test_every_tab_shows_the_version(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the newest version, under the cursor
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, VersionScreen) and screen.ref == "churn-xgb:25"
        text = export_text(app)
        assert "alice@gpu-a1" in text and "pickle: loading it can run code" in text
        expectations = {
            "2": "max_depth", "3": "log y", "4": "AUC", "5": "children",
            "6": "commit", "7": "model.pkl", "8": "InferenceService", "9": "alias.set",
        }
        for key, needle in expectations.items():
            await pilot.press(key)
            await settle(pilot)
            text = export_text(app)
            assert needle in text, (key, needle)
        assert screen.query_one(TabbedContent).active == "history"
        await pilot.press("escape")
        assert not isinstance(app.screen, VersionScreen)


async def test_metric_keys_change_the_plot(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = await open_card(app, pilot, "vit-food101:16")
        await pilot.press("3")
        await settle(pilot)
        pane = screen.query_one(MetricsPane)
        assert len(pane.plotted) == 1 and "loss" in pane.plotted[0]  # a loss curve first
        pane.query_one(DataTable).focus()
        await pilot.press("l", "o", "w", "plus")
        await settle(pilot)
        assert pane.view.log_y and pane.view.smoothing == 0.6 and pane.view.x_axis == "time"
        assert pane.view.step_range is not None
        text = export_text(app)
        assert "log y: on" in text and "steps:" in text
        await pilot.press("0")
        await settle(pilot)
        assert pane.view.step_range is None and not pane.view.log_y
        table = pane.query_one(DataTable)
        other = next(k for k in pane.version.metric_keys if k not in pane.plotted)
        table.move_cursor(row=[r.value for r in table.rows].index(other))
        await pilot.press("enter")  # toggle that metric's curve on
        await settle(pilot)
        assert other in pane.plotted and len(pane.plotted) == 2
        assert other in export_text(app)


async def test_lineage_enter_opens_the_parent(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_card(app, pilot, "vit-food101:3")
        await pilot.press("5")
        await settle(pilot)
        tree = app.screen.query_one("#lineage-pane", Tree)
        tree.focus()
        parent_line = next(i for i in range(tree.last_line + 1)
                           if tree.get_node_at_line(i).data == "vit-base:2")
        tree.cursor_line = parent_line
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, VersionScreen) and app.screen.ref == "vit-base:2"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert app.screen.ref == "vit-base:3"


async def test_source_tab_shows_code_and_diff(demo_store) -> None:
    dirty = next(v for v in demo_store.search("model:churn-xgb", limit=None)
                 if (v.source.get("git") or {}).get("dirty"))
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_card(app, pilot, dirty.ref)
        await pilot.press("6")
        await settle(pilot)
        text = export_text(app)
        assert "import" in text and "dirty" in text
        tree = app.screen.query_one("#source-tree", Tree)
        tree.focus()
        diff_line = next(i for i in range(tree.last_line + 1)
                         if tree.get_node_at_line(i).data == "\x00diff")
        tree.cursor_line = diff_line
        await pilot.press("enter")
        await settle(pilot)
        assert "@@" in export_text(app)


async def test_files_tab_opens_a_text_file(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_card(app, pilot, "vit-base:3")
        await pilot.press("7")
        await settle(pilot)
        table = app.screen.query_one("#files-table", DataTable)
        table.focus()
        row = next(i for i, key in enumerate(table.rows) if key.value == "config.json")
        table.move_cursor(row=row)
        await pilot.press("enter")
        await settle(pilot)
        assert "architectures" in export_text(app)
        await pilot.press("escape")
