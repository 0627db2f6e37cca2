"""Import an MLflow tracking store as a sync, so it can be imported again as MLflow changes.

A version is known by its MLflow identity, kept in its record's origin: the tracking store
(`tracking_store`, MLflow's URI of the imported path), the registered model, the version
number and the run. A version seen before is never added again: what MLflow changed since
(tags, description, stage, aliases, a deleted run) becomes events on it, each marked
`{"mlflow": {"tracking_store": ...}}` so the next import can tell MLflow's changes from edits
made here, which it keeps. A version deleted in MLflow is not imported; one imported earlier
is deprecated with the reason. A change of the version's own description or stage, and its
deletion, carry the version's last-update time in MLflow (the time of its latest such
change). MLflow records no time for tag and alias changes, and no user for any registry
change: those events carry the importer's.

Versions imported before the identity was recorded (no `tracking_store`) are recognised by
registered model, version number and run, and so is a store that was moved or copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.store.disk.clock import frozen_at
from modelyard.store.disk.events import Event, extra_data
from modelyard.store.errors import InvalidManifest, InvalidName, ModelNotFound, ModelyardError
from modelyard.store.ingest.mlflow.artifacts import max_artifact_bytes as max_artifact_bytes_of
from modelyard.store.ingest.mlflow.common import (
    RegisteredRecord,
    TrackingBackend,
    VersionRecord,
)
from modelyard.store.ingest.mlflow.report import ImportReport
from modelyard.store.ingest.mlflow.tracking import close_backend, folder_version, open_backend
from modelyard.store.names import check_alias

if TYPE_CHECKING:
    from modelyard.store.api import Store
    from modelyard.store.versions.version import Version

Progress = Callable[[int, int, str], None]  # versions done, versions in all, the current one


def sync_mlflow(store: Store, path: Path, *, progress: Progress | None = None,
                max_artifact_bytes: int | None = None) -> ImportReport:
    """Bring `store` up to date with the MLflow tracking store at `path`. Run artifacts
    above `max_artifact_bytes` (default: the store setting `mlflow_artifact_max_bytes`,
    else 100 MiB) are recorded as references, not copied."""
    backend = open_backend(Path(path))
    report = ImportReport(backend.uri)
    report.max_artifact_bytes = max_artifact_bytes_of(store.config.get("settings"),
                                                      max_artifact_bytes)
    try:
        models = sorted(backend.registered_models(), key=lambda m: m.name)
        total, done = sum(len(m.versions) for m in models), 0
        with extra_data(mlflow={"tracking_store": backend.uri}):
            for model in models:
                done = _sync_model(store, backend, model, report, progress, done, total)
            _deprecate_vanished_models(store, backend.uri, {m.name for m in models}, report)
    finally:
        close_backend(backend)
    return report


class _Known:
    """The versions of one model imported from MLflow before, and what MLflow said then."""

    def __init__(self, store: Store, name: str, uri: str) -> None:
        self.uri = uri
        try:
            versions = list(reversed(store.versions(name)))
        except ModelNotFound:
            versions = []
        self.imported = [v for v in versions if v.origin.get("kind") == "mlflow"
                         and v.origin.get("registered_model") == name]
        self.by_identity: dict[tuple[Any, str], list[Version]] = {}
        for v in self.imported:
            key = (v.origin.get("model_version"), v.origin.get("run_id", ""))
            self.by_identity.setdefault(key, []).append(v)
        history = store.history(name) if versions else []
        self.events = sorted((e for e in history if e.seq), key=lambda e: e.seq)
        self.marked = [e for e in self.events if self.is_marked(e)]
        self.marked_of: dict[int | None, list[Event]] = {}
        for e in self.marked:
            self.marked_of.setdefault(e.version, []).append(e)
        self.alias_events: dict[str, list[Event]] = {}
        for e in self.events:
            if e.type.startswith("alias."):
                self.alias_events.setdefault(str(e.data.get("alias")), []).append(e)
        self.used: set[int] = set()

    def is_marked(self, e: Event) -> bool:
        """Written by an import of this tracking store."""
        return (e.data.get("mlflow") or {}).get("tracking_store") == self.uri

    def mine(self, v: Version) -> bool:
        return v.origin.get("tracking_store") == self.uri

    def match(self, origin: dict[str, Any]) -> Version | None:
        """The version imported before with this identity (this store first, then by run)."""
        run = origin.get("run_id", "")
        same = [v for v in self.by_identity.get((origin.get("model_version"), run), [])
                if v.number not in self.used]
        found = next((v for v in same if self.mine(v)), None)
        if found is None and run:
            found = next((v for v in same if not self.mine(v)), None)
        if found is not None:
            self.used.add(found.number)
        return found

    def mlflow_state(self, v: Version) -> tuple[dict[str, str], str]:
        """Tags and description as MLflow had them at the last import."""
        tags, text = dict(v.record.get("tags") or {}), str(v.record.get("description") or "")
        for e in self.marked_of.get(v.number, []):
            if e.type == "tag.set":
                tags[e.data["key"]] = e.data.get("value", "")
            elif e.type == "tag.removed":
                tags.pop(e.data.get("key", ""), None)  # a tag key is never empty
            elif e.type == "description.set":
                text = e.data.get("text", "")
        return tags, text

    def model_state(self) -> tuple[dict[str, str], str]:
        """The model's own tags and description as MLflow had them at the last import."""
        tags: dict[str, str] = {}
        text = ""
        for e in self.marked_of.get(None, []):
            if e.type == "tag.set":
                tags[e.data["key"]] = e.data.get("value", "")
            elif e.type == "tag.removed":
                tags.pop(e.data.get("key", ""), None)  # a tag key is never empty
            elif e.type == "description.set":
                text = e.data.get("text", "")
        return tags, text

    def deprecated_by_mlflow(self, v: Version) -> bool:
        return any(e.type == "deprecated.set" for e in self.marked_of.get(v.number, []))

    def mlflow_alias(self, alias: str) -> Event | None:
        """The last alias event an import of this store wrote for `alias`."""
        found = [e for e in self.alias_events.get(alias, []) if self.is_marked(e)]
        return found[-1] if found else None

    def last_alias_event(self, alias: str) -> Event | None:
        found = self.alias_events.get(alias)
        return found[-1] if found else None


