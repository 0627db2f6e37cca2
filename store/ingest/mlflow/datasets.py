"""MLflow's `log_input` data sets as a version's `datasets` (lineage, `dataset.name = ...`).

The `mlflow.data.context` tag says what the data was for; it becomes the role. MLflow's own
facts (source type and source, schema, profile, the context as written) are kept in `extra`.
"""

from __future__ import annotations

import json
from typing import Any

from modelyard.store.ingest.mlflow.common import DatasetRecord

_ROLES = {"train": "train", "training": "train", "eval": "eval", "evaluation": "eval",
          "validation": "validation", "valid": "validation", "val": "validation",
          "test": "test", "testing": "test"}
_URI_KEYS = ("uri", "url", "path", "location", "dataset_path", "table_name", "repo_id")


def card_datasets(records: list[DatasetRecord]) -> list[dict[str, Any]]:
    """One card entry per logged input; a data set logged twice in one context once."""
    out, seen = [], set()
    for d in records:
        key = (d.name, d.digest, d.context)
        if key in seen or not (d.name or d.source):
            continue
        seen.add(key)
        entry: dict[str, Any] = {
            "role": _ROLES.get(d.context.strip().lower(), "other"),
            "name": d.name, "uri": source_uri(d.source), "digest": d.digest,
            "mlflow_context": d.context, "source_type": d.source_type, "source": d.source}
        if d.schema:
            entry["schema"] = d.schema
        if d.profile:
            entry["profile"] = d.profile
            rows = _rows(d.profile)
            if rows is not None:
                entry["rows"] = rows
        out.append(entry)
    return out


def source_uri(source: str) -> str:
    """MLflow keeps a data set's source as JSON (`{"uri": ...}`, `{"path": ...}`...)."""
    try:
        parsed = json.loads(source)
    except ValueError:
        return source
    if isinstance(parsed, dict):
        for key in _URI_KEYS:
            if isinstance(parsed.get(key), str) and parsed[key]:
                return parsed[key]
    return source


def _rows(profile: str) -> int | None:
    try:
        rows = json.loads(profile).get("num_rows")
    except (ValueError, AttributeError):
        return None
    return rows if isinstance(rows, int) and not isinstance(rows, bool) else None
