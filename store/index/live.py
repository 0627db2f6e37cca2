"""Noticing change in the index, whoever made it.

On one host every process shares one index file: the watcher, a CLI `add` or another app
may have indexed new versions already, so "my catch-up found nothing" does not mean
"nothing changed". A cheap token of the index's state tells a long-running reader (the
app) that it should refresh, and which versions are new."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelyard.store.api import Store


@dataclass(frozen=True)
class IndexToken:
    last_version_id: int
    versions: int
    events: int


def index_token(store: Store) -> IndexToken:
    row = store._db.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM versions), (SELECT count(*) FROM versions),"
        " (SELECT count(*) FROM events)").fetchone()
    return IndexToken(int(row[0]), int(row[1]), int(row[2]))


def refs_added_since(store: Store, last_version_id: int, *, limit: int = 50) -> list[str]:
    """Refs of versions indexed after `last_version_id`, newest first."""
    rows = store._db.execute("SELECT model, number FROM versions WHERE id > ? "
                             "ORDER BY id DESC LIMIT ?", (last_version_id, limit))
    return [f"{model}:{number}" for model, number in rows]