def _sync_model(store: Store, backend: TrackingBackend, model: RegisteredRecord,
                report: ImportReport, progress: Progress | None, done: int, total: int) -> int:
    known = _Known(store, model.name, backend.uri)
    claimed: dict[int, Version] = {}
    for record in model.versions:
        done += 1
        if progress:
            progress(done, total, f"{model.name} version {record.version}")
        if record.deleted:
            continue
        what = f"{model.name} version {record.version}"
        try:
            fv = folder_version(backend, model, record,
                                max_artifact_bytes=report.max_artifact_bytes)
            version = known.match(fv.card["origin"])
            if version is None:
                _name_parent_versions(store, fv.card)
                version = store.add_version(fv.model, files=fv.files,
                                            metric_series=fv.metric_series, source=fv.source,
                                            **fv.card)
                if not version.deduplicated:
                    report.created.append(version.ref)
                    for ref in fv.card["origin"].get("artifact_references", []):
                        report.referenced.append({"ref": version.ref, **ref})
        except (InvalidManifest, InvalidName) as exc:
            report.skip(what, str(exc))  # and one imported before is left as it is
            continue
        if version.ref not in report.created:
            _sync_version(store, version, fv.card, record, known, report)
        for alias in fv.card["origin"].get("skipped_aliases", []):
            report.skip(f"{model.name} @{alias}", "not a valid modelyard alias name")
        claimed[record.version] = store.get(version.ref)
        report.versions.append(claimed[record.version])
    _sync_aliases(store, model, claimed, known, report)
    _deprecate_deleted(store, model, claimed, known, report)
    if claimed:
        _sync_model_meta(store, model, known, report)
    return done


