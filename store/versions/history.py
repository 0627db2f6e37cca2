"""A model's history in the order things happened, without trusting any host's clock.

Event numbers are claimed in order on the shared filesystem, and so are version numbers:
each sequence is already in true order, whatever the writers' clocks said. Only how the two
interleave is unknown. They are merged keeping each sequence's order, placing a version
before every event that names it (an event is written after its version exists), and using
the writers' timestamps only to interleave what those rules leave open. A host whose
clock is a day ahead can misplace its version among unrelated events; it can never make
an earlier alias move print after a later one.
"""

from __future__ import annotations

from collections.abc import Sequence

from modelyard.store.disk.events import Event


def _named(event: Event) -> int:
    return event.version if isinstance(event.version, int) else 0


def merge(created: Sequence[Event], events: Sequence[Event]) -> list[Event]:
    """`created` (version.created entries by version number) and `events` (by event
    number) as one list, oldest first."""
    created = sorted(created, key=lambda e: e.version or 0)
    events = sorted(events, key=lambda e: e.seq)
    out: list[Event] = []
    i = j = 0
    while i < len(created) or j < len(events):
        if j == len(events):
            take_version = True
        elif i == len(created):
            take_version = False
        else:
            version, event = created[i], events[j]
            take_version = _named(event) >= (version.version or 0) or version.at <= event.at
        if take_version:
            out.append(created[i])
            i += 1
        else:
            out.append(events[j])
            j += 1
    return out
