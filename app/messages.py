"""App-wide messages: small dataclasses the screens react to."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message


@dataclass
class StoreChanged(Message):
    """The index gained versions or events (from this app, the watcher or another host)."""

    new_refs: list[str] = field(default_factory=list)
    events: int = 0


@dataclass
class OpenVersion(Message):
    """Open a version's card (from the table, lineage, compare...)."""

    ref: str
