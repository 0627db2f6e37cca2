"""Issue 14: defects seen in a real terminal, reproduced with Pilot where Pilot can see them
(tests/terminal/ runs the same journeys through tmux)."""

from __future__ import annotations

import re

import pytest

from modelyard.app.widgets.versions_table import VersionsTable

from explorer_helpers import app_for, export_text, screen_lines, settle


def shows_ref(text: str, ref: str) -> bool:
    """`ref` on screen as a whole ref (churn-xgb:2 is not churn-xgb:25)."""
    return re.search(rf"(?<![\w-]){re.escape(ref)}(?![\w.-])", text) is not None


async def test_no_color_starts_and_renders_every_row(demo_store, monkeypatch) -> None:
    """NO_COLOR adds Textual's monochrome filter, which fails on a segment without a style."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.no_color
        assert "churn-xgb:25" in export_text(app)
        await pilot.press("G")  # past the last row: blank lines
        await settle(pilot)
        await pilot.press("m")  # the model list too
        await settle(pilot)
        assert app.return_code in (None, 0)
        assert "All models" in export_text(app)


async def test_no_color_every_card_tab_and_compare_tab_renders(demo_store, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        for key in "123456789":
            await pilot.press(key)
            await settle(pilot)
            export_text(app)
        await pilot.press("escape", "space", "space", "c")
        await settle(pilot)
        for key in "12345":
            await pilot.press(key)
            await settle(pilot)
            export_text(app)
        await pilot.press("escape", "question_mark")
        await settle(pilot)
        assert app.return_code in (None, 0)


async def test_metric_picker_applies_with_enter(demo_store) -> None:
    """Enter in the SelectionList toggled the item back and the dialog stayed open."""
    from modelyard.app.widgets.metric_picker import MetricPicker

    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        before = list(table.metric_columns)
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, MetricPicker)
        picker = app.screen.query_one("SelectionList")
        first = picker.get_option_at_index(0).value
        await pilot.press("space")  # toggle the first metric
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, MetricPicker)
        table = app.screen.query_one(VersionsTable)
        expected = [m for m in before if m != first] if first in before else [*before, first]
        assert sorted(table.metric_columns) == sorted(expected)


async def test_cursor_row_stays_visible_above_the_horizontal_scrollbar(demo_store) -> None:
    """At 80x24 the table is wider than its pane: its horizontal scrollbar took the last
    row, and the cursor sank under it."""
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        assert table.virtual_size.width > table.size.width  # a horizontal scrollbar
        await pilot.press("g")
        for step in range(30):
            await pilot.press("j")
            await settle(pilot, rounds=3)
            ref = table.current_ref
            assert ref is not None
            assert shows_ref(export_text(app), ref), f"cursor on {ref} hidden, step {step}"
        for _ in range(30):
            await pilot.press("k")
        await settle(pilot)
        assert shows_ref(export_text(app), table.current_ref)


async def test_number_keys_focus_the_tab_content_so_its_keys_work_at_once(demo_store) -> None:
    """A person's keyboard reaches only the focused widget: after `3` the focus stayed on the
    tab strip and `l` did nothing until tab was pressed."""
    from textual.widgets import OptionList

    from modelyard.app.screens.compare import CompareScreen
    from modelyard.app.widgets.card.files import FilesPane
    from modelyard.app.widgets.card.lineage import LineagePane
    from modelyard.app.widgets.card.metrics import MetricsPane
    from modelyard.app.widgets.card.serving import ServingPane

    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        card = app.screen
        await pilot.press("3", "l")
        await settle(pilot)
        assert card.query_one(MetricsPane).view.log_y
        assert "Log scale" in export_text(app)  # the footer shows the tab's keys
        await pilot.press("8")
        await settle(pilot)
        assert app.focused is not None and card.query_one(ServingPane) in \
            [app.focused, *app.focused.ancestors]
        await pilot.press("7")
        await settle(pilot)
        assert card.query_one(FilesPane) in app.focused.ancestors
        await pilot.press("5")
        await settle(pilot)
        assert app.focused is card.query_one(LineagePane)
        await pilot.press("3")  # back to a tab already shown
        await settle(pilot)
        assert card.query_one(MetricsPane) in app.focused.ancestors
        await pilot.press("escape", "space", "space", "c")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("3")
        await settle(pilot)
        keys = app.screen.query_one("#cmp-curve-keys", OptionList)
        before = keys.highlighted
        await pilot.press("down")
        await settle(pilot)
        assert app.focused is keys and keys.highlighted == (before or 0) + 1
        await pilot.press("4")
        await settle(pilot)
        assert app.focused is app.screen.query_one("#cmp-source-files", OptionList)
        await pilot.press("1")
        await settle(pilot)
        assert app.focused is app.screen.query_one("#cmp-params-table")


def dialog_text(app) -> str:
    """The words inside the open dialog, joined across its wrapped lines."""
    from textual.containers import Vertical

    box = app.screen.query_one(Vertical).region
    inner = [line.strip(" ▊▎▌▐▍▋▉█▏") for line in screen_lines(app, box)]
    return " ".join(" ".join(inner).split())


async def test_alias_dialog_wraps_its_text(demo_store) -> None:
    from modelyard.app.dialogs.prompt import PromptDialog

    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)
        text = dialog_text(app)
        assert "moving it if it points elsewhere). Prefix with - to remove it from the " \
               "model." in text, text


async def test_gated_alias_refusal_shows_every_failing_rule_and_reason(writable_store
                                                                        ) -> None:
    """churn-xgb:9 fails both rules @production requires: serving (a pickle) and quality
    (auc and logloss thresholds); the refusal cut off after "fails: se"."""
    from modelyard.app.dialogs.prompt import PromptDialog
    from modelyard.app.messages import OpenVersion

    store = writable_store
    report = store.check_results(store.get("churn-xgb:9"))
    failing = {r.rule: r.reasons for r in report.failing}
    assert set(failing) == {"serving", "quality"} and len(failing["quality"]) == 2
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.post_message(OpenVersion("churn-xgb:9"))
        await settle(pilot)
        await pilot.press("a", *"production", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)
        text = dialog_text(app)
        for rule, reasons in failing.items():
            assert rule in text
            for reason in reasons:
                assert " ".join(reason.split()) in text, (reason, text)
        assert "--force" not in text  # the CLI's advice; here the dialog itself forces
        await pilot.press("escape")
        await settle(pilot)
        assert store.get("churn-xgb:9").aliases == []


async def test_metric_picker_title_wraps(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        assert "space to toggle, enter to apply)" in dialog_text(app)


async def test_compare_params_elides_long_values_and_keeps_the_key_column(demo_store) -> None:
    """One list param made its column ~185 cells wide: the other versions went off screen,
    and scrolling right lost the param names."""
    from textual.widgets import DataTable

    from modelyard.app.screens.compare import CompareScreen

    refs = ["churn-xgb:25", "churn-xgb:24", "churn-xgb:23"]
    full = str(demo_store.get(refs[0]).params["features"]["include"])
    assert len(full) > 100
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await app.push_screen(CompareScreen(refs))
        await settle(pilot)
        await pilot.press("a")  # every param, the equal ones too
        await settle(pilot)
        table = app.screen.query_one("#cmp-params-table", DataTable)
        header = screen_lines(app, table.region)[0]
        for ref in refs:
            assert shows_ref(header, ref), header  # every version on screen at 120 columns
        assert app.focused is table
        row = list(table.rows).index("features.include")
        await pilot.press(*["down"] * row, "right", "enter")  # the long value: all of it
        await settle(pilot)
        shown = [n for n in app._notifications if "features.include" in (n.title or "")]
        assert shown and shown[-1].message == full
    async with app_for(demo_store).run_test(size=(80, 24)) as pilot:
        app = pilot.app
        await settle(pilot)
        await app.push_screen(CompareScreen(refs))
        await settle(pilot)
        await pilot.press("a", *["right"] * 3)  # scrolled to the last version
        await settle(pilot)
        table = app.screen.query_one("#cmp-params-table", DataTable)
        lines = screen_lines(app, table.region)
        assert shows_ref(lines[0], refs[-1]) and lines[0].split()[0] == "param", lines[0]
        assert any(line.strip().startswith("features.include") for line in lines)


async def test_versions_table_keeps_the_version_column_when_scrolled_right(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        await pilot.press(*["right"] * 80)  # as far right as it goes: the FORMAT column
        await settle(pilot)
        assert table.scroll_offset.x == table.max_scroll_x > 0
        lines = screen_lines(app, table.region)
        assert lines[0].split()[0] == "VERSION" and "FORMAT" in lines[0], lines[0]
        assert shows_ref(lines[1], "churn-xgb:25"), lines[1]


async def test_model_list_counts_are_not_painted_over_by_its_scrollbar(store) -> None:
    """With more models than rows the list's scrollbar took the last two cells of each
    line: the count column lost its last digits."""
    from modelyard.app.widgets.model_list import ModelList

    for i in range(40):
        for n in range(1 + i % 3):
            store.add_version(f"bert-{i:05d}", params={"n": n}, metrics={"acc": 0.5 + n / 10})
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        models = app.screen.query_one(ModelList)
        assert models.display and models.virtual_size.height > models.size.height
        lines = screen_lines(app, models.scrollable_content_region)
        total = sum(1 + i % 3 for i in range(40))
        assert lines[0].split()[-1] == str(total), lines[0]  # All models
        for line in lines[1:4]:
            name, count = line.split()
            assert count == str(1 + int(name[-5:]) % 3), line


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_card_metric_table_never_cuts_a_number(demo_store, size) -> None:
    """The metric table's pane was 34 columns at every size: `learning_rate` min showed as
    `4.672` for 4.672e-09, and a cut column ran into the plot's labels."""
    from textual.widgets import DataTable

    from modelyard.app.messages import OpenVersion
    from modelyard.app.safe_text import fmt_number

    ref = "llama-mini-support-lora:14"
    version = demo_store.get(ref)
    info = version.record["metric_series"]["keys"]
    app = app_for(demo_store)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.post_message(OpenVersion(ref))
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one("#metric-table", DataTable)
        lines = screen_lines(app, table.region)
        assert table.row_count == len(version.metrics) < len(lines)  # no vertical scroll
        for row, (key, value) in enumerate(version.metrics.items()):
            line = lines[1 + row]  # under the header; a long name may be elided, not cut
            assert key[:7] in line, (key, line)
            s = info.get(key) or {}
            cells = line.split()
            for number in (value, s.get("min"), s.get("max")):
                assert fmt_number(number) in cells, (key, number, line)


