"""Issue 14, defect 9: a store opened with an empty index shows the app at once and the
progress of the index build, then its rows (the CLI opens the explorer without syncing)."""

from __future__ import annotations

from modelyard.app.index_progress import IndexProgress
from modelyard.app.widgets.versions_table import VersionsTable
from modelyard.store import Store

from explorer_helpers import app_for, export_text, settle


async def test_an_unindexed_store_opens_at_once_says_how_the_build_goes_then_shows_rows(
        demo_store_path, tmp_path) -> None:
    store = Store.open(demo_store_path, index=tmp_path / "fresh.sqlite", sync=False)
    try:
        app = app_for(store, live=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            for _ in range(50):
                if app.screen.query_one(VersionsTable).total == 62:
                    break
                await pilot.pause(0.1)
            assert app.screen.query_one(VersionsTable).total == 62
            assert "Indexed 62 records in" in export_text(app)
    finally:
        store.close()


def test_progress_line_names_records_rate_and_time_left(monkeypatch) -> None:
    import modelyard.app.index_progress as module

    clock = iter([100.0, 110.0])
    monkeypatch.setattr(module.time, "monotonic", lambda: next(clock))
    lines: list[str] = []
    progress = IndexProgress(lines.append)
    progress(0, 10_000)
    progress(2_500, 10_000)
    assert lines[-1].startswith("Indexing this store for the first time: 2,500 of 10,000 "
                                "records read · 250/s · about 30 s left")


def test_store_sync_reports_progress_of_a_first_build(demo_store_path, tmp_path) -> None:
    seen: list[tuple[int, int]] = []
    store = Store.open(demo_store_path, index=tmp_path / "fresh.sqlite", sync=False)
    try:
        store.sync(progress=lambda read, total: seen.append((read, total)))
    finally:
        store.close()
    assert seen[0] == (0, 62) and seen[-1] == (62, 62)
