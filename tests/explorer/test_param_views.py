"""Issue 14: params against a metric (p on browse): a scatter across the listed versions,
categorical params at category positions, parallel coordinates, the pickers, NO_COLOR."""

from __future__ import annotations

import math

from textual.widgets import OptionList
from textual_plotext import PlotextPlot

from modelyard.app.screens.param_views import ParamViewScreen
from modelyard.app.widgets.axis_picker import AxisPicker
from modelyard.store.versions.card import flatten_params

from explorer_helpers import app_for, export_text, settle


def having(store, query: str, param: str, metric: str) -> list:
    """(param value, metric value) of the listed versions having both."""
    out = []
    for v in store.search(query, limit=None):
        value, m = flatten_params(v.params).get(param), v.metrics.get(metric)
        if value is not None and isinstance(m, float) and math.isfinite(m):
            out.append((value, m))
    return out


async def open_views(app, pilot, query: str = "") -> ParamViewScreen:
    await settle(pilot)
    if query:
        await pilot.press("slash", *query, "enter")
        await settle(pilot)
    await pilot.press("p")
    await settle(pilot)
    assert isinstance(app.screen, ParamViewScreen)
    return app.screen


async def choose(app, pilot, key: str) -> None:
    """In the open picker: highlight `key` and press enter, as a person would."""
    assert isinstance(app.screen, AxisPicker)
    options = app.screen.query_one(OptionList)
    index = next(i for i in range(options.option_count)
                 if options.get_option_at_index(i).id == key)
    while options.highlighted != index:
        await pilot.press("down" if (options.highlighted or 0) < index else "up")
    await pilot.press("enter")
    await settle(pilot)


async def test_p_scatters_a_metric_against_a_param_of_the_listed_versions(demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_views(app, pilot)
        assert (screen.metric, screen.param) == ("accuracy", "learning_rate")
        expected = having(demo_store, "", "learning_rate", "accuracy")
        plt = screen.query_one(PlotextPlot).plt
        assert screen.plotted == len(expected) == sum(len(x) for x in plt.monitor.x)
        assert sorted(y for ys in plt.monitor.y for y in ys) == sorted(m for _, m in expected)
        text = export_text(app)
        assert "accuracy against learning_rate" in text and "params.learning_rate" in text
        assert f"{len(expected)} versions plotted, {62 - len(expected)} lack" in text
        assert "62 listed versions" in text
        await pilot.press("y")
        await settle(pilot)
        await choose(app, pilot, "eval/accuracy")
        assert screen.metric == "eval/accuracy"
        assert screen.plotted == len(having(demo_store, "", "learning_rate", "eval/accuracy"))
        assert "eval/accuracy against learning_rate" in export_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, ParamViewScreen)


async def test_a_text_param_sits_at_category_positions_and_reads_without_colour(
        demo_store, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_views(app, pilot, "model:churn-xgb or model:vit-food101")
        await pilot.press("x")
        await settle(pilot)
        await choose(app, pilot, "features.encoding")
        query = "model:churn-xgb or model:vit-food101"
        expected = having(demo_store, query, "features.encoding", "accuracy") or \
            having(demo_store, query, "features.encoding", screen.metric)
        categories = sorted({value for value, _ in expected})
        assert len(categories) >= 2
        plt = screen.query_one(PlotextPlot).plt
        xs = [x for series in plt.monitor.x for x in series]
        assert screen.plotted == len(xs) == len(expected)
        assert set(xs) == set(range(len(categories)))  # 0, 1, ...: one per category
        text = export_text(app)
        assert f"{len(categories)} categories" in text
        assert all(c in text for c in categories)  # the tick labels
        await pilot.press("y")
        await settle(pilot)
        await choose(app, pilot, "eval/auc")
        await pilot.press("x")
        await settle(pilot)
        await choose(app, pilot, "max_depth")
        # each model its own marker: two models read apart without colour
        markers = [set(series) for series in plt.monitor.marker]
        assert len(markers) == 1 or len(set.union(*markers)) == len(markers)


async def test_v_draws_parallel_coordinates_of_chosen_params_and_the_metric(
        demo_store) -> None:
    app = app_for(demo_store)
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await open_views(app, pilot, "model:churn-xgb")
        await pilot.press("v")
        await settle(pilot)
        assert screen.view == "parallel"
        await pilot.press("x")  # several params now: space toggles, enter applies
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, AxisPicker) and picker.several
        for key in list(picker.selected):  # start from none
            await choose_toggle(pilot, picker, key)
        for key in ("eta", "max_depth", "features.encoding"):
            await choose_toggle(pilot, picker, key)
        assert "[x] params.eta" in export_text(app)  # chosen, readable without colour
        await pilot.press("enter")
        await settle(pilot)
        assert screen.params == ["eta", "max_depth", "features.encoding"]
        rows = [v for v in demo_store.search("model:churn-xgb", limit=None)
                if all(flatten_params(v.params).get(k) is not None for k in screen.params)
                and screen.metric in v.metrics]
        assert screen.plotted == len(rows) > 0
        text = export_text(app)
        assert "parallel coordinates" in text
        assert f"{len(rows)} lines drawn of {len(rows)} versions" in text
        for name in ("eta", "max_depth", "features.encoding", screen.metric):
            assert name in text  # the axes' names under the plot
        plt = screen.query_one(PlotextPlot).plt
        assert len({m[0] for m in plt.monitor.marker}) == len(plt.monitor.marker)


async def choose_toggle(pilot, picker: AxisPicker, key: str) -> None:
    options = picker.query_one(OptionList)
    index = next(i for i in range(options.option_count)
                 if options.get_option_at_index(i).id == key)
    options.highlighted = index
    await pilot.press("space")