async def test_violation_and_mixed_script_show_in_the_table_and_the_card(store) -> None:
    from modelyard.app.messages import OpenVersion

    from policy_display_fixtures import MIXED, violation_store

    store = violation_store(store)
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        lines = screen_lines(app, table.region)
        am1 = next(line for line in lines if shows_ref(line, "am:1"))
        assert "✗violation" in am1, am1
        mixed = next(line for line in lines if f"{MIXED}:1" in line)
        assert "mixed-script" in mixed, mixed
        assert "✗violation" not in next(line for line in lines if shows_ref(line, "am:2"))
        models = app.screen.query_one("ModelList")
        assert any(f"⚠ {MIXED}" in line for line in screen_lines(app, models.region))
        app.post_message(OpenVersion("am:1"))
        await settle(pilot)
        text = export_text(app)
        assert "violation" in text and "@production was moved onto am:1" in text, text
        await pilot.press("escape")
        await settle(pilot)
        app.post_message(OpenVersion(f"{MIXED}:1"))
        await settle(pilot)
        assert "mixes scripts" in export_text(app)


async def test_small_ones_m_focuses_the_model_list_brackets_stop_at_the_ends_tag_needs_a_value(
        writable_store) -> None:
    """Issue 14, defect 10 (part): `m` showed the model list without focusing it; `]` on
    the newest version raised a red error toast; `t justakey` stored justakey=""."""
    from modelyard.app.screens.version_card import VersionScreen
    from modelyard.app.widgets.model_list import ModelList

    store = writable_store
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        models = app.screen.query_one(ModelList)
        assert models.display and app.focused is models
        await pilot.press("m")
        await settle(pilot)
        assert not models.display and isinstance(app.focused, VersionsTable)
        await pilot.press("t", *"justakey", "enter")
        await settle(pilot)
        assert "justakey" not in store.get("churn-xgb:25").tags
        assert any("KEY=VALUE" in n.message for n in app._notifications)
        await pilot.press("enter")  # the newest version's card
        await settle(pilot)
        assert isinstance(app.screen, VersionScreen)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert app.screen.version.ref == "churn-xgb:25"
        assert not [n for n in app._notifications if n.severity == "error"]
        assert any("is the newest version" in n.message for n in app._notifications)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert app.screen.version.ref == "churn-xgb:24"


async def test_card_metric_table_refits_when_the_terminal_grows(demo_store) -> None:
    from textual.widgets import DataTable

    from modelyard.app.messages import OpenVersion
    from modelyard.app.widgets.card.metrics import MetricsPane

    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.post_message(OpenVersion("llama-mini-support-lora:14"))
        await settle(pilot)
        await pilot.press("3", "down")
        await settle(pilot)
        table = app.screen.query_one("#metric-table", DataTable)
        assert "points" not in screen_lines(app, table.region)[0]  # no room at 80 columns
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        table = app.screen.query_one("#metric-table", DataTable)
        assert "points" in screen_lines(app, table.region)[0]
        assert table.cursor_row == 1
        pane = app.screen.query_one(MetricsPane)
        marked = [k for k in pane.plotted]
        assert marked and all("●" in str(table.get_cell(k, table.ordered_columns[0].key))
                              for k in marked)
