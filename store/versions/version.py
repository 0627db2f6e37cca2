"""A model version as the API hands it out: index facts now, the full record on demand."""

from __future__ import annotations

import json
import sqlite3
from functools import cached_property
from typing import TYPE_CHECKING, Any

from modelyard.store.disk.records import RecordMissing, read_record
from modelyard.store.errors import StoreCorrupt, VersionNotFound

if TYPE_CHECKING:
    from modelyard.store.api import Store

NAN = float("nan")


class Version:
    """One version. Cheap to create from an index row; reads its record file when asked."""

    def __init__(self, store: Store, row: sqlite3.Row) -> None:
        self._store = store
        self.id: int = row["id"]
        self.model: str = row["model"]
        self.number: int = row["number"]
        self.created_at: str = row["created_at"]
        self.user: str = row["user"]
        self.host: str = row["host"]
        self.description: str = row["description"]
        self.deprecated: bool = bool(row["deprecated"])
        self.format: str = row["format"]
        self.framework: str = row["framework"]
        self.size: int = row["size"]
        self.param_count: int | None = row["param_count"]
        self.has_pickle: bool = bool(row["has_pickle"])
        self.record_path: str = row["record_path"]
        self.deduplicated = False  # set by add_version when identical content was stored

    def __repr__(self) -> str:
        return f"<Version {self.ref}>"

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.number}"

    # state that events change, always read fresh from the index
    @property
    def aliases(self) -> list[str]:
        return self._store.index.aliases_of(self.id)

    @property
    def tags(self) -> dict[str, str]:
        return self._store.index.tags_of(self.id)

    @property
    def metrics(self) -> dict[str, float]:
        """Final values, NaN and ±inf included (the index holds NaN as NULL). NaN is always
        the one object NAN, so containers of metrics compare equal when both hold NaN."""
        return {k: NAN if v is None else v for k, v in self._store.index.metrics_of(self.id)}

    # the write-once record
    @cached_property
    def record(self) -> dict[str, Any]:
        """Read and checked by the one record reader (store/disk/records.py)."""
        path = self._store.root / self.record_path
        try:
            return read_record(path, self.model, self.number, file_facts=False)
        except RecordMissing:
            raise VersionNotFound(f"the record of {self.ref} ({path}) has disappeared; "
                                  "run `modelyard fsck`") from None
        except StoreCorrupt as exc:
            raise StoreCorrupt(f"the record of {self.ref} ({path}) is damaged: "
                               f"{exc}") from None

    @property
    def training(self) -> dict[str, Any]:
        return self.record.get("training") or {}

    @property
    def created_by(self) -> dict[str, str]:
        return self.record.get("created_by") or {}

    @property
    def params(self) -> dict[str, Any]:
        return self.record.get("params") or {}

    @property
    def features(self) -> list[dict[str, Any]]:
        return self.record.get("features") or []

    @property
    def datasets(self) -> list[dict[str, Any]]:
        return self.record.get("datasets") or []

    @property
    def parents(self) -> list[dict[str, Any]]:
        return self.record.get("parents") or []

    @property
    def files(self) -> list[dict[str, Any]]:
        return self.record.get("files") or []

    @property
    def source(self) -> dict[str, Any]:
        return self.record.get("source") or {}

    @property
    def serving(self) -> dict[str, Any]:
        return self.record.get("serving") or {}

    @property
    def summary(self) -> dict[str, Any]:
        return self.record.get("summary") or {}

    @property
    def origin(self) -> dict[str, Any]:
        return self.record.get("origin") or {}

    @property
    def content_digest(self) -> str:
        return self.record.get("content_digest", "")

    @cached_property
    def charts(self) -> dict[str, Any]:
        info = self.record.get("charts")
        if not info:
            return {}
        return json.loads(self._store.blobs.read_bytes(info["digest"]))

    @property
    def metric_keys(self) -> list[str]:
        return sorted((self.record.get("metric_series") or {}).get("keys") or {})

    def metric_series(self, key: str | None = None, *, max_points: int | None = None):
        """The full curve of one metric (or all) as a polars DataFrame: key, step, value,
        timestamp. `max_points` downsamples keeping every spike (min and max per bucket)."""
        from modelyard.store.series import frames as series

        info = self.record.get("metric_series")
        if not info:
            import polars as pl
            return pl.DataFrame(schema={"key": pl.String, "step": pl.Int64,
                                        "value": pl.Float64, "timestamp": pl.Int64})
        frame = series.read_series(self._store.blobs.read_bytes(info["digest"]), key)
        if max_points:
            frame = series.downsample(frame, max(1, max_points // 4))
        return frame

    def metric_overview(self, key: str):
        """The overview of one long curve (series.overview: a few thousand of its real
        points, every spike kept), or None when it has none (a short curve, or a version
        stored before overviews): what a first draw needs, without reading every point."""
        from modelyard.store.series import frames as series

        brief = (self.record.get("metric_series") or {}).get("overview")
        if not brief or key not in (brief.get("keys") or ()):
            return None
        return series.read_series(self._store.blobs.read_bytes(brief["digest"]), key)

    def open(self, path: str) -> bytes:
        """A file's bytes, verified against its digest (never loaded or unpickled)."""
        for f in self.files:
            if f["path"] == path:
                return self._store.blobs.read_bytes(f["digest"])
        raise FileNotFoundError(f"{self.ref} has no file {path!r}; see `modelyard show "
                                f"{self.ref}` for its files")

    def source_file(self, path: str) -> bytes:
        for f in self.source.get("files") or []:
            if f["path"] == path:
                return self._store.blobs.read_bytes(f["digest"])
        raise FileNotFoundError(f"{self.ref} has no source file {path!r}")

    def source_diff(self) -> str:
        diff = self.source.get("diff")
        if not diff:
            return ""
        return self._store.blobs.read_bytes(diff["digest"]).decode("utf-8", "replace")

    def children(self) -> list[Version]:
        return [Version(self._store, row)
                for row in self._store.index.children(self.model, self.number)]

    def summary_dict(self) -> dict[str, Any]:
        """The short form `ls --json` prints: stable keys, index facts only."""
        return {"model": self.model, "version": self.number, "ref": self.ref,
                "aliases": self.aliases, "created_at": self.created_at, "user": self.user,
                "host": self.host, "description": self.description,
                "deprecated": self.deprecated, "format": self.format,
                "framework": self.framework, "size": self.size,
                "param_count": self.param_count, "pickle": self.has_pickle,
                "policy": self.policy_state, "tags": self.tags, "metrics": self.metrics,
                "mixed_script": self.mixed_script, "written_by": self.written_by}

    @cached_property
    def written_by(self) -> dict[str, Any]:
        """Who wrote the record: the user it claims (`created_by`) and the real owner of
        its file (store/disk/owners.py), with `mismatch` when they differ, e.g. a writer that
        set MODELYARD_USER to someone else's name."""
        from modelyard.store.disk.owners import mismatch, name_of

        row = self._store.index.record_owner(self.id, self.number)
        if row is not None:
            uid, owner, claimed = row
        else:  # indexed before owners were: ask the file
            try:
                uid = (self._store.root / self.record_path).stat().st_uid
            except OSError:
                return {"claimed": "", "owner": "", "uid": None, "mismatch": False}
            owner = name_of(uid)
            claimed = str((self.record.get("created_by") or {}).get("user", ""))
        return {"claimed": claimed, "owner": owner, "uid": uid,
                "mismatch": mismatch(claimed, owner)}

    @property
    def mixed_script(self) -> bool:
        """The model name mixes look-alike scripts (Latin `e` with Cyrillic `е`): show a
        warning, since it can impersonate another model's name."""
        from modelyard.store.names import mixed_script

        return mixed_script(self.model)

    @property
    def policy_state(self) -> str:
        """failing, warning, passing or unchecked under the store's policy (from the index)."""
        return self._store.policy_state(self)

    def to_dict(self) -> dict[str, Any]:
        """Everything `show --json` prints: the record, with the current state folded in."""
        rec = self.record
        out = dict(rec)
        out.update(self.summary_dict())
        out["metric_keys"] = self.metric_keys
        out["training"] = rec.get("training") or {}
        out["charts"] = self.charts
        out.pop("schema", None)
        return out
