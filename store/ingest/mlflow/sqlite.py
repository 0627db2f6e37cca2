"""Read MLflow's SQLite tracking store (`mlflow.db`) without ever writing to it.

The database is opened with a read-only URI and never migrated. Newer MLflow versions add
tables and columns, older ones lack some (no `logged_models` before 3.0, no aliases before
2.3): each query names the columns it wants, and a missing table or column reads as empty.
"""

from __future__ import annotations

import math
import sqlite3
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from modelyard.store.errors import InvalidManifest
from modelyard.store.ingest.mlflow.common import (
    DatasetRecord,
    LoggedModelRecord,
    Point,
    RegisteredRecord,
    RunRecord,
    VersionRecord,
    status_name,
)

SQLITE_MAGIC = b"SQLite format 3\x00"
DB_NAME = "mlflow.db"
_MAX_FLOAT = sys.float_info.max  # MLflow stores +-inf as +-max float (SQL has no infinity)


def is_sqlite_file(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection: `mode=ro` makes SQLite refuse every write."""
    uri = f"file:{quote(str(Path(path).absolute()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise InvalidManifest(f"{path} could not be opened as an MLflow database: {exc}") from None
    return conn


class SqliteBackend:
    """`mlflow.db`; artifacts are resolved inside `root` (the folder holding it)."""

    kind = "sqlite"
    uri = ""

    def __init__(self, db_path: Path, root: Path) -> None:
        self.root = Path(root)
        self.conn = connect_read_only(db_path)
        self._columns: dict[str, set[str]] = {}
        self._runs: dict[str, RunRecord | None] = {}  # versions often share a run

    def close(self) -> None:
        self.conn.close()

    def _cols(self, table: str) -> set[str]:
        if table not in self._columns:
            rows = self.conn.execute("SELECT name FROM pragma_table_info(?)", (table,))
            self._columns[table] = {r[0] for r in rows}
        return self._columns[table]

    def rows(self, table: str, columns: tuple[str, ...], where: str = "",
             args: tuple = ()) -> list[dict[str, Any]]:
        """Rows as dicts of the wanted columns; absent columns read as None.
        Table and column names are this module's constants, never outside text."""
        present = self._cols(table)
        if not present or any(c not in present for c in _where_columns(where)):
            return []
        wanted = [c for c in columns if c in present]
        if not wanted:
            return []
        names = ", ".join('"' + c + '"' for c in wanted)
        sql = f'SELECT {names} FROM "{table}"'
        if where:
            sql += f" WHERE {where}"
        out = []
        for row in self.conn.execute(sql, args):
            record = dict.fromkeys(columns)
            record.update(zip(wanted, row, strict=True))
            out.append(record)
        return out

    def experiment_name(self, experiment_id: str) -> str:
        found = self.rows("experiments", ("name",), "experiment_id = ?", (experiment_id,))
        return str(found[0]["name"] or "") if found else ""

    def registered_models(self) -> list[RegisteredRecord]:
        out = []
        for row in self.rows("registered_models", ("name", "description")):
            name = str(row["name"])
            model = RegisteredRecord(name=name, description=str(row["description"] or ""))
            model.tags = self._pairs("registered_model_tags", "key", "value", "name = ?", name)
            model.aliases = {str(r["alias"]): int(r["version"]) for r in self.rows(
                "registered_model_aliases", ("alias", "version"), "name = ?", (name,))
                if isinstance(r["version"], int)}
            model.versions = sorted((self._version(name, r) for r in self.rows(
                "model_versions", _VERSION_COLUMNS, "name = ?", (name,))
                if isinstance(r["version"], int)), key=lambda v: v.version)
            out.append(model)
        return sorted(out, key=lambda m: m.name)

    def _version(self, name: str, row: dict[str, Any]) -> VersionRecord:
        number = int(row["version"])
        return VersionRecord(
            name=name, version=number, source=str(row["source"] or ""),
            run_id=str(row["run_id"] or ""), model_id=str(row["model_id"] or ""),
            description=str(row["description"] or ""), user=str(row["user_id"] or ""),
            creation_ms=row["creation_time"], last_updated_ms=row["last_updated_time"],
            current_stage=str(row["current_stage"] or ""),
            status=str(row["status"] or ""),
            storage_location=str(row["storage_location"] or ""),
            tags=self._pairs("model_version_tags", "key", "value", "name = ? AND version = ?",
                             name, number))

    def _pairs(self, table: str, key: str, value: str, where: str, *args: Any
               ) -> dict[str, str]:
        return {str(r[key]): "" if r[value] is None else str(r[value])
                for r in self.rows(table, (key, value), where, args)}

    def run(self, run_id: str) -> RunRecord | None:
        if run_id not in self._runs:
            self._runs[run_id] = self._read_run(run_id)
        return self._runs[run_id]

    def _read_run(self, run_id: str) -> RunRecord | None:
        found = self.rows("runs", _RUN_COLUMNS, "run_uuid = ?", (run_id,))
        if not found:
            return None
        row = found[0]
        series: dict[str, list[Point]] = {}
        for m in self.rows("metrics", ("key", "value", "timestamp", "step", "is_nan"),
                           "run_uuid = ?", (run_id,)):
            value = math.nan if m["is_nan"] else _unclamp(m["value"])
            series.setdefault(str(m["key"]), []).append((int(m["step"] or 0), value,
                                                         m["timestamp"]))
        return RunRecord(
            run_id=run_id, experiment_id=str(row["experiment_id"] or ""),
            name=str(row["name"] or ""), user=str(row["user_id"] or ""),
            status=status_name(row["status"]), start_ms=row["start_time"],
            end_ms=row["end_time"], artifact_uri=str(row["artifact_uri"] or ""),
            lifecycle_stage=str(row["lifecycle_stage"] or ""),
            params=self._pairs("params", "key", "value", "run_uuid = ?", run_id),
            tags=self._pairs("tags", "key", "value", "run_uuid = ?", run_id),
            series={k: sorted(v, key=lambda p: (p[0], p[2] or 0)) for k, v in series.items()},
            datasets=self._datasets(run_id))

    def _datasets(self, run_id: str) -> list[DatasetRecord]:
        """The run's `log_input` data sets, in logging order; none before MLflow 2.4."""
        try:
            found = self.conn.execute(
                "SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source,"
                " d.dataset_schema, d.dataset_profile FROM inputs i JOIN datasets d"
                " ON d.dataset_uuid = i.source_id WHERE i.source_type = 'DATASET'"
                " AND i.destination_type = 'RUN' AND i.destination_id = ? ORDER BY i.rowid",
                (run_id,)).fetchall()
        except sqlite3.OperationalError:  # an older schema: no data sets
            return []
        out = []
        for input_id, name, digest, kind, source, schema, profile in found:
            context = self._pairs("input_tags", "name", "value", "input_uuid = ?",
                                  input_id).get("mlflow.data.context", "")
            out.append(DatasetRecord(name=str(name or ""), digest=str(digest or ""),
                                     source_type=str(kind or ""), source=str(source or ""),
                                     schema=str(schema or ""), profile=str(profile or ""),
                                     context=context))
        return out

    def logged_model(self, model_id: str) -> LoggedModelRecord | None:
        found = self.rows("logged_models", _LOGGED_COLUMNS, "model_id = ?", (model_id,))
        return self._logged(found[0]) if found else None

    def logged_models_of_run(self, run_id: str) -> list[LoggedModelRecord]:
        return [self._logged(r) for r in self.rows("logged_models", _LOGGED_COLUMNS,
                                                   "source_run_id = ?", (run_id,))]

    def _logged(self, row: dict[str, Any]) -> LoggedModelRecord:
        model_id = str(row["model_id"])
        series: dict[str, list[Point]] = {}
        for m in self.rows("logged_model_metrics", ("metric_name", "metric_value",
                                                    "metric_timestamp_ms", "metric_step"),
                           "model_id = ?", (model_id,)):
            value = math.nan if m["metric_value"] is None else _unclamp(m["metric_value"])
            series.setdefault(str(m["metric_name"]), []).append(
                (int(m["metric_step"] or 0), value, m["metric_timestamp_ms"]))
        return LoggedModelRecord(
            model_id=model_id, experiment_id=str(row["experiment_id"] or ""),
            name=str(row["name"] or ""), artifact_location=str(row["artifact_location"] or ""),
            source_run_id=str(row["source_run_id"] or ""),
            model_type=str(row["model_type"] or ""),
            params=self._pairs("logged_model_params", "param_key", "param_value",
                               "model_id = ?", model_id),
            tags=self._pairs("logged_model_tags", "tag_key", "tag_value", "model_id = ?",
                             model_id),
            series={k: sorted(v, key=lambda p: (p[0], p[2] or 0)) for k, v in series.items()})


_VERSION_COLUMNS = ("version", "source", "run_id", "model_id", "description", "user_id",
                    "creation_time", "last_updated_time", "current_stage", "status",
                    "storage_location")
_RUN_COLUMNS = ("name", "user_id", "status", "start_time", "end_time", "artifact_uri",
                "experiment_id", "lifecycle_stage")
_LOGGED_COLUMNS = ("model_id", "experiment_id", "name", "artifact_location", "source_run_id",
                   "model_type")


def _where_columns(where: str) -> list[str]:
    """Column names used in one of this module's simple `a = ? AND b = ?` filters."""
    return [part.split("=")[0].strip() for part in where.split(" AND ")] if where else []


def _unclamp(value: Any) -> float:
    number = float(value)
    if number >= _MAX_FLOAT:
        return math.inf
    if number <= -_MAX_FLOAT:
        return -math.inf
    return number
