"""`modelyard --watch`: the app runs the watcher itself; a real drop shows up live."""

from __future__ import annotations

import os

from modelyard.app.widgets.versions_table import VersionsTable

from explorer_helpers import app_for, export_text, settle
from helpers import write_manifest_folder


async def test_a_drop_ingested_by_the_apps_watcher_appears(writable_store, tmp_path) -> None:
    store = writable_store
    app = app_for(store, live=True, watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        before = table.total
        staging = store.layout.drops / ".incoming-resnet"
        write_manifest_folder(staging, model="resnet-live", params={"lr": 0.3})
        os.rename(staging, store.layout.drops / "resnet-live")  # atomic, from a hidden name
        for _ in range(100):
            await pilot.pause(0.1)
            if table.total == before + 1:
                break
        await settle(pilot)
        assert table.total == before + 1
        assert "resnet-live:1" in export_text(app)
        assert store.get("resnet-live:1").params["lr"] == 0.3
        assert list((store.layout.drops / ".ingested").iterdir())
