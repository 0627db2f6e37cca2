"""What a check finds: each problem names its kind, the file and the versions it affects;
and the blobs a record points at, which both fsck and a one-version check verify."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelyard.store.disk.blobs import hex_of
from modelyard.store.errors import Problem, StoreCorrupt


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



def record_blobs(record: dict[str, Any]) -> list[tuple[str, int | None]]:
    """Every (digest, recorded size) a record points at; StoreCorrupt if it is malformed."""
    try:
        refs: list[tuple[str, Any]] = [(f["digest"], f.get("size"))
                                       for f in record.get("files") or []]
        series = record.get("metric_series")
        if series:
            refs.append((series["digest"], series.get("size")))
            if series.get("overview"):
                refs.append((series["overview"]["digest"], series["overview"].get("size")))
        if record.get("charts"):
            refs.append((record["charts"]["digest"], None))
        source = record.get("source") or {}
        refs += [(f["digest"], f.get("size")) for f in source.get("files") or []]
        if source.get("diff"):
            refs.append((source["diff"]["digest"], source["diff"].get("size")))
        for digest, _ in refs:
            hex_of(digest)  # a name that is not a digest could point anywhere
    except (KeyError, TypeError, AttributeError) as exc:
        raise StoreCorrupt(f"record is damaged: a blob reference is malformed ({exc})") \
            from None
    return [(d, s if isinstance(s, int) and not isinstance(s, bool) else None)
            for d, s in refs]
