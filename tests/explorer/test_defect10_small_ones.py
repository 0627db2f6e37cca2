"""Issue 14, defect 10: the small ones, each as a person meets it (tests/terminal/ repeats the
ones about a real keyboard)."""

from __future__ import annotations

from modelyard.app.messages import OpenVersion
from modelyard.app.screens.version_card import VersionScreen
from modelyard.app.widgets.search_bar import SearchBar
from modelyard.app.widgets.versions_table import VersionsTable

from explorer_helpers import app_for, export_text, screen_lines, settle


async def test_ctrl_c_quits(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause(0.1)
        assert not app.is_running


async def test_q_on_a_card_goes_back_and_on_browse_quits(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.post_message(OpenVersion("churn-xgb:25"))
        await settle(pilot)
        assert isinstance(app.screen, VersionScreen)
        await pilot.press("q")
        await settle(pilot)
        assert app.is_running and not isinstance(app.screen, VersionScreen)
        await pilot.press("space", "space", "c")
        await settle(pilot)
        await pilot.press("q")  # compare goes back the same way
        await settle(pilot)
        assert app.is_running and app.screen.query(VersionsTable)
        await pilot.press("q")
        await pilot.pause(0.1)
        assert not app.is_running


async def test_help_and_quit_show_in_the_footer_at_80_columns(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = screen_lines(app)[-1]
        assert "? Help" in footer and "q Quit" in footer, footer


async def test_every_sort_keeps_the_cursor_on_its_version_and_actions_work_at_once(
        demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        await pilot.press("j", "j", "j", "j", "j")
        await settle(pilot)
        ref = table.current_ref
        for _ in range(len(table.columns) + 1):
            await pilot.press("s", "a")  # the alias dialog names the version at once
            await settle(pilot)
            assert ref in export_text(app), table.sort_column
            await pilot.press("escape")
            await settle(pilot)
            assert table.current_ref == ref, table.sort_column
            assert table.cursor != 0 or table.row(0).ref == ref


async def test_sorting_by_aliases_and_flags_orders_by_them(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        for column in ("aliases", "flags"):
            for desc in (True, False):
                table.sort_by(column, desc=desc)
                await settle(pilot)
                cells = [bool(table.row(i).cells[column]) for i in range(table.total)]
                assert any(cells) and not all(cells)
                first_empty = cells.index(False) if desc else cells.index(True)
                assert all(c == (not desc) for c in cells[first_empty:]), (column, desc)


async def test_an_invalid_query_says_the_results_are_stale(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"churn")
        await settle(pilot)
        await pilot.press(*" and (")
        await settle(pilot)
        assert "results below are for the last valid" in export_text(app)
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace")
        await settle(pilot)
        assert "results below are for the last valid" not in export_text(app)


async def test_choosing_a_model_writes_one_model_filter_in_the_search_bar(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(SearchBar)
        table = app.screen.query_one(VersionsTable)
        await pilot.press("slash", *"order by created")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("m", "down", "enter")  # the first model under "All models"
        await settle(pilot)
        first = bar.input.value
        assert first.startswith("model:") and first.endswith("order by created")
        model = first.split()[0][6:]
        assert table.total == demo_store.count(f"model:{model}")
        assert table.model is None  # no second, hidden filter
        await pilot.press("m", "down", "enter")  # another model replaces it
        await settle(pilot)
        assert bar.input.value.count("model:") == 1 and bar.input.value != first
        await pilot.press("m", "home", "enter")  # all models: the filter goes
        await settle(pilot)
        assert bar.input.value == "order by created"
        assert table.total == demo_store.count("")


async def test_copy_says_what_was_sent_and_w_writes_it_to_a_file(demo_store, tmp_path,
                                                                  monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.post_message(OpenVersion("churn-xgb:25"))
        await settle(pilot)
        await pilot.press("8", "y")
        await settle(pilot)
        said = " ".join(n.message for n in app._notifications)
        # not "copied": OSC 52 has no answer
        assert "Sent the InferenceService YAML" in said and "may ignore" in said
        assert "copied" not in said
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        written = tmp_path / "churn-xgb-v25-inferenceservice.yaml"
        assert written.read_text() == demo_store.deploy_spec("churn-xgb:25")


async def test_lineage_starts_with_this_version_selected(demo_store) -> None:
    from modelyard.app.widgets.card.lineage import LineagePane

    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.post_message(OpenVersion("vit-food101:3"))
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        tree = app.screen.query_one(LineagePane)
        assert tree.cursor_node is not None and "vit-food101:3" in str(tree.cursor_node.label)
        await pilot.press("down", "down", "enter")  # the first parent: opens it
        await settle(pilot)
        assert app.screen.ref == "vit-base:2"


async def test_compare_curves_differ_by_marker_not_only_colour(demo_store) -> None:
    from modelyard.app.screens.compare import CompareScreen

    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"model:vit-food101")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("space", "space", "c")
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen) and len(screen.curve_refs) == 2
        markers = [series[0] for series in screen.query_one("#cmp-plot").plt.monitor.marker]
        assert len(set(markers)) == 2 and "braille" not in markers, markers


async def test_search_history_up_and_down_kept_per_store_in_the_cache(demo_store,
                                                                     monkeypatch, tmp_path
                                                                     ) -> None:
    """Issue 14's wanted features: search history, on local disk, never in the store."""
    from modelyard.app.search_history import history_path

    monkeypatch.setenv("MODELYARD_CACHE_DIR", str(tmp_path / "cache"))
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for query in ("churn", "model:vit-base"):
            await pilot.press("slash", "ctrl+u", *query, "enter")
            await settle(pilot)
        bar = app.screen.query_one(SearchBar)
        await pilot.press("slash", "ctrl+u", "up")
        assert bar.input.value == "model:vit-base"
        await pilot.press("up")
        assert bar.input.value == "churn"
        await pilot.press("down", "down")
        assert bar.input.value == ""
    path = history_path(demo_store.config["store_id"])
    assert path.is_relative_to(tmp_path / "cache")
    app = app_for(demo_store)  # a new session on the same store remembers them
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "up")
        assert app.screen.query_one(SearchBar).input.value == "model:vit-base"


async def test_param_columns_from_the_picker_show_values_and_sort(demo_store) -> None:
    """Issue 14's wanted features: param columns beside metric columns, sortable."""
    from modelyard.app.widgets.metric_picker import MetricPicker, Param
    from modelyard.store.versions.card import flatten_params

    app = app_for(demo_store)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"model:churn-xgb", "enter")
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, MetricPicker)
        picker = app.screen.query_one("SelectionList")
        values = [picker.get_option_at_index(i).value for i in range(picker.option_count)]
        params = flatten_params(demo_store.get("churn-xgb:25").params)
        key = next(k for k, v in params.items() if isinstance(v, int | float))
        assert Param(key) in values
        picker.select(Param(key))
        await pilot.press("enter")
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        assert table.param_columns == [key] and f"param:{key}" in table.columns
        assert key[:14] in export_text(app)
        table.sort_by(f"param:{key}", desc=False)
        await settle(pilot)
        shown = [table.row(i).cells.get(f"param:{key}") for i in range(table.total)]
        truth = [flatten_params(v.params).get(key)
                 for v in demo_store.search(f"model:churn-xgb order by params.`{key}` asc",
                                            limit=None)]
        assert any(s is not None for s in shown)
        nums = [t for t in truth if isinstance(t, int | float)]
        assert nums == sorted(nums)
        assert [s is None for s in shown] == [t is None for t in truth]
