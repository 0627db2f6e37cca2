"""Compare across models, and the actions that write store events, through their dialogs."""

from __future__ import annotations

import threading

from textual.widgets import DataTable

from modelyard.app.screens.compare import CompareScreen
from modelyard.app.widgets.versions_table import VersionsTable

from explorer_helpers import app_for, export_text, settle


async def mark(pilot, table: VersionsTable, refs: list[str]) -> None:
    for ref in refs:
        await pilot.press("slash", "end", "ctrl+u", *f'model:"{ref.split(":")[0]}"', "enter")
        await settle(pilot)
        while table.current_ref != ref:
            await pilot.press("down")
        await pilot.press("space")


async def test_compare_three_versions_across_two_models(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        await mark(pilot, table, ["vit-food101:16", "vit-food101:15", "vit-base:2"])
        assert table.marks == ["vit-food101:16", "vit-food101:15", "vit-base:2"]
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        params = screen.query_one("#cmp-params-table", DataTable)
        keys = [str(params.get_row_at(i)[0]) for i in range(params.row_count)]
        assert keys and all(k for k in keys)
        await pilot.press("a")
        await settle(pilot)
        assert params.row_count > len(keys)  # all params, not only differences
        await pilot.press("2")
        await settle(pilot)
        metrics = screen.query_one("#cmp-metrics-table", DataTable)
        assert metrics.row_count > 0
        best_styles = [cell.style for i in range(metrics.row_count)
                       for cell in metrics.get_row_at(i)[1:] if "reverse" in str(cell.style)]
        assert best_styles
        await pilot.press("3")
        await settle(pilot)
        key = screen.query_one("#cmp-curve-keys").highlighted_option.id
        assert screen.curve_refs == [v.ref for v in screen.versions if key in v.metric_keys]
        assert len(screen.curve_refs) >= 2
        await pilot.press("5")
        await settle(pilot)
        assert "parents" in export_text(app) and "vit-base:2" in export_text(app)
        await pilot.press("4")
        await settle(pilot)
        assert "vit-food101:16" in export_text(app)


async def test_alias_move_tag_describe_deprecate_through_dialogs(writable_store) -> None:
    store = writable_store
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        await pilot.press("down")
        ref = table.current_ref
        model = ref.split(":")[0]
        await pilot.press("a", *"champion", "enter")
        await settle(pilot)
        assert store.get(f"{model}@champion").ref == ref
        assert "@champion" in export_text(app)
        await pilot.press("t", *"stage=canary", "enter")
        await settle(pilot)
        assert store.get(ref).tags["stage"] == "canary"
        await pilot.press("d", "end", *" (checked)", "ctrl+s")
        await settle(pilot)
        assert store.get(ref).description.endswith("(checked)")
        await pilot.press("x", *"superseded", "enter")
        await settle(pilot)
        assert store.get(ref).deprecated
        assert "depr" in export_text(app)  # the flag in the versions table
        history = [e.type for e in store.history(model)][-4:]
        assert history == ["alias.set", "tag.set", "description.set", "deprecated.set"]
        await pilot.press("a", "escape")  # a cancelled dialog writes nothing
        await settle(pilot)
        assert len(store.history(model)) == len(store.history(model))


async def test_export_dialog_writes_verified_files(writable_store, tmp_path) -> None:
    app = app_for(writable_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        ref = app.screen.query_one(VersionsTable).current_ref
        dest = tmp_path / "exported"
        await pilot.press("e", "end", "ctrl+u", *str(dest), "enter")
        await settle(pilot)
        assert (dest / "modelyard-version.json").exists()
        assert any(p.name != "modelyard-version.json" for p in dest.iterdir())
        assert ref


async def test_new_version_appears_live_keeping_cursor_and_marks(writable_store) -> None:
    store = writable_store
    app = app_for(store, live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        await pilot.press("down", "down", "space", "up")
        cursor_ref, marks = table.current_ref, list(table.marks)

        def writer() -> None:  # another "process": its own Store, another thread
            from modelyard.store import Store

            other = Store.open(store.root, index=store.root.parent / "other-host.sqlite")
            other.add_version("churn-xgb", params={"eta": 0.42}, metrics={"auc": 0.99})
            other.close()

        thread = threading.Thread(target=writer)
        thread.start()
        thread.join()
        for _ in range(50):
            await pilot.pause(0.1)
            if table.total == 63:
                break
        await settle(pilot)
        assert table.total == 63
        assert table.current_ref == cursor_ref and table.marks == marks
        assert "churn-xgb:26" in export_text(app)


async def test_help_screen_and_palette(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = export_text(app)
        assert "Compare" in text and "Search" in text and "ctrl+p" in text
        await pilot.press("escape")
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        await pilot.press("space", "down", "space")  # two versions to compare
        assert len(table.marks) == 2
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert "Copy selected text" in export_text(app)  # every command, unfiltered
        await pilot.press(*"Compare")
        await settle(pilot)
        text = export_text(app)
        assert "Compare (c)" in text and "Copy selected text" not in text  # filtered
        await pilot.press("enter")  # runs the browse screen's compare action
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        assert app.screen.refs == table.marks
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
    assert not app.is_running


async def test_gated_alias_is_refused_then_forced_with_a_reason(writable_store) -> None:
    store = writable_store
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        assert table.current_ref == "churn-xgb:25"  # fails the demo policy's serving rule
        before = store.get("churn-xgb@production").ref
        await pilot.press("a", *"production", "enter")
        await settle(pilot)
        assert store.get("churn-xgb@production").ref == before  # refused
        assert "@production is gated" in export_text(app) and "serving" in export_text(app)
        await pilot.press(*"hotfix approved", "enter")
        await settle(pilot)
        assert store.get("churn-xgb@production").ref == "churn-xgb:25"
        last = [e for e in store.history("churn-xgb") if e.type == "alias.set"][-1]
        assert last.data["forced"] and last.data["reason"] == "hotfix approved"
