"""Check a store the way git fsck does: every record readable, every blob present and,
with `read_data`, every blob's bytes hashed again and compared with its name."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .atomic import TEMP_PREFIX
from .blobs import hex_of
from .index.rows import blob_refs
from .layout import numbered_files

if TYPE_CHECKING:
    from .api import Store

STALE_TEMP_SECONDS = 3600


@dataclass
class Problem:
    kind: str           # corrupt-blob, missing-blob, bad-record, bad-event, gap, stray
    path: str
    message: str
    versions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "message": self.message,
                "versions": self.versions}


@dataclass
class FsckReport:
    records: int = 0
    events: int = 0
    blobs_checked: int = 0
    bytes_hashed: int = 0
    problems: list[Problem] = field(default_factory=list)
    stale_temps_removed: list[str] = field(default_factory=list)
    unreferenced_blobs: int = 0

    @property
    def clean(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"clean": self.clean, "records": self.records, "events": self.events,
                "blobs_checked": self.blobs_checked, "bytes_hashed": self.bytes_hashed,
                "unreferenced_blobs": self.unreferenced_blobs,
                "stale_temps_removed": self.stale_temps_removed,
                "problems": [p.to_dict() for p in self.problems]}


def check_store(store: Store, *, read_data: bool = False,
                temp_age: float = STALE_TEMP_SECONDS) -> FsckReport:
    report = FsckReport()
    layout = store.layout
    users: dict[str, list[str]] = {}
    for model in layout.model_names():
        numbers = numbered_files(layout.versions_dir(model))
        for expected, number in enumerate(numbers, start=1):
            if number != expected:
                report.problems.append(Problem("gap", str(layout.versions_dir(model)),
                                               f"{model} has no version {expected}"))
                break
        for number in numbers:
            path = layout.record_path(model, number)
            report.records += 1
            try:
                record = json.loads(path.read_bytes())
                refs = blob_refs(record)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                report.problems.append(Problem("bad-record", str(path),
                                               f"record is damaged ({exc})",
                                               [f"{model}:{number}"]))
                continue
            for digest, _role in refs:
                users.setdefault(digest, []).append(f"{model}:{number}")
        for seq in numbered_files(layout.events_dir(model)):
            report.events += 1
            path = layout.event_path(model, seq)
            try:
                json.loads(path.read_bytes())["type"]
            except (ValueError, KeyError, TypeError):
                report.problems.append(Problem("bad-event", str(path), "event file is damaged"))
    for digest, versions in sorted(users.items()):
        try:
            path = store.blobs.path(digest)
        except Exception as exc:  # a digest that is not one
            report.problems.append(Problem("bad-record", digest, str(exc), sorted(set(versions))))
            continue
        report.blobs_checked += 1
        if not path.exists():
            report.problems.append(Problem("missing-blob", str(path), f"blob {digest} is missing",
                                           sorted(set(versions))))
            continue
        if read_data:
            report.bytes_hashed += path.stat().st_size
            trouble = store.blobs.verify(digest)
            if trouble:
                report.problems.append(Problem("corrupt-blob", str(path),
                                               f"blob {digest} is corrupt: {trouble}",
                                               sorted(set(versions))))
    known = {hex_of(d) for d in users if d.startswith("sha256:") and len(d) == 71}
    for digest in store.blobs.all_digests():
        if digest[7:] not in known:
            report.unreferenced_blobs += 1
    report.stale_temps_removed = _remove_stale_temps(store, temp_age)
    return report


def _remove_stale_temps(store: Store, age: float) -> list[str]:
    """Temp files a crashed writer left: never under a final name, safe to delete once old
    enough that no live writer on any host can still be filling them."""
    removed = []
    cutoff = time.time() - age
    for dirpath, _dirs, files in os.walk(store.root):
        for name in files:
            if name.startswith(TEMP_PREFIX) or dirpath.endswith("_staging"):
                path = os.path.join(dirpath, name)
                try:
                    if os.lstat(path).st_mtime < cutoff:
                        os.unlink(path)
                        removed.append(os.path.relpath(path, store.root))
                except OSError:
                    pass
    return sorted(removed)
