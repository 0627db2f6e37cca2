"""What one `import-mlflow` did, for its output and its `--json`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelyard.store.ingest.mlflow.artifacts import DEFAULT_MAX_ARTIFACT_BYTES

if TYPE_CHECKING:
    from modelyard.store.versions.version import Version


@dataclass
class ImportReport:
    """What one import did; `versions` are MLflow's live versions, in its order."""

    tracking_store: str
    versions: list[Version] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)
    deprecated: dict[str, str] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    referenced: list[dict[str, Any]] = field(default_factory=list)  # artifacts not copied
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES

    def skip(self, what: str, reason: str) -> None:
        self.skipped.append({"what": what, "reason": reason})

    def change(self, ref: str, what: str) -> None:
        """A change to a version that was there before (a new one is `created`)."""
        if ref not in self.created:
            self.updated.setdefault(ref, []).append(what)

    def to_json(self) -> dict[str, Any]:
        return {"tracking_store": self.tracking_store,
                "versions": [{"ref": v.ref, "created": v.ref in self.created,
                              "updated": self.updated.get(v.ref, [])} for v in self.versions],
                "created": self.created, "updated": self.updated,
                "deprecated": self.deprecated, "skipped": self.skipped,
                "referenced": self.referenced, "max_artifact_bytes": self.max_artifact_bytes}
