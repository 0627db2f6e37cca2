"""The index as the rest of the store sees it: one object owning the connections (db.py)
and answering every read the store's verbs, versions, checks and policy code need.

Callers get rows (sqlite3.Row, or plain tuples and dicts) and never write SQL: every
statement against the index lives in this folder.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from modelyard.store.disk.layout import Layout
from modelyard.store.index import policy_rows, search, sync
from modelyard.store.index.db import IndexConnections


class Index(IndexConnections):
    """This host's index of one store."""

    # versions ------------------------------------------------------------------------------
    def versions_where(self, where: str, params: Iterable[Any] = (), *,
                       order: str = "v.number DESC", limit: int | None = None
                       ) -> list[sqlite3.Row]:
        sql = f"SELECT v.* FROM versions v WHERE {where} ORDER BY {order}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return self.conn.execute(sql, tuple(params)).fetchall()

    def versions_of(self, model: str) -> list[sqlite3.Row]:
        """Every version row of one model, newest first."""
        return self.versions_where("v.model = ?", (model,))

    def version(self, model: str, number: int) -> sqlite3.Row | None:
        found = self.versions_where("v.model = ? AND v.number = ?", (model, number))
        return found[0] if found else None

    def latest(self, model: str) -> sqlite3.Row | None:
        found = self.versions_where("v.model = ?", (model,), limit=1)
        return found[0] if found else None

    def aliased(self, model: str, alias: str) -> sqlite3.Row | None:
        found = self.versions_where(
            "v.id = (SELECT a.version_id FROM aliases a JOIN models m ON m.id = a.model_id"
            " WHERE m.name = ? AND a.alias = ?)", (model, alias))
        return found[0] if found else None

    def children(self, model: str, number: int) -> list[sqlite3.Row]:
        return self.versions_where(
            "v.id IN (SELECT version_id FROM parents WHERE model = ? AND "
            "(number = ? OR number IS NULL))", (model, number))

    def duplicate(self, model: str, content_digest: str) -> int | None:
        """The lowest version number of `model` holding exactly this content."""
        row = self.conn.execute("SELECT number FROM versions WHERE model = ? AND "
                                "content_digest = ? ORDER BY number LIMIT 1",
                                (model, content_digest)).fetchone()
        return row[0] if row else None

    def search(self, query: str, *, limit: int | None, offset: int, model: str | None,
               now_ms: int) -> list[sqlite3.Row]:
        return search.search_rows(self.conn, query, limit=limit, offset=offset, model=model,
                                  now_ms=now_ms)

    def count(self, query: str, *, model: str | None, now_ms: int) -> int:
        return search.count_rows(self.conn, query, model=model, now_ms=now_ms)

    def matches(self, version_id: int, where: str, params: Iterable[Any]) -> bool:
        """Whether one version satisfies a compiled query's WHERE (policy thresholds)."""
        row = self.conn.execute(f"SELECT 1 FROM versions v WHERE v.id = ? AND ({where})",
                                [version_id, *params]).fetchone()
        return row is not None

    # one version's changing state ----------------------------------------------------------
    def aliases_of(self, version_id: int) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT alias FROM aliases WHERE version_id = ? ORDER BY alias", (version_id,))]

    def tags_of(self, version_id: int) -> dict[str, str]:
        return dict(self.conn.execute(
            "SELECT key, value FROM tags WHERE version_id = ? ORDER BY key", (version_id,)))

    def metrics_of(self, version_id: int) -> list[tuple[str, float | None]]:
        """Final metric values; NaN is NULL in the index."""
        return [(r[0], r[1]) for r in self.conn.execute(
            "SELECT key, value FROM metrics WHERE version_id = ? ORDER BY key", (version_id,))]

    def record_owner(self, version_id: int, number: int) -> tuple[int, str, str] | None:
        """(uid, name, claimed user) of the version's record file, if indexed."""
        row = self.conn.execute(
            "SELECT uid, name, claimed FROM owners WHERE kind = 'v' AND model_id = "
            "(SELECT model_id FROM versions WHERE id = ?) AND number = ?",
            (version_id, number)).fetchone()
        return (row[0], row[1], row[2]) if row is not None else None

    # models --------------------------------------------------------------------------------
    def model_rows(self, where: str = "1", params: Iterable[Any] = (), *,
                   order: str = "m.name") -> list[sqlite3.Row]:
        """Per model: name, description, n (versions), latest, updated. Counted on the
        (model, number) index alone, then one seek per model for the newest version's
        time: 8x faster than grouping the version rows at a million. `where` and `order`
        (store/query/models_filter.py) see the model as `m`, its newest version as `v`."""
        return self.conn.execute(
            f"""SELECT m.name, m.description, g.n, g.latest, v.created_at AS updated
               FROM (SELECT model, count(*) AS n, max(number) AS latest FROM versions
                     GROUP BY model) g
               JOIN models m ON m.name = g.model
               JOIN versions v ON v.model = g.model AND v.number = g.latest
               WHERE {where} ORDER BY {order}""", tuple(params)).fetchall()

    def aliases_by_model(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for name, alias, number in self.conn.execute(
                """SELECT m.name, a.alias, v.number FROM aliases a JOIN models m ON
                   m.id = a.model_id JOIN versions v ON v.id = a.version_id ORDER BY a.alias"""):
            out.setdefault(name, {})[alias] = number
        return out

    def model_tags_by_model(self) -> dict[str, dict[str, str]]:
        """The models' own tags (not their versions'), by model name."""
        out: dict[str, dict[str, str]] = {}
        for name, key, value in self.conn.execute(
                """SELECT m.name, t.key, t.value FROM model_tags t JOIN models m
                   ON m.id = t.model_id ORDER BY t.key"""):
            out.setdefault(name, {})[key] = value
        return out

    def meta_values(self, keys: Iterable[str]) -> dict[str, str]:
        """This index's own bookkeeping (schema, change position, snapshot it came from)."""
        keys = tuple(keys)
        marks = ", ".join("?" * len(keys))
        return dict(self.conn.execute(f"SELECT key, value FROM meta WHERE key IN ({marks})",
                                      keys))

    def has_model(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM versions WHERE model = ? LIMIT 1",
                                 (name,)).fetchone() is not None

    def model_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT model FROM versions")]

    def keys(self, kind: str, *, by_frequency: bool = False) -> list[str]:
        """Distinct metric, param or tag keys, or alias names. Distinct keys are read by a
        skip-scan of the (key, value) index: one seek per key, not a pass over the tens of
        millions of rows a big store holds."""
        table = {"metrics": "metrics", "params": "params", "tags": "tags"}.get(kind)
        if kind == "aliases":
            return [r[0] for r in self.conn.execute("SELECT DISTINCT alias FROM aliases "
                                                    "ORDER BY alias")]
        if table is None:
            raise ValueError(f"unknown key kind {kind!r}; use metrics, params, tags or aliases")
        if by_frequency:
            sql = (f"SELECT key FROM {table} WHERE version_id IN (SELECT id FROM versions "
                   "ORDER BY created_ms DESC LIMIT 2000) GROUP BY key "
                   "ORDER BY count(*) DESC, key")
        else:
            sql = (f"WITH RECURSIVE k(key) AS (SELECT min(key) FROM {table} UNION ALL "
                   f"SELECT (SELECT min(key) FROM {table} WHERE key > k.key) FROM k "
                   "WHERE k.key IS NOT NULL) SELECT key FROM k WHERE key IS NOT NULL")
        return [r[0] for r in self.conn.execute(sql)]

    def alias_target(self, model: str, alias: str) -> int | None:
        row = self.conn.execute(
            "SELECT v.number FROM aliases a JOIN models m ON m.id = a.model_id JOIN versions v "
            "ON v.id = a.version_id WHERE m.name = ? AND a.alias = ?", (model, alias)).fetchone()
        return row[0] if row else None

    def highest_number(self, model: str, layout: Layout) -> int:
        """The highest version number this index knows for `model`: indexed, probed, or
        named by an event (its record may since have been deleted)."""
        row = self.conn.execute(
            "SELECT max(coalesce((SELECT versions_seen FROM models WHERE name = :m), 0), "
            "coalesce((SELECT max(number) FROM versions WHERE model = :m), 0), "
            "coalesce((SELECT max(e.version) FROM events e JOIN models m ON m.id = e.model_id "
            "WHERE m.name = :m), 0))", {"m": model}).fetchone()
        return max(int(row[0] or 0), sync.highest_waiting_version(self.conn, layout, model))

    def events_seen(self, model: str) -> int:
        row = self.conn.execute("SELECT events_seen FROM models WHERE name = ?",
                                (model,)).fetchone()
        return row[0] if row else 0

    def event_rows(self, model: str) -> list[sqlite3.Row]:
        """The model's indexed events, by number, each with its file's owner (`owner`)."""
        return self.conn.execute(
            "SELECT e.*, o.name AS owner FROM events e JOIN models m ON m.id = e.model_id "
            "LEFT JOIN owners o ON o.kind = 'e' AND o.model_id = e.model_id "
            "AND o.number = e.seq WHERE m.name = ? ORDER BY e.seq", (model,)).fetchall()

    def problems(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.conn.execute("SELECT path, message FROM problems")]

    # change and health ---------------------------------------------------------------------
    def token(self) -> tuple[int, int, int]:
        """(highest version id, versions, events): changes whenever anything is indexed."""
        row = self.conn.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM versions), (SELECT count(*) FROM "
            "versions), (SELECT count(*) FROM events)").fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def refs_added_since(self, last_version_id: int, *, limit: int = 50) -> list[str]:
        rows = self.conn.execute("SELECT model, number FROM versions WHERE id > ? "
                                 "ORDER BY id DESC LIMIT ?", (last_version_id, limit))
        return [f"{model}:{number}" for model, number in rows]

    def refs_using_blob(self, digest: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT v.model, v.number FROM blob_refs b JOIN versions v ON v.id = b.version_id "
            "WHERE b.digest = ? ORDER BY v.model, v.number", (digest,)).fetchall()
        return [f"{model}:{number}" for model, number in rows]

    def quick_check(self) -> list[str]:
        return [r[0] for r in self.conn.execute("PRAGMA quick_check").fetchall()]

    def indexed_versions(self) -> set[tuple[str, int]]:
        return {(m, n) for m, n in self.conn.execute("SELECT model, number FROM versions")}

    # catching up ---------------------------------------------------------------------------
    def empty(self) -> bool:
        """Whether nothing is indexed yet: a new host's index that no snapshot seeded."""
        return self.conn.execute("SELECT 1 FROM models LIMIT 1").fetchone() is None

    def catch_up(self, layout: Layout, **options: Any) -> sync.SyncReport:
        """Index what was written since the last look (see sync.py for `options`)."""
        return sync.catch_up(self.conn, layout, **options)

    def index_own_record(self, layout: Layout, record: dict[str, Any]) -> None:
        sync.index_own_record(self.conn, layout, record)

    def rebuild(self, layout: Layout, *, progress: Callable[[int, int], None] | None = None
                ) -> sync.SyncReport:
        """Rebuild the index from the files alone (it is only a cache) into a new file that
        replaces the old one, damaged or not, once complete: until then, or if the rebuild
        is killed, the old index keeps answering (see rebuild.py). The calling thread owns
        the connections afterwards. `progress(read, total)` as in bulk.load_versions."""
        from modelyard.store.index import rebuild

        built, report = rebuild.build(self.path, layout, progress=progress)
        self.install(built)
        late = self.catch_up(layout)  # written while it was building
        report.versions, report.events = report.versions + late.versions, \
            report.events + late.events
        report.problems += late.problems
        return report

    def install(self, built: Path) -> None:
        """Put the index file `built` (a rebuild's, or a checked snapshot copy) in place of
        this one; the calling thread owns the connections afterwards."""
        from modelyard.store.index import rebuild

        self.close()  # this process's connections, so the new file can be renamed into place
        rebuild.install(built, self.path)
        self.reopen()

    def changes_position(self) -> int:
        """How far into the store's change log this index has read (-1: not recorded)."""
        from modelyard.store.index.changes_seen import COUNT_KEY

        return int(self.meta_values((COUNT_KEY,)).get(COUNT_KEY, -1))

    # policy --------------------------------------------------------------------------------
    def policy_state(self, version_id: int) -> str:
        return policy_rows.state(self.conn, version_id)

    def stored_check(self, version_id: int
                     ) -> tuple[int, str, list[tuple[str, str, bool, str]]] | None:
        return policy_rows.stored_check(self.conn, version_id)

    def unchecked(self, policy: int, *, all_versions: bool = False) -> list[tuple[str, int]]:
        return policy_rows.unchecked(self.conn, policy, all_versions=all_versions)

    def pending_alias_checks(self, admins_key: str) -> list[tuple]:
        return policy_rows.pending_alias_checks(self.conn, admins_key)

    def save_alias_verdicts(self, verdicts: list[tuple[str, int, int]]) -> None:
        policy_rows.save_alias_verdicts(self.conn, verdicts)

    def alias_violations(self, model: str | None = None) -> list[dict[str, Any]]:
        return policy_rows.alias_violations(self.conn, model)

    def policies_named(self) -> set[int]:
        return policy_rows.policies_named(self.conn)
