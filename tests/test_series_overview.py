"""A long curve is stored with an overview (store/series/frames.py `overview`): a few thousand
of its real points, every bucket's first, min, max and last, so the app draws a
million-point curve without reading a million rows. Short curves have none; the overview is
a blob like any other (fsck, the index's references)."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from modelyard import new_version
from modelyard.app.widgets.card.curves import CurveView, prepare
from modelyard.app.widgets.card.metrics import SeriesCache
from modelyard.store import Store
from modelyard.store.ingest.drops import ingest_ready
from modelyard.store.series.frames import OVERVIEW_BUCKETS, OVERVIEW_MIN_POINTS

from explorer_helpers import app_for, export_text, settle

LONG = OVERVIEW_MIN_POINTS * 3


def _wave(n: int) -> tuple[list[int], list[float]]:
    """A curve with one spike down and one up in the middle of long flat stretches (a
    downsample that kept only some points per bucket would lose them), and a NaN."""
    values = [math.sin(i / 500) for i in range(n)]
    values[n // 3], values[2 * n // 3], values[5] = -50.0, 75.0, float("nan")
    return list(range(n)), values


def _add_long(store: Store, model: str = "long"):
    steps, values = _wave(LONG)
    return store.add_version(model, metric_series={
        "train/loss": {"steps": steps, "values": values},
        "val/acc": {"steps": [0, 1, 2], "values": [0.1, 0.5, 0.9]},
    })


def test_a_long_curve_gets_an_overview_of_its_real_points(tmp_path: Path) -> None:
    with Store.init(tmp_path / "s") as store:
        version = _add_long(store)
        brief = version.record["metric_series"]["overview"]
        assert brief["keys"] == ["train/loss"] and brief["buckets"] == OVERVIEW_BUCKETS
        full = version.metric_series("train/loss")
        over = version.metric_overview("train/loss")
        assert over is not None and 0 < over.height <= 4 * OVERVIEW_BUCKETS < full.height
        finite = full.filter(pl.col("value").is_finite())
        assert over["value"].min() == -50.0 and over["value"].max() == 75.0  # the spikes
        assert (over["step"].min(), over["step"].max()) == (0, LONG - 1)
        real = set(zip(finite["step"].to_list(), finite["value"].to_list(), strict=True))
        assert set(zip(over["step"].to_list(), over["value"].to_list(), strict=True)) <= real
        assert over["step"].is_sorted()
        assert version.metric_overview("val/acc") is None  # short: read whole
        report = store.fsck(read_data=True)
        assert report.problems == [] and report.unreferenced_blobs == 0


def test_the_overview_draws_the_picture_the_full_curve_draws(tmp_path: Path) -> None:
    """The card's default view drawn from the overview: same step range, the same spikes,
    and a note counting every point of the curve."""
    with Store.init(tmp_path / "s") as store:
        version = _add_long(store)
        view = CurveView()
        xs_full, ys_full, note_full = prepare(version.metric_series("train/loss"), view)
        xs, ys, note = prepare(version.metric_overview("train/loss"), view, points=LONG)
        assert (min(xs), max(xs)) == (min(xs_full), max(xs_full))
        assert (min(ys), max(ys)) == (min(ys_full), max(ys_full)) == (-50.0, 75.0)
        assert f"{LONG:,} points drawn as" in note
        assert note_full.startswith(f"{LONG - 1:,} points drawn as")  # the NaN is not drawn


def test_an_sdk_drop_gets_one_too(tmp_path: Path) -> None:
    root = tmp_path / "s"
    Store.init(root).close()
    steps, values = _wave(LONG)
    with new_version("sdk-long", store=root) as v:
        for step, value in zip(steps, values, strict=True):
            v.log_metric("train/loss", value, step=step)
    with Store.open(root) as store:
        results = ingest_ready(store, quiet_seconds=0)
        assert [r.status for r in results] == ["ingested"]
        version = store.get("sdk-long")
        over = version.metric_overview("train/loss")
        assert over is not None and over["value"].max() == 75.0


async def test_the_card_opens_a_long_curve_from_its_overview(tmp_path: Path) -> None:
    """Opening the card draws the curve without reading its full series; zooming in
    reads it (and the zoomed view is drawn from every point)."""
    from modelyard.app.messages import OpenVersion
    from modelyard.app.screens.version_card import VersionScreen
    from modelyard.app.widgets.card.metrics import MetricsPane

    with Store.init(tmp_path / "s") as store:
        ref = _add_long(store).ref
        app = app_for(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            app.post_message(OpenVersion(ref))
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, VersionScreen)
            await pilot.press("3")
            await settle(pilot)
            pane = screen.query_one(MetricsPane)
            assert pane.plotted == ["train/loss"]
            assert f"{LONG:,} points drawn as" in export_text(app)
            cache = SeriesCache.of(pane.version)
            assert ("frame", "train/loss") not in cache._done  # the full curve: not read
            await pilot.press("plus")
            await settle(pilot)
            assert pane.view.step_range is not None
            assert ("frame", "train/loss") in cache._done
