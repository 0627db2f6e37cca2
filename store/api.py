"""The Store: one object, noun accessors and plain verbs, in the style of sqlite-utils.

    store = Store.open("/shared/models")
    v = store.get("resnet@champion")
    for v in store.search("metrics.acc > 0.9 order by metrics.acc desc"): ...
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.store.disk import changes
from modelyard.store.disk.events import Event
from modelyard.store.disk.identity import current_user
from modelyard.store.disk.layout import Layout, init_store, read_config
from modelyard.store.errors import InvalidName, ModelNotFound, VersionNotFound
from modelyard.store.index import db as index_db
from modelyard.store.index import sync as index_sync
from modelyard.store.names import (
    check_alias,
    check_model_name,
    check_new_model_folder,
    check_tag_key,
    mixed_script,
    parse_ref,
)
from modelyard.store.policy.verbs import PolicyVerbs
from modelyard.store.versions.version import Version

if TYPE_CHECKING:
    from modelyard.store.disk.blobs import BlobStore

# Writing (writer, blobs, card fields) and the policy engine (checks, gates, hooks) are
# imported by the verbs that need them: `ls` and `show` start in well under 150 ms.


@dataclass
class ModelInfo:
    name: str
    versions: int
    latest: int
    updated_at: str
    description: str = ""
    aliases: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "versions": self.versions, "latest": self.latest,
                "updated_at": self.updated_at, "description": self.description,
                "aliases": self.aliases, "mixed_script": self.mixed_script}

    @property
    def mixed_script(self) -> bool:
        """The name mixes look-alike scripts (names.mixed_script): show a warning."""
        return mixed_script(self.name)


class Store(PolicyVerbs):
    """A store on disk plus this host's index of it (policy verbs: store/policy/verbs.py)."""

    def __init__(self, root: Path, *, index: Path | None = None, sync: bool = True) -> None:
        self.root = Path(root).absolute()
        self.config = read_config(self.root)
        self.layout = Layout(self.root)
        self.index_path = Path(index) if index else index_db.default_index_path(
            self.root, self.config["store_id"])
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._by_thread: dict[int, sqlite3.Connection] = {}
        self._connections_lock = threading.Lock()
        self._policy_cache: dict[int, Any] = {}  # policy files are write-once: read each once
        if sync:
            self.sync()

    @cached_property
    def _database(self) -> index_db.Index:
        """The owner thread's index connection, opened on first use: `init` never needs
        it, and creating the schema costs more than making the store."""
        if not self.index_path.exists():  # a new host: start from a shared snapshot
            from modelyard.store.index.snapshot_restore import seed
            self.restored = seed(self.index_path, self.layout, self.config)
        database = index_db.connect(self.index_path)
        database.conn.row_factory = sqlite3.Row
        return database

    @cached_property
    def blobs(self) -> BlobStore:
        from modelyard.store.disk.blobs import BlobStore

        return BlobStore(self.layout.blobs)

    # lifecycle
    @classmethod
    def init(cls, path: str | Path, *, index: Path | None = None) -> Store:
        init_store(Path(path), user=current_user())
        return cls(Path(path), index=index, sync=False)  # nothing to index yet

    @classmethod
    def open(cls, path: str | Path, *, index: Path | None = None, sync: bool = True) -> Store:
        return cls(Path(path), index=index, sync=sync)

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's connection: SQLite connections are not shared between threads, so
        the app's worker threads each get their own (WAL lets them read while one writes)."""
        if threading.get_ident() == self._owner:
            return self._database.conn
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._connections_lock:
                self._close_finished_threads()
                self._database  # noqa: B018  (the owner's connect creates or migrates the file)
                conn = index_db.open_connection(self.index_path)
                self._by_thread[threading.get_ident()] = conn
            self._local.conn = conn
        return conn

    def interrupt(self, thread_id: int) -> None:
        """Stop the query the connection of thread `thread_id` is running, if any (it raises
        sqlite3.OperationalError there): the app stops a search the user typed over."""
        conn = self._by_thread.get(thread_id)
        if conn is not None:
            conn.interrupt()

    def _close_finished_threads(self) -> None:
        """Each worker thread opens a connection; close those whose thread has ended, or a
        long-running app would keep one per page it ever fetched."""
        alive = {t.ident for t in threading.enumerate()}
        for ident in [i for i in self._by_thread if i not in alive]:
            try:
                self._by_thread.pop(ident).close()
            except sqlite3.Error:
                pass

    def close(self) -> None:
        with self._connections_lock:
            connections = list(self._by_thread.values())
            if "_database" in self.__dict__:
                connections.append(self._database.conn)
            self._by_thread.clear()
        for conn in connections:
            try:
                conn.close()
            except Exception:  # closing from another thread; the process is ending anyway
                pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sync(self, *, full: bool = False,
             progress: Callable[[int, int], None] | None = None) -> index_sync.SyncReport:
        """Index whatever other processes and hosts wrote since the last look; with `full`,
        also what no writer logged (files written by hand or by a writer killed early),
        found by listing every model's folders. `progress(read, total)` is called while an
        empty index is first built (records read of those to read)."""
        from modelyard.store.policy.violations import judge_pending

        report = index_sync.catch_up(self._db, self.layout, full_listing=full,
                                     progress=progress)
        judge_pending(self)  # alias moves against their gates (store/policy/violations.py)
        return report

    def _sync_model(self, model: str) -> None:
        """Catch up one model, whatever the change counter says: before deduplicating
        against it and after writing to it (the next `sync` probes the rest)."""
        index_sync.catch_up(self._db, self.layout, model=model)
        from modelyard.store.policy.violations import judge_pending

        judge_pending(self)

    def reindex(self) -> index_sync.SyncReport:
        """Rebuild the index from the files alone (it is only a cache) into a new file that
        replaces the old one, damaged or not, once complete: until then, or if the rebuild
        is killed, the old index keeps answering (see index/rebuild.py)."""
        from modelyard.store.index import rebuild

        built, report = rebuild.build(self.index_path, self.layout)
        self.close()  # this store's connections, so the new file can be renamed into place
        rebuild.install(built, self.index_path)
        self._database = index_db.connect(self.index_path)
        self._database.conn.row_factory = sqlite3.Row
        self._local, self._owner = threading.local(), threading.get_ident()
        late = index_sync.catch_up(self._db, self.layout)  # written while it was building
        report.versions, report.events = report.versions + late.versions, \
            report.events + late.events
        report.problems += late.problems
        from modelyard.store.policy.violations import judge_pending

        judge_pending(self)
        return report

    # reading
    def models(self) -> list[ModelInfo]:
        # Counted on the (model, number) index alone, then one seek per model for the
        # newest version's time: 8x faster than grouping the version rows at a million.
        rows = self._db.execute(
            """SELECT m.name, m.description, g.n, g.latest, v.created_at AS updated
               FROM (SELECT model, count(*) AS n, max(number) AS latest FROM versions
                     GROUP BY model) g
               JOIN models m ON m.name = g.model
               JOIN versions v ON v.model = g.model AND v.number = g.latest
               ORDER BY m.name""").fetchall()
        aliases: dict[str, dict[str, int]] = {}
        for name, alias, number in self._db.execute(
                """SELECT m.name, a.alias, v.number FROM aliases a JOIN models m ON
                   m.id = a.model_id JOIN versions v ON v.id = a.version_id ORDER BY a.alias"""):
            aliases.setdefault(name, {})[alias] = number
        return [ModelInfo(r["name"], r["n"], r["latest"], r["updated"], r["description"],
                          aliases.get(r["name"], {})) for r in rows]

    def keys(self, kind: str, *, by_frequency: bool = False) -> list[str]:
        """Distinct metric, param or tag keys, or alias names: for pickers and completion;
        `by_frequency` puts first the keys most of the newest 2,000 versions have.

        Distinct keys are read by a skip-scan of the (key, value) index: one seek per key,
        not a pass over the tens of millions of rows a big store holds."""
        table = {"metrics": "metrics", "params": "params", "tags": "tags"}.get(kind)
        if kind == "aliases":
            return [r[0] for r in self._db.execute("SELECT DISTINCT alias FROM aliases "
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
        return [r[0] for r in self._db.execute(sql)]

    def model(self, name: str) -> ModelInfo:
        for info in self.models():
            if info.name == name:
                return info
        raise self._model_not_found(name)

    def versions(self, model: str) -> list[Version]:
        """Every version of one model, newest first."""
        found = self._versions_where("v.model = ?", (model,), order="v.number DESC")
        if not found:
            raise self._model_not_found(model)
        return found

    def search(self, query: str = "", *, limit: int | None = 100, offset: int = 0,
               model: str | None = None) -> list[Version]:
        """Versions matching the query language (see README), in its order; `model` narrows
        the search to one model whatever the query says. The planner in `index/search.py`
        drives from the most selective condition or walks the sort index, so the first page
        stays fast at a million versions."""
        from modelyard.store.index.search import search_rows

        rows = search_rows(self._db, query, limit=limit, offset=offset, model=model,
                           now_ms=int(time.time() * 1000))
        return [Version(self, row) for row in rows]

    def count(self, query: str = "", *, model: str | None = None) -> int:
        from modelyard.store.index.search import count_rows

        return count_rows(self._db, query, model=model, now_ms=int(time.time() * 1000))

    def get(self, ref: str) -> Version:
        """`resnet` (latest), `resnet:3` or `resnet@champion`."""
        parsed = parse_ref(ref)
        if parsed.alias is not None:
            found = self._versions_where(
                "v.id = (SELECT a.version_id FROM aliases a JOIN models m ON m.id = a.model_id"
                " WHERE m.name = ? AND a.alias = ?)", (parsed.model, parsed.alias))
        elif parsed.version is not None:
            found = self._versions_where("v.model = ? AND v.number = ?",
                                         (parsed.model, parsed.version))
        else:
            found = self._versions_where("v.model = ?", (parsed.model,),
                                         order="v.number DESC", limit=1)
        if found:
            return found[0]
        if not self._has_model(parsed.model):
            raise self._model_not_found(parsed.model)
        what = f"alias @{parsed.alias}" if parsed.alias else f"version {parsed.version}"
        raise VersionNotFound(f"{parsed.model} has no {what}; list its versions with "
                              f"`modelyard ls model:{_quote(parsed.model)}`")

    def _versions_where(self, where: str, params: tuple, *, order: str = "v.number DESC",
                        limit: int | None = None) -> list[Version]:
        sql = f"SELECT v.* FROM versions v WHERE {where} ORDER BY {order}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [Version(self, row) for row in self._db.execute(sql, params)]

    def _has_model(self, name: str) -> bool:
        return self._db.execute("SELECT 1 FROM versions WHERE model = ? LIMIT 1",
                                (name,)).fetchone() is not None

    def _model_not_found(self, name: str) -> ModelNotFound:
        import difflib

        names = [r[0] for r in self._db.execute("SELECT DISTINCT model FROM versions")]
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else \
            "; list models with `modelyard ls`"
        return ModelNotFound(f"no model named {name!r} in {self.root}{hint}")

    # writing
    def add_version(self, model: str, *, files: Mapping[str, Any] | None = None,
                    metric_series: Mapping[str, Any] | None = None,
                    source: Mapping[str, Any] | None = None, dedupe: bool = True,
                    consume: bool = False, **card: Any) -> Version:
        """Record a new version; card fields are those of the README (params, metrics…).

        With `dedupe` (the default) adding identical content again returns the existing
        version instead of a new one, which makes re-ingesting a drop idempotent.
        """
        from modelyard.store.ingest import writer
        from modelyard.store.policy import service as policy_service
        from modelyard.store.versions.card import CARD_FIELDS

        unknown = set(card) - set(CARD_FIELDS)
        if unknown:
            raise TypeError(f"add_version() got unknown fields: {', '.join(sorted(unknown))}")
        model = check_new_model_folder(self.layout.models, model)  # NFC; no case clash
        record = writer.prepare_record(self.layout, self.blobs, model, card, files=files,
                                       metric_series=metric_series, source=source,
                                       consume=consume)
        self._sync_model(model)  # before deduplicating, and to claim above every known number
        if dedupe:
            row = self._db.execute("SELECT number FROM versions WHERE model = ? AND "
                                   "content_digest = ? ORDER BY number LIMIT 1",
                                   (model, record["content_digest"])).fetchone()
            if row:
                existing = self.get(f"{model}:{row[0]}")
                existing.deduplicated = True
                return existing
        folder = self.layout.model_dir(model).name
        changes.note(self.layout.models, folder)  # before and after: see changes.py
        final = writer.claim_version(self.layout, record, hint=self._highest_number(model))
        changes.note(self.layout.models, folder)
        self._sync_model(model)
        index_sync.index_own_record(self._db, self.layout, final)
        version = self.get(f"{model}:{final['version']}")
        policy_service.check_new(self, version)  # stored whatever the verdict; failures marked
        return version

    def _highest_number(self, model: str) -> int:
        """The highest version number this index knows for `model`: indexed, probed, or
        named by an event (its record may since have been deleted). A number once given
        is never given again, so a new version starts above it."""
        row = self._db.execute(
            "SELECT max(coalesce((SELECT versions_seen FROM models WHERE name = :m), 0), "
            "coalesce((SELECT max(number) FROM versions WHERE model = :m), 0), "
            "coalesce((SELECT max(e.version) FROM events e JOIN models m ON m.id = e.model_id "
            "WHERE m.name = :m), 0))", {"m": model}).fetchone()
        return max(int(row[0] or 0),
                   index_sync.highest_waiting_version(self._db, self.layout, model))

    def _event(self, model: str, type_: str, version: int | None, data: dict) -> Event:
        from modelyard.store.disk.events import append_event

        seen = self._db.execute("SELECT events_seen FROM models WHERE name = ?",
                                (model,)).fetchone()
        folder = self.layout.model_dir(model).name
        changes.note(self.layout.models, folder)
        event = append_event(self.layout, model, type_, version, data,
                             hint=seen[0] if seen else 0)
        changes.note(self.layout.models, folder)
        self._sync_model(model)
        return event

    def set_alias(self, ref: str, alias: str, *, force: bool = False, reason: str = ""
                  ) -> Event:
        """Point `alias` at a version (moving it if it pointed elsewhere).

        A gated alias (the policy's `aliases:`) is refused with AliasRefused, listing the
        rules the version fails, unless `force` with a `reason`: both go into the event.
        Hooks for `alias.set` run after the event is written.
        """
        from modelyard.store.policy import hooks as policy_hooks
        from modelyard.store.policy import service as policy_service
        from modelyard.store.policy.errors import AliasRefused

        check_alias(alias)
        v = self.get(ref)
        data: dict[str, Any] = {"alias": alias}
        failing = policy_service.gate(self, v, alias)
        if failing:
            if not force:
                raise AliasRefused(
                    f"@{alias} requires passing {', '.join(r.rule for r in failing)}, and "
                    f"{v.ref} fails: {'; '.join(r.line() for r in failing)}. Fix the version, "
                    "or override with --force --reason TEXT (recorded in the history)", failing)
            if not reason.strip():
                raise AliasRefused(f"forcing @{alias} onto {v.ref} needs a reason (--reason "
                                   "TEXT); it is recorded in the history", failing)
            data.update(forced=True, reason=reason, failing=[r.rule for r in failing])
        previous = self._alias_target(v.model, alias)
        event = self._event(v.model, "alias.set", v.number, data)
        policy_hooks.fire(self, "alias.set", event, model=v.model, version=v.number,
                          alias=alias, extra={"previous": previous})
        return event

    def _alias_target(self, model: str, alias: str) -> int | None:
        row = self._db.execute(
            "SELECT v.number FROM aliases a JOIN models m ON m.id = a.model_id JOIN versions v "
            "ON v.id = a.version_id WHERE m.name = ? AND a.alias = ?", (model, alias)).fetchone()
        return row[0] if row else None

    def remove_alias(self, model: str, alias: str) -> Event:
        from modelyard.store.policy import hooks as policy_hooks

        check_model_name(model)
        previous = self._alias_target(model, alias)
        if previous is None:
            self.versions(model)  # raises ModelNotFound first when that is the problem
            raise VersionNotFound(f"{model} has no alias @{alias} to remove")
        event = self._event(model, "alias.removed", None, {"alias": alias})
        policy_hooks.fire(self, "alias.removed", event, model=model, version=previous,
                          alias=alias, extra={"previous": previous})
        return event

    def tag(self, ref: str, key: str, value: str = "") -> Event:
        check_tag_key(key)
        v = self.get(ref)
        event = self._event(v.model, "tag.set", v.number, {"key": key, "value": str(value)})
        self._recheck(v)  # tags can bring a version into a rule's scope
        return event

    def untag(self, ref: str, key: str) -> Event:
        v = self.get(ref)
        if key not in v.tags:
            raise InvalidName(f"{v.ref} has no tag {key!r}; its tags: "
                              f"{', '.join(v.tags) or 'none'}")
        event = self._event(v.model, "tag.removed", v.number, {"key": key})
        self._recheck(v)
        return event

    def describe(self, ref: str, text: str) -> Event:
        if len(text) > 100_000:
            raise InvalidName("a description is limited to 100,000 characters")
        v = self.get(ref)
        event = self._event(v.model, "description.set", v.number, {"text": text})
        self._recheck(v)
        return event

    def _recheck(self, version: Version) -> None:
        from modelyard.store.policy import service as policy_service

        policy_service.check_changed(self, self.get(version.ref))  # fresh: an event changed it

    def deprecate(self, ref: str, *, reason: str = "", undo: bool = False) -> Event:
        v = self.get(ref)
        return self._event(v.model, "deprecated.set", v.number,
                           {"deprecated": not undo, "reason": reason})

    def history(self, model: str) -> list[Event]:
        """Every change to a model, oldest first: version records and events together, in
        the order their numbers say (see store/versions/history.py)."""
        from modelyard.store.versions.history import merge

        created = [Event(seq=0, type="version.created", model=model, version=v.number,
                         at=v.created_at, user=v.record.get("created_by", {}).get("user", ""),
                         host=v.record.get("created_by", {}).get("host", ""), data={},
                         file_owner=v.written_by["owner"])
                   for v in self.versions(model)]
        events = []
        for row in self._db.execute(
                "SELECT e.*, o.name AS owner FROM events e JOIN models m ON m.id = e.model_id "
                "LEFT JOIN owners o ON o.kind = 'e' AND o.model_id = e.model_id "
                "AND o.number = e.seq WHERE m.name = ? ORDER BY e.seq", (model,)):
            events.append(Event(seq=row["seq"], type=row["type"], model=model,
                                version=row["version"], at=row["at"], user=row["user"],
                                host=row["host"], data=_json(row["data"]),
                                file_owner=row["owner"] or ""))
        out = merge(created, events)  # event and version numbers, never clocks, give order
        from modelyard.store.policy.violations import annotate_history

        annotate_history(self, model, out)  # moves that skipped a gate say so
        return out

    def diff(self, a: str, b: str) -> dict[str, Any]:
        from modelyard.store.versions.diff import diff_versions

        return diff_versions(self.get(a), self.get(b))

    def fsck(self, *, read_data: bool = False, temp_age: float | None = None):
        """Check records, events and blobs; remove temp files older than `temp_age` s."""
        from modelyard.store.check.fsck import STALE_TEMP_SECONDS, check_store

        return check_store(self, read_data=read_data,
                           temp_age=STALE_TEMP_SECONDS if temp_age is None else temp_age)

    def export(self, ref: str, dest: str | Path, *, layout: str = "runtime") -> Path:
        """Copy the version's files, verified, into `dest`: laid out for the serving runtime
        of its framework (`layout="runtime"`, see serving.py), or as stored ("files")."""
        from modelyard.store.versions.export import export_version

        return export_version(self.get(ref), Path(dest), layout=layout)

    def deploy_spec(self, ref: str, *, format: str = "kserve", storage_uri: str | None = None
                    ) -> str:
        """A deployment manifest for the version (KServe InferenceService YAML); the storage
        URI defaults to `settings.deploy_storage_base` (pvc://models) plus its export name."""
        from modelyard.store.versions.serving import deploy_spec

        base = str(self.config["settings"].get("deploy_storage_base") or "pvc://models")
        return deploy_spec(self.get(ref), format=format, storage_uri=storage_uri,
                           base_uri=base)

    def problems(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._db.execute("SELECT path, message FROM problems")]


def _json(text: str) -> dict:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return {}


def _quote(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else f'"{name}"'


def default_store_path() -> Path:
    """$MODELYARD_STORE, else a store under the user's data directory."""
    env = os.environ.get("MODELYARD_STORE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "modelyard" / "store"