def _name_parent_versions(store: Store, card: dict[str, Any]) -> None:
    """A nested run's parent run that trained a version already here: the parent is that
    version (`churn:3`), not the outside `mlflow-run:<id>`."""
    for parent in card.get("parents", []):
        run_id = parent["ref"].removeprefix("mlflow-run:")
        if parent.get("relation") != "child-of-run" or not run_id.isalnum():
            continue
        found = store.search(f"attributes.run_id = '{run_id}'", limit=1)
        if found:
            parent["ref"] = found[0].ref


def _sync_model_meta(store: Store, model: RegisteredRecord, known: _Known,
                     report: ImportReport) -> None:
    """The registered model's own tags and description: the model's here too (`models`),
    replayed as MLflow changes them; a change made here to one MLflow did not change stays."""
    was_tags, was_text = known.model_state()
    info = store.model(model.name)
    changes: list[tuple[str, Callable[[], object]]] = []
    for key, value in sorted(model.tags.items()):
        if was_tags.get(key) != value and info.tags.get(key) != value:
            changes.append((f"model tag {key}={value}",
                            partial(store.tag_model, model.name, key, value)))
    for key in sorted(set(was_tags) - set(model.tags)):
        if key in info.tags:
            changes.append((f"model tag {key} removed",
                            partial(store.untag_model, model.name, key)))
    text = model.description or ""
    if text != was_text and info.description != text:
        changes.append(("model description",
                        lambda: store.describe_model(model.name, text)))
    for what, change in changes:
        if _apply(report, model.name, what, None, None, change):
            report.change(model.name, what)


def _sync_version(store: Store, v: Version, card: dict[str, Any], record: VersionRecord,
                  known: _Known, report: ImportReport) -> None:
    """Replay what MLflow changed since the last import; keep what was edited here."""
    was_tags, was_text = known.mlflow_state(v)
    now_tags, now_text = card["tags"], card["description"]
    current = store.get(v.ref)
    changes: list[tuple[str, int | None, Callable[[], object]]] = []
    for key, value in now_tags.items():
        if was_tags.get(key) != value and current.tags.get(key) != value:
            changes.append((f"tag {key}={value}",
                            record.last_updated_ms if key == "mlflow.stage" else None,
                            partial(store.tag, v.ref, key, value)))
    run_gone = bool(card["origin"].get("missing_run"))  # purged (`mlflow gc`): its tags
    for key in sorted(set(was_tags) - set(now_tags)):  # are unknown now, not removed
        if key in current.tags and not run_gone:
            changes.append((f"tag {key} removed", None,
                            partial(store.untag, v.ref, key)))
    if now_text != was_text and current.description != now_text and not (
            run_gone and not record.description):  # not the run's note, now unknown
        own = bool(record.description) and now_text == record.description  # not the model's
        changes.append(("description", record.last_updated_ms if own else None,
                        lambda: store.describe(v.ref, now_text)))
    for what, ms, change in changes:
        if _apply(report, v.ref, what, ms, record, change):
            report.change(v.ref, what)


def _apply(report: ImportReport, ref: str, what: str, ms: int | None,
           record: VersionRecord | None, change: Callable[[], object]) -> bool:
    """One change, at MLflow's time if it has one; one that is refused is reported."""
    try:
        with _mlflow_time(ms, record):
            change()
    except ModelyardError as exc:
        report.skip(f"{ref}: {what}", str(exc))
        return False
    return True


