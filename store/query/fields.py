"""The words a query may look at, and how a written field name becomes a checked `Field`.

The vocabulary lives here, apart from the grammar, so the search box can offer the same
entities, attributes, qualifiers and keywords the parser accepts, and every "did you mean"
draws on the same lists.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from modelyard.store.errors import QueryError

ENTITIES = {
    "metric": "metric", "metrics": "metric",
    "param": "param", "params": "param", "parameter": "param", "parameters": "param",
    "tag": "tag", "tags": "tag",
    "attribute": "attr", "attributes": "attr", "attr": "attr", "run": "attr",
    "dataset": "dataset", "datasets": "dataset",
    "policy": "policy",
}  # fmt: skip
_PREFIX = {"metric": "metrics", "param": "params", "tag": "tags", "attr": "attributes",
           "dataset": "datasets", "policy": "policy"}

# canonical attribute: (versions column, value type, other spellings)
_ATTRS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "model": ("model", "text", ("name",)),
    "version": ("number", "number", ("number", "version_number")),
    "user": ("user", "text", ("user_id",)),
    "host": ("host", "text", ()),
    "status": ("status", "text", ()),
    "description": ("description", "text", ()),
    "format": ("format", "text", ()),
    "framework": ("framework", "text", ()),
    "origin": ("origin", "text", ()),
    "digest": ("content_digest", "text", ("content_digest",)),
    "size": ("size", "size", ()),
    "param_count": ("param_count", "count", ()),
    "files": ("n_files", "number", ("n_files",)),
    "duration": ("duration_s", "duration", ("duration_s",)),
    "deprecated": ("deprecated", "bool", ()),
    "pickle": ("has_pickle", "bool", ("has_pickle",)),
    "created": ("created_ms", "time", ("created_at",)),
    "started": ("started_ms", "time", ("start_time",)),
    "ended": ("ended_ms", "time", ("end_time",)),
}
# the MLflow run behind an imported version, in the index's run_fields table
RUN_FIELDS = {"run_id": "run_id", "run_uuid": "run_id", "run_name": "run_name",
              "source_path": "source_path", "source": "source_path",
              "artifact_uri": "artifact_uri"}
ATTRIBUTE_SPELLINGS = {s: name for name, (_, _, more) in _ATTRS.items() for s in (name, *more)}
_DATASET_KEYS = {"name": "name", "digest": "digest", "role": "role", "context": "role",
                 "uri": "uri"}
QUALIFIERS = ("model", "name", "user", "host", "format", "framework", "status", "origin",
              "dataset", "parent", "is", "has", "tag", "policy")

ATTRIBUTE_SPELLINGS.update({s: s for s in RUN_FIELDS})
ATTRIBUTES: list[str] = [*_ATTRS, "run_id", "run_name", "source_path", "artifact_uri"]
FIELD_PREFIXES: list[str] = ["metrics.", "params.", "tags.", "datasets.", "attributes.", "policy.",
                             *(f"{q}:" for q in QUALIFIERS if q != "name"), "@"]
KEYWORDS: list[str] = ["AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "GLOB", "BETWEEN", "IS",
                       "NULL", "ORDER", "BY", "ASC", "DESC"]
TYPE_HINTS = {"text": "a quoted string", "number": "a number",
              "param": "a number or a quoted string",
              "size": "a size such as 10MB or 1GiB", "count": "a count such as 7B or 350M",
              "duration": "seconds, or a duration such as 90m", "bool": "true or false",
              "verdict": "pass or fail",
              "time": "a date such as 2026-01-31, a relative time such as -7d, or epoch ms"}


@dataclass(frozen=True)
class Field:
    """Where a comparison looks: a key of a side table, or a column of `versions`."""

    kind: str  # metric, param, tag, dataset, policy, attr, run, alias, parent
    key: str  # the key; the canonical attribute; the datasets column
    pos: int
    column: str = ""  # the versions column of an attribute
    type: str = "text"  # text, number, param, size, count, duration, bool, time, verdict
    role: str = ""  # datasets.<role>.<column> narrows to one role

    def __str__(self) -> str:
        if self.kind in ("attr", "run"):
            return self.key
        key = self.key if re.fullmatch(r"[\w.]+", self.key) else f"`{self.key}`"
        role = f"{self.role}." if self.role else ""
        return f"{_PREFIX.get(self.kind, self.kind)}.{role}{key}"


# Each resolver raises QueryError against `text`, the whole query, so the error keeps its column.


def entity_field(head: str, key: str, start: int, key_pos: int, text: str) -> Field:
    """`head.key` as written: a metric, param or tag key, an attribute or a datasets column."""
    entity = ENTITIES.get(head.lower())
    if entity is None:
        guess = difflib.get_close_matches(head.lower(), list(ENTITIES), n=1, cutoff=0.6)
        hint = f"did you mean '{_PREFIX[ENTITIES[guess[0]]]}.{key}'? " if guess else ""
        raise QueryError(f"unknown field '{head}.{key}'; {hint}fields are metrics.<key>, "
                         "params.<key>, tags.<key>, datasets.<name|digest|role|uri>, "
                         "policy.<rule> and "
                         f"attributes ({', '.join(ATTRIBUTES)})", text, start)
    if entity == "attr":
        return attribute(key, key_pos, text)
    if entity == "dataset":
        return dataset_field(key, key_pos, start, text)
    kind = {"metric": "number", "param": "param", "tag": "text", "policy": "verdict"}[entity]
    return Field(entity, key, start, type=kind)


def attribute(name: str, pos: int, text: str) -> Field:
    """A column of `versions` under any of its spellings (`name`, `run_name`, `model`)."""
    canonical = ATTRIBUTE_SPELLINGS.get(name.lower().replace(" ", "_"))  # MLflow: `Run name`
    if canonical is None:
        guess = difflib.get_close_matches(name.lower(), list(ATTRIBUTE_SPELLINGS), n=1)
        hint = f"did you mean '{guess[0]}'? " if guess else ""
        raise QueryError(f"unknown attribute '{name}'; {hint}attributes are "
                         f"{', '.join(ATTRIBUTES)}; for a metric write metrics.{name}", text, pos)
    if canonical in RUN_FIELDS:
        return Field("run", RUN_FIELDS[canonical], pos)
    column, kind, _ = _ATTRS[canonical]
    return Field("attr", canonical, pos, column=column, type=kind)


def dataset_field(key: str, pos: int, start: int, text: str) -> Field:
    """`datasets.<column>` or `datasets.<role>.<column>`."""
    role, _, column = key.rpartition(".")
    if column.lower() not in _DATASET_KEYS:
        raise QueryError(f"unknown dataset field '{key}'; use datasets.name, datasets.digest, "
                         "datasets.role, datasets.uri or datasets.<role>.name", text, pos)
    return Field("dataset", _DATASET_KEYS[column.lower()], start, role=role)
