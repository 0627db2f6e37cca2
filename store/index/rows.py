"""From one record file to the index rows that make it searchable.

`record_rows` is a pure function of the record, so a full rebuild can run it in worker
processes while the parent only inserts; `insert_record` is the one-version path.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelyard.store.disk.owners import MTIME_KEY, OWNER_KEY, name_of

VERSION_COLUMNS = ("id", "model_id", "model", "number", "created_at", "created_ms", "user",
                   "host", "started_ms", "ended_ms", "duration_s", "status", "description",
                   "deprecated", "format", "framework", "size", "param_count", "n_files",
                   "has_pickle", "origin", "content_digest", "record_path")
COLUMNS = {  # the columns each table's rows fill, in the order `record_rows` gives them
    "versions": VERSION_COLUMNS,
    "params": ("version_id", "key", "value", "num"),
    "owners": ("kind", "model_id", "number", "uid", "name", "claimed"),
    "metrics": ("version_id", "key", "value", "step", "min", "max", "points"),
    "tags": ("version_id", "key", "value"),
    "run_fields": ("version_id", "key", "value"),
    "datasets": ("version_id", "role", "name", "uri", "digest"),
    "parents": ("version_id", "ref", "model", "number", "relation"),
    "files": ("version_id", "path", "size", "digest", "format", "pickle"),
    "blob_refs": ("digest", "version_id", "role"),
    "versions_fts": ("rowid", "name", "description", "tags", "params", "files"),
}
INSERTS = {table: f"INSERT {'OR REPLACE ' if table in ('tags', 'owners') else ''}INTO {table} "
                  f"({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
           for table, columns in COLUMNS.items()}


@dataclass
class Rows:
    """Rows for every index table, for any number of versions, in insertion order."""

    tables: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in INSERTS})

    def extend(self, other: Rows) -> None:
        for table, rows in other.tables.items():
            self.tables[table].extend(rows)

    def insert(self, conn: sqlite3.Connection, statements: dict[str, str] = INSERTS) -> None:
        for table, rows in self.tables.items():
            if rows:
                conn.executemany(statements[table], rows)


def iso_to_ms(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _int64(value: Any) -> int | None:
    """The integer if SQLite can hold it (64 bits), else None: never an OverflowError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = int(value)
    except (OverflowError, ValueError):
        return None
    return number if -(2**63) <= number < 2**63 else None


def _num(value: Any) -> float | None:
    """A finite float for numeric comparisons, or None (also for numbers too large)."""
    try:
        return _number(value)
    except OverflowError:
        return None


def _metric(value: Any) -> float | None:
    """A final metric as the index holds it: ±inf as REAL, NaN as NULL. SQLite has no NaN,
    and a metric is always a number (card.py), so a NULL metric value means NaN."""
    try:
        number = float(value)  # records hold non-finite metrics as the text 'nan', 'inf'
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number == number else None


def _number(value: Any) -> float | None:
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int or kind is bool:
        return float(value)
    if isinstance(value, (int, float)):  # subclasses, such as numpy's
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def param_text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        import json
        return json.dumps(value, sort_keys=True)
    return str(value)


def main_format(files: list[dict]) -> str:
    """The format of the biggest weights-like file: what a person means by 'the format'."""
    ranked = [f for f in files if f.get("format") not in ("text", "json", "yaml", "python",
                                                          "markdown", "")]
    if not ranked:
        return ""
    return max(ranked, key=lambda f: f.get("size", 0))["format"]


_FLOAT, _INT, _BOOL, _STR, _DICT = float, int, bool, str, dict
_isfinite = math.isfinite


def _flat_params(params: Any, prefix: str, out: list) -> None:
    """`card.flatten_params`, appending (key, value) pairs: this runs for every param of
    every version on a rebuild, so it avoids building intermediate dicts."""
    for key, value in params.items():
        kind = type(value)
        if kind is _DICT or (kind not in _SCALARS and isinstance(value, Mapping)):
            if value:
                _flat_params(value, f"{prefix}{key}.", out)
                continue
        out.append((f"{prefix}{key}", value))


_SCALARS = frozenset((str, int, float, bool, type(None), list))


def _param_row(vid: int, key: str, value: Any) -> tuple:
    """(vid, key, text, num): `param_text` and `_num`, with the JSON types first."""
    kind = type(value)
    if kind is _STR:
        try:
            number = float(value)
        except ValueError:
            return (vid, key, value, None)
        return (vid, key, value, number if _isfinite(number) else None)
    if kind is _FLOAT:
        return (vid, key, str(value), value if _isfinite(value) else None)
    if kind is _INT:
        return (vid, key, str(value), _num(value))
    if kind is _BOOL:
        return (vid, key, "true" if value else "false", 1.0 if value else 0.0)
    return (vid, key, param_text(value), _num(value))


