"""Noticing change in the index, whoever made it.

On one host every process shares one index file: the watcher, a CLI `add` or another app
may have indexed new versions already, so "my catch-up found nothing" does not mean
"nothing changed". A cheap token of the index's state tells a long-running reader (the
app) that it should refresh, and which versions are new."""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.store.index.reads import Index


@dataclass(frozen=True)
class IndexToken:
    last_version_id: int
    versions: int
    events: int


def index_token(index: Index) -> IndexToken:
    return IndexToken(*index.token())


def refs_added_since(index: Index, last_version_id: int, *, limit: int = 50) -> list[str]:
    """Refs of versions indexed after `last_version_id`, newest first."""
    return index.refs_added_since(last_version_id, limit=limit)
