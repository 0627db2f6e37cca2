"""Issue 14: several curves at once (a grid of small plots) on the card's Metrics tab and
in compare's Curves tab, and compare's curve keys (l, o, w, +, -, <, >, 0) as on the card."""

from __future__ import annotations

from textual.widgets import DataTable, OptionList

from modelyard.app.messages import OpenVersion
from modelyard.app.screens.compare import CompareScreen
from modelyard.app.widgets.card.metrics import MetricsPane
from modelyard.app.widgets.compare_curves import CompareCurves
from modelyard.app.widgets.curve_grid import CurveGrid

from explorer_helpers import app_for, export_text, settle


async def test_g_on_the_metrics_tab_draws_every_curve_in_a_grid(demo_store) -> None:
    version = demo_store.get("vit-food101:16")
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.post_message(OpenVersion(version.ref))
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        pane = app.screen.query_one(MetricsPane)
        grid = pane.query_one(CurveGrid)
        assert grid.display and app.focused is grid  # its keys still reach the pane
        assert sorted(grid.titles) == sorted(version.metric_keys)
        assert len(grid.query("PlotextPlot")) == len(version.metric_keys) == 4
        text = export_text(app)
        assert "grid (g)" in text and "4 of 4 curves" in text
        assert "train/loss" in text and "learning_rate" in text  # titles on screen
        await pilot.press("l")
        await settle(pilot)
        assert "log y: on" in export_text(app)
        assert all(p.plt.monitor.yscale[0] == "log" for p in grid.query("PlotextPlot"))
        await pilot.press("g")  # back to one plot, and to the list that chooses
        await settle(pilot)
        assert not grid.display and isinstance(app.focused, DataTable)


async def test_the_grid_shows_the_marked_metrics_when_two_or_more_are(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        app.post_message(OpenVersion("vit-food101:16"))
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        pane = app.screen.query_one(MetricsPane)
        await pilot.press("home", "down", "space")  # eval/accuracy joins the plotted loss
        await settle(pilot)
        assert len(pane.plotted) == 2
        await pilot.press("g")
        await settle(pilot)
        grid = pane.query_one(CurveGrid)
        assert grid.titles == pane.plotted
        assert grid.styles.grid_size_columns == 2  # two panels side by side at 200 columns
        assert "2 of 4 curves (the marked)" in export_text(app)


async def compare_curves(app, pilot, refs: list[str]) -> CompareCurves:
    await app.push_screen(CompareScreen(refs))
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    return app.screen.query_one(CompareCurves)


async def test_compare_curves_have_the_cards_log_scale_and_zoom(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        curves = await compare_curves(app, pilot, ["churn-xgb:25", "churn-xgb:24"])
        assert isinstance(app.focused, OptionList)
        assert "log y: off" in export_text(app)
        await pilot.press("l", "plus")
        await settle(pilot)
        text = export_text(app)
        assert "log y: on" in text and "steps: " in text
        assert curves.view.log_y and curves.view.step_range is not None
        lo, hi = curves.view.step_range
        plot = curves.query_one("#cmp-plot")
        assert plot.plt.monitor.yscale[0] == "log"
        drawn = [x for xs in plot.plt.monitor.x for x in xs]
        assert drawn and lo <= min(drawn) and max(drawn) <= hi  # zoomed to the range
        await pilot.press("greater_than_sign")
        await settle(pilot)
        assert curves.view.step_range[0] > lo  # panned right
        await pilot.press("0")
        await settle(pilot)
        assert curves.view.step_range is None and not curves.view.log_y


async def test_compare_grid_overlays_every_version_per_metric(demo_store) -> None:
    refs = ["churn-xgb:25", "churn-xgb:24", "churn-xgb:23"]
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        curves = await compare_curves(app, pilot, refs)
        await pilot.press("g")
        await settle(pilot)
        grid = curves.query_one(CurveGrid)
        keys = sorted({k for r in refs for k in demo_store.get(r).metric_keys})
        assert grid.titles == keys and app.focused is grid
        for plot in grid.query("PlotextPlot"):  # a marker per version in every panel
            assert [set(series) for series in plot.plt.monitor.marker] == [{"•"}, {"+"}, {"x"}]
        text = export_text(app)
        assert "• churn-xgb:25  + churn-xgb:24  x churn-xgb:23" in text  # the legend
        assert f"{len(keys)} of {len(keys)} metrics" in text
        await pilot.press("g")
        await settle(pilot)
        assert not grid.display and isinstance(app.focused, OptionList)
