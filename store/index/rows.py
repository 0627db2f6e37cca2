"""From one record file to the index rows that make it searchable."""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime
from typing import Any

from ..card import flatten_params


def iso_to_ms(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def param_text(value: Any) -> str:
    if isinstance(value, bool):
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


def insert_record(conn: sqlite3.Connection, model_id: int, record: dict, record_path: str) -> int:
    """Insert one version and everything that hangs off it; returns its row id."""
    training = record.get("training") or {}
    started, ended = iso_to_ms(training.get("started_at")), iso_to_ms(training.get("ended_at"))
    files = record.get("files") or []
    serving = record.get("serving") or {}
    summary = record.get("summary") or {}
    user = training.get("user") or (record.get("created_by") or {}).get("user", "")
    host = training.get("host") or (record.get("created_by") or {}).get("host", "")
    param_count = summary.get("param_count")
    cur = conn.execute(
        """INSERT INTO versions (model_id, model, number, created_at, created_ms, user, host,
           started_ms, ended_ms, duration_s, status, description, deprecated, format,
           framework, size, param_count, n_files, has_pickle, origin, content_digest,
           record_path) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,?,?)""",
        (model_id, record["model"], record["version"], record["created_at"],
         iso_to_ms(record["created_at"]) or 0, user, host, started, ended,
         (ended - started) / 1000 if started is not None and ended is not None else None,
         training.get("status") or "", record.get("description") or "", main_format(files),
         str(serving.get("framework") or ""), sum(f.get("size", 0) for f in files),
         int(param_count) if isinstance(param_count, (int, float)) else None, len(files),
         int(any(f.get("pickle") for f in files)),
         str((record.get("origin") or {}).get("kind") or ""),
         record.get("content_digest") or "", record_path),
    )
    vid = int(cur.lastrowid)
    flat = flatten_params(record.get("params") or {})
    conn.executemany("INSERT INTO params VALUES (?,?,?,?)",
                     [(vid, k, param_text(v), _num(v)) for k, v in flat.items()])
    keys = ((record.get("metric_series") or {}).get("keys")) or {}
    conn.executemany(
        "INSERT INTO metrics VALUES (?,?,?,?,?,?,?)",
        [(vid, k, _num(v), (keys.get(k) or {}).get("step"), (keys.get(k) or {}).get("min"),
          (keys.get(k) or {}).get("max"), (keys.get(k) or {}).get("points", 0))
         for k, v in (record.get("metrics") or {}).items()])
    conn.executemany("INSERT OR REPLACE INTO tags VALUES (?,?,?)",
                     [(vid, k, v) for k, v in (record.get("tags") or {}).items()])
    conn.executemany("INSERT INTO datasets VALUES (?,?,?,?,?)",
                     [(vid, d["role"], d.get("name", ""), d.get("uri", ""), d.get("digest", ""))
                      for d in record.get("datasets") or []])
    conn.executemany("INSERT INTO parents VALUES (?,?,?,?,?)",
                     [(vid, p["ref"], p.get("model", p["ref"]), p.get("version"),
                       p.get("relation", "")) for p in record.get("parents") or []])
    conn.executemany("INSERT INTO files VALUES (?,?,?,?,?,?)",
                     [(vid, f["path"], f["size"], f["digest"], f.get("format", ""),
                       int(bool(f.get("pickle")))) for f in files])
    conn.executemany("INSERT INTO blob_refs VALUES (?,?,?)",
                     [(d, vid, role) for d, role in blob_refs(record)])
    conn.execute(
        "INSERT INTO versions_fts(rowid, name, description, tags, params, files) "
        "VALUES (?,?,?,?,?,?)",
        (vid, record["model"], record.get("description") or "",
         tags_text(record.get("tags") or {}),
         " ".join(f"{k} {param_text(v)}" for k, v in flat.items()),
         " ".join(f["path"] for f in files)))
    return vid


def tags_text(tags: dict[str, str]) -> str:
    return " ".join(f"{k} {v}" for k, v in sorted(tags.items()))


def blob_refs(record: dict) -> list[tuple[str, str]]:
    """Every blob a record points at, with the role it plays (for fsck)."""
    refs = [(f["digest"], f"file:{f['path']}") for f in record.get("files") or []]
    if record.get("metric_series"):
        refs.append((record["metric_series"]["digest"], "metrics"))
    if record.get("charts"):
        refs.append((record["charts"]["digest"], "charts"))
    source = record.get("source") or {}
    refs += [(f["digest"], f"source:{f['path']}") for f in source.get("files") or []]
    if source.get("diff"):
        refs.append((source["diff"]["digest"], "source-diff"))
    return refs