def record_rows(record: dict, vid: int, model_id: int, record_path: str,
                into: Rows | None = None, owner_names: dict[int, str] | None = None) -> Rows:
    """Every index row of one version whose row id is `vid` (added to `into` if given).
    A full rebuild spends most of its Python time here: keep it flat and allocation-light.
    `owner_names` caches the owners' login names over a batch of records: a look-up in
    the password database took 3.5 us for a known uid and 56 us for a uid this host does
    not know (a store written on other hosts), more through a directory service."""
    out = Rows() if into is None else into
    t = out.tables
    get = record.get
    training = get("training") or {}
    started, ended = iso_to_ms(training.get("started_at")), iso_to_ms(training.get("ended_at"))
    files = get("files") or []
    serving = get("serving") or {}
    summary = get("summary") or {}
    created_by = get("created_by") or {}
    user = training.get("user") or created_by.get("user", "")
    host = training.get("host") or created_by.get("host", "")
    param_count = summary.get("param_count")
    description = get("description") or ""
    origin = get("origin") or {}
    created_ms = _created_ms(record["created_at"], get(MTIME_KEY))
    if origin.get("kind") == "mlflow" and started is not None:
        created_ms = min(created_ms, started)  # MLflow's `created` is the run's start
    t["versions"].append((
        vid, model_id, record["model"], record["version"], record["created_at"],
        created_ms, user, host, started, ended,
        (ended - started) / 1000 if started is not None and ended is not None else None,
        training.get("status") or "", description, 0, main_format(files),
        str(serving.get("framework") or ""), sum(f.get("size", 0) for f in files),
        _int64(param_count), len(files),
        int(any(f.get("pickle") for f in files)),
        str((get("origin") or {}).get("kind") or ""),
        get("content_digest") or "", record_path))
    uid = get(OWNER_KEY)
    if type(uid) is int:
        name = None if owner_names is None else owner_names.get(uid)
        if name is None:
            name = name_of(uid)
            if owner_names is not None:
                owner_names[uid] = name
        t["owners"].append(("v", model_id, record["version"], uid, name,
                            str(created_by.get("user", ""))))
    flat: list[tuple[str, Any]] = []
    params = get("params")
    if params:
        _flat_params(params, "", flat)
    param_rows = [_param_row(vid, k, v) for k, v in flat]
    if len({k for k, _ in flat}) != len(flat):  # a dotted key met a nested one: last wins
        param_rows = list({r[1]: r for r in param_rows}.values())
    t["params"] += param_rows
    keys = ((get("metric_series") or {}).get("keys")) or {}
    empty: dict = {}
    metric_rows = t["metrics"]
    for k, v in (get("metrics") or {}).items():
        s = keys.get(k) or empty
        metric_rows.append((vid, k, v if type(v) is _FLOAT and _isfinite(v) else _metric(v),
                            s.get("step"), s.get("min"), s.get("max"), s.get("points", 0)))
    tags = get("tags") or {}
    if tags:
        t["tags"] += [(vid, k, v) for k, v in tags.items()]
    for key, value in (("run_id", origin.get("run_id") or training.get("run_id")),
                       ("run_name", origin.get("run_name")),
                       ("source_path", origin.get("kind") == "mlflow" and origin.get("source")),
                       ("artifact_uri", origin.get("artifact_uri"))):
        if value and isinstance(value, str):
            t["run_fields"].append((vid, key, value))
    datasets = get("datasets")
    if datasets:
        t["datasets"] += [(vid, d["role"], d.get("name", ""), d.get("uri", ""),
                           d.get("digest", "")) for d in datasets]
    parents = get("parents")
    if parents:
        t["parents"] += [(vid, p["ref"], p.get("model", p["ref"]), _int64(p.get("version")),
                          p.get("relation", "")) for p in parents]
    t["files"] += [(vid, f["path"], f["size"], f["digest"], f.get("format", ""),
                    int(bool(f.get("pickle")))) for f in files]
    t["blob_refs"] += [(d, vid, role) for d, role in blob_refs(record)]
    t["versions_fts"].append((
        vid, record["model"], description, tags_text(tags),
        " ".join([f"{r[1]} {r[2]}" for r in param_rows]),
        " ".join([f["path"] for f in files])))
    return out


def insert_record(conn: sqlite3.Connection, model_id: int, record: dict, record_path: str) -> int:
    """Insert one version and everything that hangs off it; returns its row id."""
    row = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM versions").fetchone()
    vid = int(row[0])
    record_rows(record, vid, model_id, record_path).insert(conn)
    return vid


def _created_ms(created_at: str, file_mtime_ms: int | None) -> int:
    """When the version was recorded, for sorting and `created` queries: the writer's
    clock, but never later than the record file's mtime, which the file server set when the
    record was written. A host whose clock runs ahead cannot sort its versions above newer
    ones (a copy restored later has a later mtime, and keeps its own time). The mtime is
    taken to the end of its second: sshfs reports whole seconds, and every host must
    compute the same value."""
    ms = iso_to_ms(created_at) or 0
    if type(file_mtime_ms) is not int or file_mtime_ms <= 0:
        return ms
    return min(ms, (file_mtime_ms // 1000 + 1) * 1000)


def tags_text(tags: dict[str, str]) -> str:
    return " ".join(f"{k} {v}" for k, v in sorted(tags.items()))


def blob_refs(record: dict) -> list[tuple[str, str]]:
    """Every blob a record points at, with the role it plays (for fsck)."""
    refs = [(f["digest"], f"file:{f['path']}") for f in record.get("files") or []]
    if record.get("metric_series"):
        refs.append((record["metric_series"]["digest"], "metrics"))
        if record["metric_series"].get("overview"):
            refs.append((record["metric_series"]["overview"]["digest"], "metrics-overview"))
    if record.get("charts"):
        refs.append((record["charts"]["digest"], "charts"))
    source = record.get("source") or {}
    refs += [(f["digest"], f"source:{f['path']}") for f in source.get("files") or []]
    if source.get("diff"):
        refs.append((source["diff"]["digest"], "source-diff"))
    return refs
