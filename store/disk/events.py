"""Later changes to a model as write-once event files, numbered per model.

Event numbers are claimed like version numbers (create-if-absent), so every host sees
one total order per model without trusting clocks: the last alias move is the one with
the highest number. Folding the events in order gives the current state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from modelyard.store.disk import atomic
from modelyard.store.disk.identity import stamp
from modelyard.store.disk.layout import Layout, numbered_files, utc_now
from modelyard.store.disk.owners import name_of, read_owned
from modelyard.store.errors import StoreCorrupt

EVENT_TYPES = (
    "alias.set",          # data: alias            version: the version it now points at
                          #   (+ forced, reason, failing: a gate overridden with --force)
    "alias.removed",      # data: alias
    "tag.set",            # data: key, value       version
    "tag.removed",        # data: key              version
    "description.set",    # data: text             version (None: the model's description)
    "deprecated.set",     # data: deprecated, reason   version
    "policy.checked",     # data: policy, versions {number: {rule: {status, blocking, reasons}}}
    "hook.ran",           # data: hook, trigger, cause, command, ok, exit_code, timed_out…
)


_EXTRA: ContextVar[dict[str, Any] | None] = ContextVar("modelyard_event_extra", default=None)


@contextmanager
def extra_data(**extra: Any) -> Iterator[None]:
    """Events written inside the block also carry `extra` in their data. An importer marks
    the changes it replays from another system this way, so its next run can tell them from
    edits made here."""
    token = _EXTRA.set({**(_EXTRA.get() or {}), **extra})
    try:
        yield
    finally:
        _EXTRA.reset(token)


@dataclass
class Event:
    seq: int
    type: str
    model: str
    version: int | None
    at: str
    user: str
    host: str
    data: dict[str, Any] = field(default_factory=dict)
    # who owns the event file (store/disk/owners.py); read from the filesystem, never written
    file_uid: int | None = field(default=None, compare=False)
    file_owner: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "model": self.model,
                "version": self.version, "at": self.at, "user": self.user,
                "host": self.host, "data": self.data}

    @classmethod
    def from_json(cls, raw: Any, where: str) -> Event:
        if not isinstance(raw, dict) or raw.get("type") not in EVENT_TYPES:
            raise StoreCorrupt(f"{where} is not a modelyard event")
        try:
            return cls(seq=int(raw["seq"]), type=raw["type"], model=str(raw["model"]),
                       version=None if raw.get("version") is None else int(raw["version"]),
                       at=str(raw["at"]), user=str(raw.get("user", "")),
                       host=str(raw.get("host", "")), data=dict(raw.get("data") or {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreCorrupt(f"{where} is a damaged event ({exc})") from None


def append_event(layout: Layout, model: str, type_: str, version: int | None,
                 data: dict[str, Any], *, hint: int = 0) -> Event:
    """Write one event file under the next free number; retries on collision."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_}")
    data = {**(_EXTRA.get() or {}), **data}
    folder = layout.events_dir(model)
    atomic.ensure_dir(folder)
    existing = numbered_files(folder)
    seq = max(existing[-1] if existing else 0, hint) + 1
    who = stamp()
    while True:
        event = Event(seq=seq, type=type_, model=model, version=version, at=utc_now(),
                      user=who["user"], host=who["host"], data=data)
        body = json.dumps(event.to_json(), sort_keys=True, ensure_ascii=False).encode() + b"\n"
        if atomic.write_exclusive(layout.event_path(model, seq), body, stage="event"):
            return event
        seq += 1


def read_event(layout: Layout, model: str, seq: int) -> Event:
    path = layout.event_path(model, seq)
    try:
        body, uid, _ = read_owned(path)
        raw = json.loads(body)
    except ValueError:
        raise StoreCorrupt(f"{path} is not valid JSON") from None
    except FileNotFoundError:
        raise
    except OSError as exc:  # a symlink (O_NOFOLLOW), a folder, a permission
        raise StoreCorrupt(f"{path} cannot be read: {exc.strerror}") from None
    event = Event.from_json(raw, str(path))
    event.file_uid, event.file_owner = uid, name_of(uid)
    if event.seq != seq or event.model != model:
        raise StoreCorrupt(f"{path} claims to be event {event.model}#{event.seq}")
    return event


