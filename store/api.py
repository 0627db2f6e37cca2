"""The Store: one object, noun accessors and plain verbs, in the style of sqlite-utils.

    store = Store.open("/shared/models")
    v = store.get("resnet@champion")
    for v in store.search("metrics.acc > 0.9 order by metrics.acc desc"): ...
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.store.disk import changes
from modelyard.store.disk.events import Event
from modelyard.store.disk.identity import current_user
from modelyard.store.disk.layout import (  # noqa: F401 (default_store_path: public here too)
    Layout,
    default_store_path,
    init_store,
    read_config,
)
from modelyard.store.errors import InvalidName, ModelNotFound, VersionNotFound
from modelyard.store.index import db as index_db
from modelyard.store.index import sync as index_sync
from modelyard.store.index.reads import Index
from modelyard.store.names import (
    check_alias,
    check_model_name,
    check_tag_key,
    mixed_script,
    parse_ref,
)
from modelyard.store.policy.context import PolicyContext
from modelyard.store.versions.version import Version

if TYPE_CHECKING:
    from modelyard.store.disk.blobs import BlobStore
    from modelyard.store.index.snapshot_restore import Restored
    from modelyard.store.ingest.batch import Prepared
    from modelyard.store.policy.model import HookSpec, Policy
    from modelyard.store.policy.report import CheckReport
    from modelyard.store.policy.service import PolicyService

# Writing (writer, blobs, card fields) and the policy engine (checks, gates, hooks) are
# imported by the verbs that need them: `ls` and `show` start in well under 150 ms. The
# index (store/index/reads.py) owns every SQL statement and connection; the policy engine
# is a service the Store composes (store/policy/service.py), made on first use.


@dataclass
class ModelInfo:
    name: str
    versions: int
    latest: int
    updated_at: str
    description: str = ""
    aliases: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # the model's own, not a version's

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "versions": self.versions, "latest": self.latest,
                "updated_at": self.updated_at, "description": self.description,
                "aliases": self.aliases, "tags": self.tags,
                "mixed_script": self.mixed_script}

    @property
    def mixed_script(self) -> bool:
        """The name mixes look-alike scripts (names.mixed_script): show a warning."""
        return mixed_script(self.name)


class Store:
    """A store on disk plus this host's index of it."""

    def __init__(self, root: Path, *, index: Path | None = None, sync: bool = True) -> None:
        self.root = Path(root).absolute()
        self.config = read_config(self.root)
        self.layout = Layout(self.root)
        self.index_path = Path(index) if index else index_db.default_index_path(
            self.root, self.config["store_id"])
        self.index = Index(self.index_path)  # opened on first use
        # a shared snapshot this host's new index started from (or a far-behind one, again)
        self.restored: Restored | None = None
        self.index.on_create = self._seed_from_snapshot
        self._policy_ctx = PolicyContext(self.layout, self.index, self.config)
        if sync:
            self.sync()

    def _seed_from_snapshot(self) -> None:
        """A new host (no index file yet) starts from the newest usable shared snapshot,
        then catches up from the change position it covers (store/index/snapshots.py)."""
        from modelyard.store.index.snapshot_restore import seed

        self.restored = seed(self.index_path, self.layout, self.config)

    @cached_property
    def blobs(self) -> BlobStore:
        from modelyard.store.disk.blobs import BlobStore

        return BlobStore(self.layout.blobs)

    @cached_property
    def _policy(self) -> PolicyService:
        from modelyard.store.policy.service import PolicyService

        return PolicyService(self._policy_ctx, write_event=self._event,
                             versions=self.versions, sync=self.sync)

    # lifecycle
    @classmethod
    def init(cls, path: str | Path, *, index: Path | None = None) -> Store:
        init_store(Path(path), user=current_user())
        return cls(Path(path), index=index, sync=False)  # nothing to index yet

    @classmethod
    def open(cls, path: str | Path, *, index: Path | None = None, sync: bool = True) -> Store:
        return cls(Path(path), index=index, sync=sync)

    def snapshot_check(self) -> dict[str, Any]:
        """How far the check of this host's index against the records has got, when the
        index was copied from a shared snapshot (store/index/snapshot_status.py)."""
        from modelyard.store.index.snapshot_status import snapshot_check

        return snapshot_check(self.index, self.index_path)

    def interrupt(self, thread_id: int) -> None:
        """Stop the query the connection of thread `thread_id` is running, if any (it raises
        sqlite3.OperationalError there): the app stops a search the user typed over."""
        self.index.interrupt(thread_id)

    def close(self) -> None:
        self.index.close()

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
        self._reseed_if_far_behind()
        if self._first_build_alone():
            report = self.index.rebuild(self.layout, progress=progress)
        else:
            report = self.index.catch_up(self.layout, full_listing=full, progress=progress)
        self._judge()
        return report

    def _first_build_alone(self) -> bool:
        """Whether this host's index is new and empty (no snapshot seeded it) while the
        store holds models, in a process of one thread: it is then built as `reindex`
        builds one (in a file beside it, by forked workers on a big store, swapped in when
        complete), not in place by one process. The app (threads) builds in place."""
        import threading

        from modelyard.store.index.sync import model_folders

        return (threading.active_count() == 1 and self.index.empty()
                and bool(model_folders(self.layout)))

    def _reseed_if_far_behind(self) -> None:
        """An index far behind the store (a host back after weeks away) starts again from a
        newer shared snapshot, as a new host does, instead of reading every record written
        since (store/index/snapshot_restore.py `far_behind_snapshot`). Only in a process of
        one thread (the CLI, a starting watcher): installing the copy closes every
        connection of the process, which another thread (the app's) may be using."""
        import threading

        from modelyard.store.index import snapshot_restore as restore

        if threading.active_count() > 1:
            return

        snap = restore.far_behind_snapshot(self.index_path, self.layout, self.config,
                                           self.index.changes_position())
        if snap is None:
            return
        local, outcome = restore.reseed(self.index_path, snap)
        if local is not None:
            self.index.install(local)
            restore.note_restore(self.index_path, self.root, outcome, reseeded=True)
        self.restored = outcome  # its warnings are printed by the CLI

    def _judge(self) -> None:
        """Judge new alias moves against their gates (store/policy/violations.py)."""
        from modelyard.store.policy.violations import judge_pending

        judge_pending(self._policy_ctx)

    def _sync_model(self, model: str) -> None:
        """Catch up one model, whatever the change counter says: before deduplicating
        against it and after writing to it (the next `sync` probes the rest)."""
        self.index.catch_up(self.layout, model=model)
        self._judge()

    def reindex(self) -> index_sync.SyncReport:
        """Rebuild the index from the files alone (it is only a cache) into a new file that
        replaces the old one, damaged or not, once complete: until then, or if the rebuild
        is killed, the old index keeps answering (see index/rebuild.py)."""
        report = self.index.rebuild(self.layout)
        self._judge()
        return report

    # reading
    def models(self, filter: str = "", *, order_by: str | Sequence[str] = ()
               ) -> list[ModelInfo]:
        """Every model by name, or those `filter` matches in the order `order_by` asks.

        Both are MLflow's registered-model search (`search_registered_models`), so its
        filters answer the same here: `name` and `tags.<key>` with =, !=, LIKE, ILIKE (and
        IN for the name), joined by AND; the order is `name`, `last_updated_timestamp` or
        `creation_timestamp`, asc or desc, as one text or a list (store/query/models_filter.py).
        A malformed filter raises QueryError with its column."""
        from modelyard.store.query.models_filter import compile_model_filter

        compiled = compile_model_filter(filter, order_by)
        aliases = self.index.aliases_by_model()
        tags = self.index.model_tags_by_model()
        return [ModelInfo(r["name"], r["n"], r["latest"], r["updated"], r["description"],
                          aliases.get(r["name"], {}), tags.get(r["name"], {}))
                for r in self.index.model_rows(compiled.where, compiled.params,
                                               order=compiled.order_by)]

    def keys(self, kind: str, *, by_frequency: bool = False) -> list[str]:
        """Distinct metric, param or tag keys, or alias names: for pickers and completion;
        `by_frequency` puts first the keys most of the newest 2,000 versions have."""
        return self.index.keys(kind, by_frequency=by_frequency)

    def model(self, name: str) -> ModelInfo:
        for info in self.models():
            if info.name == name:
                return info
        raise self._model_not_found(name)

    def versions(self, model: str) -> list[Version]:
        """Every version of one model, newest first."""
        found = [Version(self, row) for row in self.index.versions_of(model)]
        if not found:
            raise self._model_not_found(model)
        return found

    def search(self, query: str = "", *, limit: int | None = 100, offset: int = 0,
               model: str | None = None) -> list[Version]:
        """Versions matching the query language (see README), in its order; `model` narrows
        the search to one model whatever the query says. The planner in `index/search.py`
        drives from the most selective condition or walks the sort index, so the first page
        stays fast at a million versions."""
        rows = self.index.search(query, limit=limit, offset=offset, model=model,
                                 now_ms=int(time.time() * 1000))
        return [Version(self, row) for row in rows]

    def count(self, query: str = "", *, model: str | None = None) -> int:
        return self.index.count(query, model=model, now_ms=int(time.time() * 1000))

    def get(self, ref: str) -> Version:
        """`resnet` (latest), `resnet:3` or `resnet@champion`."""
        parsed = parse_ref(ref)
        if parsed.alias is not None:
            row = self.index.aliased(parsed.model, parsed.alias)
        elif parsed.version is not None:
            row = self.index.version(parsed.model, parsed.version)
        else:
            row = self.index.latest(parsed.model)
        if row is not None:
            return Version(self, row)
        if not self.index.has_model(parsed.model):
            raise self._model_not_found(parsed.model)
        what = f"alias @{parsed.alias}" if parsed.alias else f"version {parsed.version}"
        raise VersionNotFound(f"{parsed.model} has no {what}; list its versions with "
                              f"`modelyard ls model:{_quote(parsed.model)}`")

    def _model_not_found(self, name: str) -> ModelNotFound:
        import difflib

        names = self.index.model_names()
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
        from modelyard.store.ingest import batch

        prepared = batch.prepare(self, model, files=files, metric_series=metric_series,
                                 source=source, consume=consume, **card)
        return self._commit([prepared], dedupe)[0]

    def commit_prepared(self, prepared: list[Prepared], *, dedupe: bool = True
                        ) -> list[Version | Exception]:
        """Record versions prepared by `ingest.batch.prepare` (the watcher prepares each
        drop's under its claim, then commits a pass's at once); see batch.commit."""
        from modelyard.store.ingest import batch

        return batch.commit(self, prepared, dedupe=dedupe, judge=self._judge,
                            check_new=self._policy.check_new)

    def add_versions(self, items: Iterable[Mapping[str, Any]], *, dedupe: bool = True
                     ) -> list[Version]:
        """Record many versions at once: each item holds `add_version`'s arguments, its
        `model` included. Faster than one at a time (one group commit, one index catch-up
        and one policy pass per model: see store/ingest/batch.py). Every item is checked
        and its files stored before any version is recorded, so an invalid item (named in
        the error) records nothing; a storage failure midway may leave the versions before
        it recorded, each whole, and adding the same items again deduplicates them."""
        from modelyard.store.ingest import batch

        return self._commit(batch.prepare_each(self, items), dedupe)

    def _commit(self, prepared: list[Prepared], dedupe: bool) -> list[Version]:
        """The committed versions, or the first error a record's link check raised (a
        drop's ingester losing its claim: see writer.BEFORE_LINK)."""
        versions = []
        for result in self.commit_prepared(prepared, dedupe=dedupe):
            if isinstance(result, Exception):
                raise result
            versions.append(result)
        return versions

    def _event(self, model: str, type_: str, version: int | None, data: dict) -> Event:
        from modelyard.store.disk.events import append_event

        seen = self.index.events_seen(model)
        folder = self.layout.model_dir(model).name
        changes.note(self.layout.models, folder)
        event = append_event(self.layout, model, type_, version, data, hint=seen)
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
        from modelyard.store.policy.errors import AliasRefused

        check_alias(alias)
        v = self.get(ref)
        data: dict[str, Any] = {"alias": alias}
        failing = self._policy.gate(v, alias)
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
        previous = self.index.alias_target(v.model, alias)
        event = self._event(v.model, "alias.set", v.number, data)
        policy_hooks.fire(self._policy, "alias.set", event, model=v.model, version=v.number,
                          alias=alias, extra={"previous": previous})
        return event

    def remove_alias(self, model: str, alias: str) -> Event:
        from modelyard.store.policy import hooks as policy_hooks

        check_model_name(model)
        previous = self.index.alias_target(model, alias)
        if previous is None:
            self.versions(model)  # raises ModelNotFound first when that is the problem
            raise VersionNotFound(f"{model} has no alias @{alias} to remove")
        event = self._event(model, "alias.removed", None, {"alias": alias})
        policy_hooks.fire(self._policy, "alias.removed", event, model=model, version=previous,
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

    def describe_model(self, name: str, text: str) -> Event:
        """The model's own description (shown by `models`), not any version's."""
        if len(text) > 100_000:
            raise InvalidName("a description is limited to 100,000 characters")
        return self._event(self.model(name).name, "description.set", None, {"text": text})

    def tag_model(self, name: str, key: str, value: str = "") -> Event:
        """A tag of the model itself (an MLflow registered model's tags), not any version's."""
        check_tag_key(key)
        return self._event(self.model(name).name, "tag.set", None,
                           {"key": key, "value": str(value)})

    def untag_model(self, name: str, key: str) -> Event:
        info = self.model(name)
        if key not in info.tags:
            raise InvalidName(f"model {info.name} has no tag {key!r}; its tags: "
                              f"{', '.join(info.tags) or 'none'}")
        return self._event(info.name, "tag.removed", None, {"key": key})

    def _recheck(self, version: Version) -> None:
        self._policy.check_changed(self.get(version.ref))  # fresh: an event changed it

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
        for row in self.index.event_rows(model):
            events.append(Event(seq=row["seq"], type=row["type"], model=model,
                                version=row["version"], at=row["at"], user=row["user"],
                                host=row["host"], data=_json(row["data"]),
                                file_owner=row["owner"] or ""))
        out = merge(created, events)  # event and version numbers, never clocks, give order
        from modelyard.store.policy.violations import annotate_history

        annotate_history(self._policy_ctx, model, out)  # moves that skipped a gate say so
        return out

    def diff(self, a: str, b: str) -> dict[str, Any]:
        from modelyard.store.versions.diff import diff_versions

        return diff_versions(self.get(a), self.get(b))

    def fsck(self, *, read_data: bool = False, temp_age: float | None = None):
        """Check records, events and blobs; remove temp files older than `temp_age` s."""
        from modelyard.store.check import integrity
        from modelyard.store.check.fsck import STALE_TEMP_SECONDS, check_store
        from modelyard.store.policy.violations import fsck_problems

        report = check_store(self.layout, self.index, self.blobs, read_data=read_data,
                             temp_age=STALE_TEMP_SECONDS if temp_age is None else temp_age)
        report.problems += fsck_problems(self._policy_ctx)  # moves and policies past a gate
        integrity.remember(self.index, report)
        return report

    def export(self, ref: str, dest: str | Path, *, layout: str = "runtime") -> Path:
        """Copy the version's files, verified, into `dest`: laid out for the serving runtime
        of its framework (`layout="runtime"`, see serving.py), or as stored ("files")."""
        from modelyard.store.versions.export import export_version

        return export_version(self.get(ref), Path(dest), self.blobs, layout=layout)

    def deploy_spec(self, ref: str, *, format: str = "kserve", storage_uri: str | None = None
                    ) -> str:
        """A deployment manifest for the version (KServe InferenceService YAML); the storage
        URI defaults to `settings.deploy_storage_base` (pvc://models) plus its export name."""
        from modelyard.store.versions.serving import deploy_spec

        base = str(self.config["settings"].get("deploy_storage_base") or "pvc://models")
        return deploy_spec(self.get(ref), format=format, storage_uri=storage_uri,
                           base_uri=base)

    def problems(self) -> list[tuple[str, str]]:
        return self.index.problems()

    # policy: the policy in force and its history, setting a new one, checks and their
    # stored results (gates and hooks are part of the verbs that trigger them, above)
    def policy(self) -> Policy | None:
        """The policy in force (the newest policy file), or None when none was ever set."""
        return self._policy.current()

    def policy_history(self) -> list[Policy]:
        """Every policy version, oldest first, each with its number, set_at and set_by."""
        from modelyard.store.policy import files

        return [files.read_policy(self.root, n) for n in files.policy_numbers(self.root)]

    def set_policy(self, source: str | Path | Mapping[str, Any], *, recheck: bool = True
                   ) -> Policy:
        """Write a new policy version from a file (`Path`), YAML text (`str`) or data, then
        re-check every version against it. A bad policy raises PolicyError naming the
        field, and nothing is written."""
        from modelyard.store.policy import files
        from modelyard.store.policy.loader import load_policy

        written = files.write_policy(self.root, load_policy(source))
        assert written.number is not None
        self._policy_ctx.cache[written.number] = written
        if recheck:
            self._policy.recheck()
        return written

    def check(self, ref: str | Version, *, record: bool = True) -> CheckReport:
        """Check a version against the policy in force now: every rule that applies, with
        its verdict and findings. With `record`, verdicts that differ from the stored ones
        are written as a `policy.checked` event (so the index and queries agree)."""
        return self._policy.check(self._version(ref), record=record)

    def check_results(self, ref: str | Version) -> CheckReport:
        """The stored verdicts of the version's last check: what `policy:` queries see."""
        version = self._version(ref)
        return self._policy.stored(version.id, version.ref)

    def policy_state(self, version: Version) -> str:
        """'violation', 'failing', 'warning', 'passing' or 'unchecked': one indexed lookup,
        for tables (defined in store/query/policy_states.py, as `policy:` queries are)."""
        return self.index.policy_state(version.id)

    def recheck(self, *, all_versions: bool = False) -> int:
        """Check versions whose results predate the policy in force (or all of them);
        returns how many. `set_policy` does it; run it after a crash or periodically."""
        return self._policy.recheck(all_versions=all_versions)

    def policy_violations(self, model: str | None = None) -> list[dict[str, Any]]:
        """Alias moves that skipped their gate with no recorded --force reason: model, seq,
        alias, ref and message (see violations.py); a model's, or the whole store's."""
        from modelyard.store.policy import violations

        return violations.alias_violations(self._policy_ctx, model)

    def policy_changes(self) -> list[dict[str, Any]]:
        """Each policy version with whether it weakens a gate and who owns its file; those
        `flagged` weaken one and are not by a policy admin."""
        from modelyard.store.policy import violations

        return [c.to_dict() for c in violations.gate_history(self._policy_ctx).changes]

    def hooks(self) -> list[HookSpec]:
        """The hooks in force: the store config's `settings.hooks`, then the policy's."""
        from modelyard.store.policy import hooks

        return hooks.configured_hooks(self._policy)

    def _version(self, ref: str | Version) -> Version:
        return ref if not isinstance(ref, str) else self.get(ref)


def _json(text: str) -> dict:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return {}


def _quote(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else f'"{name}"'
