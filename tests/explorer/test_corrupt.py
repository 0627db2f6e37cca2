"""A version whose blob is damaged is marked corrupt in the table and its card, found either
by fsck or by the app's own failed read; the rest of the card still opens."""

from __future__ import annotations

import os

from modelyard.app.messages import OpenVersion
from modelyard.app.widgets.versions_table import VersionsTable

from explorer_helpers import app_for, export_text, settle


def flip_a_byte(store, digest: str) -> None:
    path = store.blobs.path(digest)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


async def test_a_failed_read_marks_the_version_corrupt(writable_store) -> None:
    store = writable_store
    victim = store.get("vit-food101:15")
    flip_a_byte(store, victim.record["charts"]["digest"])
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.post_message(OpenVersion(victim.ref))
        await settle(pilot)
        text = export_text(app)
        assert "CORRUPT" in text and "vit-food101:15" in text
        assert "fine-tuned-from" in text  # the rest of the card is there
        await pilot.press("escape")
        await settle(pilot)
        table = app.screen.query_one(VersionsTable)
        row = next(table.row(i) for i in range(table.total)
                   if table.row(i) and table.row(i).ref == victim.ref)
        assert "CORRUPT" in row.cells["flags"]


async def test_fsck_findings_mark_versions_on_open(writable_store) -> None:
    store = writable_store
    victim = store.get("churn-xgb:20")
    flip_a_byte(store, victim.files[0]["digest"])
    assert not store.fsck(read_data=True).clean
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "CORRUPT" in export_text(app)
