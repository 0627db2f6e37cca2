"""Browse and search, driven by keys as a person would."""

from __future__ import annotations

from modelyard.app.widgets.model_list import ModelList
from modelyard.app.widgets.search_bar import SearchBar
from modelyard.app.widgets.versions_table import VersionsTable

from explorer_helpers import app_for, export_text, settle


async def test_first_screen_lists_every_version(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        assert table.total == 62
        assert table.current_ref == "churn-xgb:25"  # newest first
        text = export_text(app)
        assert "churn-xgb:25" in text and "62 versions" in text
        assert "@champion" in text


async def test_search_narrows_and_bad_query_points_at_the_column(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*"model:vit-food101 and metrics.accuracy > 0.86")
        await pilot.press("enter")
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        expected = demo_store.count("model:vit-food101 and metrics.accuracy > 0.86")
        assert 0 < table.total == expected < 16
        assert table.current_ref.startswith("vit-food101:")
        await pilot.press("slash", "end", "ctrl+u")  # clear the line, as in a shell
        await pilot.press(*"metrics.auc >")
        await settle(pilot)
        bar = app.screen.query_one(SearchBar)
        assert bar.has_class("-invalid") and "column 14" not in export_text(app)
        await pilot.pause(0.5)  # the person stops typing: now the bar explains
        assert bar.has_class("-explain")
        text = export_text(app)
        assert "expected a value after '>'" in text and "column 14" in text
        await pilot.press(*" 0.85", "enter")
        await settle(pilot)
        assert not bar.has_class("-invalid")
        assert table.total == demo_store.count("metrics.auc > 0.85") > 0


async def test_model_list_filters_and_sort_keys_reorder(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        models = app.screen.query_one(ModelList)
        models.focus()
        names = models.ids
        models.highlighted = names.index("vit-base")
        await pilot.press("enter")
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        assert table.total == 3 and table.current_ref == "vit-base:3"
        table.focus()
        table.sort_by("ref", desc=False)
        await settle(pilot)
        assert table.current_ref == "vit-base:3"
        table.sort_by("created", desc=False)  # the cursor stays on its version (issue 14)
        await settle(pilot)
        assert table.row(0).ref == "vit-base:1" and table.current_ref == "vit-base:3"
        assert table.cursor == 2
        await pilot.press("S")
        await settle(pilot)
        assert table.row(0).ref == "vit-base:3" and table.cursor == 0


async def test_metric_column_sort_puts_best_first(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        table.metric_columns = ["auc"]
        table.sort_by("metric:auc")
        await settle(pilot)
        best = demo_store.search("order by metrics.auc desc", limit=1)[0]
        assert table.current_ref == best.ref
        await pilot.press("j", "j")
        assert table.cursor == 2


async def test_markup_model_renders_literally(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *'model:"resnet[/bold]"', "enter")
        await settle(pilot)
        text = export_text(app)
        assert "resnet[/bold]:2" in text
        await pilot.press("enter")
        await settle(pilot)
        text = export_text(app)
        assert "resnet[/bold]:2" in text
        assert "\\x1b[31m" in text and "\\u202e" in text  # escapes shown, not acted on
        assert "[@click=app.quit]" in text
        assert app.is_running


async def test_search_completes_keys_from_the_index(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"metrics.eval/l")
        await settle(pilot)
        bar = app.screen.query_one(SearchBar)
        assert bar.input._suggestion == "metrics.eval/logloss"
        await pilot.press("right", *" < 0.4", "enter")  # → accepts the completion
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        assert bar.input.value == "metrics.eval/logloss < 0.4"
        assert table.total == demo_store.count("metrics.eval/logloss < 0.4") > 0
