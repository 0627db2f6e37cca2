"""The store's clock. Records and events are stamped with it; the demo and snapshot tests
set it so that a generated store is the same byte for byte on every run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_frozen: list[datetime] = []


def now() -> datetime:
    if _frozen:
        return _frozen[-1]
    env = os.environ.get("MODELYARD_CLOCK")
    if env:
        return datetime.fromisoformat(env.replace("Z", "+00:00"))
    return datetime.now(UTC)


def now_iso() -> str:
    """ISO-8601 UTC with microseconds: sorts as text."""
    return now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Stamp everything written inside the block with `moment` (demo data, tests)."""
    _frozen.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    try:
        yield
    finally:
        _frozen.pop()