def _sync_aliases(store: Store, model: RegisteredRecord, claimed: dict[int, Version],
                  known: _Known, report: ImportReport) -> None:
    """Aliases MLflow set or moved since the last import are set here (gates apply: a
    refusal is reported); those it deleted are removed if the import had set them."""
    wanted: dict[str, Version] = {}
    for alias, number in sorted(model.aliases.items()):
        try:
            check_alias(alias)
        except InvalidName:
            continue  # reported with its version
        if number in claimed:
            wanted[alias] = claimed[number]
    current = _current_aliases(store, model.name)
    for alias, target in wanted.items():
        last = known.mlflow_alias(alias)
        mlflow_before = last.version if last is not None and last.type == "alias.set" else None
        if current.get(alias) == target.number or mlflow_before == target.number:
            continue  # in place, or MLflow has not moved it since (a move here is kept)
        if _apply(report, target.ref, f"@{alias} set", None, None,
                  partial(store.set_alias, target.ref, alias)):
            report.change(target.ref, f"@{alias} set")
    legacy = not known.marked and bool(known.imported)
    imported = {v.number for v in known.imported} | {v.number for v in claimed.values()}
    for alias, number in sorted(current.items()):
        if alias in model.aliases:
            continue  # MLflow still has it (perhaps on a version not read this time)
        last = known.last_alias_event(alias)
        ours = last is not None and known.is_marked(last) and last.type == "alias.set"
        ref, what = f"{model.name}:{number}", f"@{alias} removed (deleted in MLflow)"
        if (ours or (legacy and number in imported)) and _apply(
                report, ref, what, None, None,
                partial(store.remove_alias, model.name, alias)):
            report.change(ref, what)


def _current_aliases(store: Store, model: str) -> dict[str, int]:
    try:
        return {a: v.number for v in store.versions(model) for a in v.aliases}
    except ModelNotFound:
        return {}


def _deprecate_deleted(store: Store, model: RegisteredRecord, claimed: dict[int, Version],
                       known: _Known, report: ImportReport) -> None:
    """Versions imported before that MLflow deleted (or no longer has) are deprecated. One
    whose MLflow version could not be read this time is left as it is."""
    live = {v.number for v in claimed.values()}
    unread = {r.version for r in model.versions if not r.deleted} - set(claimed)
    deleted = {r.version: r for r in model.versions if r.deleted}
    for v in known.imported:
        number = v.origin.get("model_version")
        if v.number in live or number in unread or not (known.mine(v) or number in deleted):
            continue
        if store.get(v.ref).deprecated or known.deprecated_by_mlflow(v):
            continue
        record = deleted.get(number) if isinstance(number, int) else None
        reason = (f"deleted in MLflow: {model.name} version {number} ({known.uri})"
                  if record else f"gone from MLflow: {known.uri} no longer has "
                  f"{model.name} version {number} of run {v.origin.get('run_id') or '?'}")
        if _apply(report, v.ref, "deprecated", record.last_updated_ms if record else None,
                  record, partial(store.deprecate, v.ref, reason=reason)):
            report.deprecated[v.ref] = reason


def _deprecate_vanished_models(store: Store, uri: str, names: set[str],
                               report: ImportReport) -> None:
    """Versions of registered models MLflow no longer has at all."""
    try:
        found = store.search("has:tags.mlflow.model_version", limit=None)
    except ModelyardError:
        return
    for v in found:
        if v.deprecated or v.model in names:
            continue  # a model MLflow still has was synced above
        origin = v.origin
        if (origin.get("kind") != "mlflow" or origin.get("tracking_store") != uri
                or origin.get("registered_model") in names):
            continue
        reason = (f"gone from MLflow: {uri} no longer has the registered model "
                  f"{origin.get('registered_model')}")
        store.deprecate(v.ref, reason=reason)
        report.deprecated[v.ref] = reason


@contextmanager
def _mlflow_time(ms: int | None, record: VersionRecord | None) -> Iterator[None]:
    """Stamp the events written inside with MLflow's time of the change, when it has one
    (and it is not before MLflow created the version: such a clock is not believed)."""
    created = record.creation_ms if record is not None else None
    if not isinstance(ms, int) or ms <= 0 or (isinstance(created, int) and ms < created):
        yield
        return
    with frozen_at(datetime.fromtimestamp(ms / 1000, UTC)):
        yield


def import_mlflow(store: Store, path: Path, **options: Any) -> ImportReport:
    """Sync every registered version into `store`; see `sync_mlflow`."""
    return sync_mlflow(store, Path(path), **options)
