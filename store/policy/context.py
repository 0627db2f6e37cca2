"""What the policy code works on: the store's files, this host's index, its settings and
the policy files read so far. Light to make (no YAML, no rule engine): the Store builds one
at open, and catching up the index judges alias moves with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.store.disk.layout import Layout
from modelyard.store.index.reads import Index

if TYPE_CHECKING:
    from modelyard.store.policy.model import Policy


@dataclass
class PolicyContext:
    layout: Layout
    index: Index
    config: dict[str, Any]
    cache: dict[int, Policy] = field(default_factory=dict)  # policy files are write-once

    @property
    def root(self) -> Path:
        return self.layout.root
