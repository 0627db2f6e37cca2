"""The watcher publishes index snapshots by itself: after `snapshot_every_changes` versions
and events beyond the newest snapshot in the store (whoever published it), or when that
snapshot is `snapshot_every_seconds` old and anything changed since. A watcher runs on a
host that is always current, which makes it the natural publisher; several watchers on
several hosts publish in turn rather than all at once, since each counts from the newest
snapshot any of them wrote."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from modelyard.store.disk.fsclock import fs_now
from modelyard.store.index import snapshots

if TYPE_CHECKING:
    from modelyard.store.api import Store

CHECK_EVERY = 30.0  # seconds between looks (two counts and a listing)


class AutoPublisher:
    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.started = time.monotonic()
        self.checked = -float("inf")

    def tick(self, store: Store) -> snapshots.Published | None:
        """Publish if it is due; never raises (a failed publish is logged and retried at the
        next look)."""
        now = time.monotonic()
        if now - self.checked < CHECK_EVERY:
            return None
        self.checked = now
        try:
            if not self.due(store):
                return None
            published = snapshots.publish(store)
        except Exception as exc:  # noqa: BLE001 - snapshots are an optimisation
            self.log(f"index snapshot not published ({type(exc).__name__}: {exc})")
            return None
        if published.created:
            self.log(f"published index snapshot {published.snapshot.name} "
                     f"({published.snapshot.info.get('versions', 0)} versions)")
        return published

    def due(self, store: Store) -> bool:
        every = snapshots.setting(store.config, "snapshot_every_changes")
        period = snapshots.setting(store.config, "snapshot_every_seconds")
        if every <= 0 and period <= 0:
            return False
        conn = store.index.conn
        if snapshots.trusted(conn) is not None:
            return False  # restored and not verified yet: verification comes first
        count = (conn.execute("SELECT count(*) FROM versions").fetchone()[0]
                 + conn.execute("SELECT count(*) FROM events").fetchone()[0])
        newest = next(iter(snapshots.listing(store.root)), None)
        if newest is None:
            changed, age = count, time.monotonic() - self.started
        else:
            covered = int(newest.info.get("versions") or 0) + int(newest.info.get("events")
                                                                  or 0)
            changed = count - covered
            server_now = fs_now(newest.path.parent)
            age = (server_now - newest.mtime) if server_now is not None else 0.0
        if changed <= 0:
            return False
        return (0 < every <= changed) or (0 < period <= age)
