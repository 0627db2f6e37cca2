"""The writer SDK: record a training run and drop the finished model into a store.

    with new_version("resnet", store="/shared/models") as v:
        v.log_params(lr=0.1, optimizer={"name": "adam"})
        for loss in train():
            v.log_metric("loss", loss)
        v.add_file("model.safetensors")

It needs only the shared filesystem (no index, no lock, no SQLite), so it runs on any GPU
host. Everything waits in memory and is written once at exit, as a drop folder built hidden
under `<store>/drops/.tmp-...`, fsynced, marked COMPLETE and renamed into place: a drop
watcher never sees half a drop. A metric point costs a few array appends, no I/O. Each call
checks its input at once, so a bad value fails on the line that logged it, not hours later
at exit. Log from one process (rank 0 in distributed training).
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import os
import platform
import re
import shutil
import sys
import time
import uuid
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from . import atomic, clock, sdk_source, series
from .card import check_card
from .errors import InvalidManifest, NotAStore, ReadOnlyStore
from .identity import current_host, current_user
from .layout import read_config
from .manifest import MANIFEST_NAMES
from .names import check_model_name, model_dirname, unsafe_char
from .writer import safe_relpath

MANIFEST = "modelyard.json"
COMPLETE = "COMPLETE"
INTERNAL = "_modelyard"  # the SDK's own files inside a drop
SERIES_FILE = f"{INTERNAL}/metrics.parquet"
DIFF_FILE = f"{INTERNAL}/git.diff"
RESERVED = {*MANIFEST_NAMES, COMPLETE, INTERNAL}
PathLike = str | os.PathLike


def new_version(model: str, store: PathLike | None = None, *,
                keep_failed: bool = False) -> NewVersion:
    """Start recording a version of `model` in `store` (default: $MODELYARD_STORE).

    Use it as a context manager. With `keep_failed`, a block that raises still leaves a
    drop, marked training.status "failed" and tag failed=true; the exception propagates.
    """
    return NewVersion(model, store, keep_failed=keep_failed)


class NewVersion:
    """One training run on its way to becoming a store version."""

    def __init__(self, model: str, store: PathLike | None = None, *,
                 keep_failed: bool = False) -> None:
        self.model = check_model_name(model)
        self.store = _store_root(store)
        self.drops_dir = _drops_dir(self.store)  # fails now, not after hours of training
        self.keep_failed = keep_failed
        self.run_id = uuid.uuid4().hex
        self.drop_path: Path | None = None
        self._closed = False
        self._training: dict[str, Any] = {}
        self._card: dict[str, Any] = {"description": "", "tags": {}, "params": {},
                                      "features": [], "datasets": [], "parents": [],
                                      "charts": {}, "summary": {}, "serving": {}}
        self._series: dict[str, tuple[array, array, array]] = {}
        self._files: dict[str, Path] = {}
        self._source = sdk_source.SourceSnapshot()

    def __repr__(self) -> str:
        return f"<NewVersion {self.model} run {self.run_id[:8]} in {self.store}>"

    # lifecycle
    def __enter__(self) -> NewVersion:
        if self._training or self._closed:
            raise RuntimeError("a NewVersion can be entered once; call new_version() again")
        self._training = {"user": current_user(), "host": current_host(),
                          "started_at": clock.now_iso(), "run_id": self.run_id}
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        self._closed = True
        failure = None if exc is None or _clean_exit(exc) else exc
        if failure is not None and not self.keep_failed:
            return False
        try:
            self.drop_path = self._write_drop(failure)
        except Exception as err:
            if exc is None:
                raise
            exc.add_note(f"modelyard: the failed run's drop could not be written: {err}")
        return False

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"this version of {self.model} is closed (drop: "
                               f"{self.drop_path}); start another with new_version()")

    # metrics: the hot path, kept to a few appends
    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record one point; `step` defaults to this key's last step + 1 (0 at first)."""
        if self._closed:
            self._check_open()
        points = self._series.get(key) or self._new_series(key)
        steps, values, stamps = points
        try:
            number = float(value)
            at = (steps[-1] + 1 if steps else 0) if step is None else operator.index(step)
        except (TypeError, ValueError):
            raise InvalidManifest(f"log_metric({key!r}, {value!r}, step={step!r}): the value "
                                  "must be a number and the step a whole number") from None
        if isinstance(value, (str, bytes)):
            raise InvalidManifest(f"log_metric({key!r}): {value!r} is text; log a number")
        steps.append(at)
        values.append(number)
        stamps.append(time.time_ns() // 1_000_000)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record several metrics at one step (or each at its own next step)."""
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def _new_series(self, key: str) -> tuple[array, array, array]:
        if not isinstance(key, str) or not key or len(key) > 1000 or unsafe_char(key):
            raise InvalidManifest(f"metric name {key!r} must be 1-1000 printable characters")
        points = (array("q"), array("d"), array("q"))
        self._series[key] = points
        return points

    # descriptive fields: converted to plain JSON and checked by the store's own rules
    def log_params(self, params: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """Merge hyper-parameters (nesting allowed) into what was logged before."""
        self._check_open()
        _deep_merge(self._card["params"], plain_value({**(params or {}), **more}))

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def set_description(self, text: str) -> None:
        self._set("description", text)

    def set_tags(self, tags: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """Merge tags; values are stored as text (True becomes "true")."""
        given = {str(k): _tag_text(v) for k, v in {**(tags or {}), **more}.items()}
        self._set("tags", {**self._card["tags"], **given})

    def set_features(self, features: Iterable[str | Mapping[str, Any]]) -> None:
        """The model's input features: names, or {name, type} mappings."""
        self._set("features", plain_value(list(features)))

    def summary(self, values: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """Merge summary statistics such as param_count or train_rows."""
        self._set("summary", {**self._card["summary"], **plain_value({**(values or {}),
                                                                      **more})})

    def set_serving(self, framework: str | None = None, signature: Mapping | None = None,
                    resources: Mapping | None = None, **extra: Any) -> None:
        """How to serve the model; merged with earlier calls, None leaves a field as is."""
        given = {"framework": framework, "signature": signature, "resources": resources,
                 **extra}
        update = plain_value({k: v for k, v in given.items() if v is not None})
        self._set("serving", {**self._card["serving"], **update})

    def set_parent(self, ref: str, relation: str = "derived-from") -> None:
        """Name a version this one came from; call again for more parents."""
        self._check_open()
        entry = {"ref": ref, "relation": relation}
        check_card({"parents": [entry]})
        parents = [p for p in self._card["parents"] if p["ref"] != ref]
        self._card["parents"] = [*parents, entry]

    def add_dataset(self, name: str, uri: PathLike, digest: str | None = None,
                    role: str = "train", rows: int | None = None) -> None:
        """Record a data set; a local file without `digest` is hashed now (sha256)."""
        self._check_open()
        entry = {"role": role, "name": name,
                 **sdk_source.dataset_facts(os.fspath(uri), hash_it=digest is None)}
        if digest is not None:
            entry["digest"] = str(digest)
        if rows is not None:
            entry["rows"] = operator.index(rows)
        check_card({"datasets": [entry]})
        self._card["datasets"].append(entry)

    # charts
    def log_chart(self, kind: str, **data: Any) -> None:
        """A chart by kind: roc (fpr, tpr, auc), pr (precision, recall, ap), and the others
        the store knows (confusion_matrix, feature_importance, feature_stats, calibration)."""
        if kind == "confusion_matrix":
            return self.log_confusion_matrix(**data)
        if kind == "feature_importance":
            return self.log_feature_importance(data)
        data = _tolists(data)
        for key in ("auc", "ap"):
            if key in data:
                data[key] = _finite_or_none(data[key])
        self._set_chart(kind, data)

    def log_confusion_matrix(self, matrix: Any, labels: Iterable[Any] | None = None) -> None:
        """Rows are true classes, columns predicted ones; labels default to 0..n-1."""
        rows = _tolists(matrix)
        names = ([str(x) for x in _tolists(labels)] if labels is not None else
                 [str(i) for i in range(len(rows))] if isinstance(rows, list) else [])
        self._set_chart("confusion_matrix", {"labels": names, "matrix": rows})

    def log_feature_importance(self, importance: Mapping[str, float]) -> None:
        """{feature: score}; kept in that shape so the manifest stays readable."""
        self._check_open()
        data = {str(k): _finite_or_none(v) or 0.0 for k, v in _tolists(importance).items()}
        check_card({"charts": {"feature_importance": data}})
        self._card["charts"]["feature_importance"] = data

    def log_feature_stats(self, stats: Mapping[str, Any]) -> None:
        """Per feature: count, mean, std, min, max, histogram {edges, counts}."""
        self._set_chart("feature_stats", plain_value(dict(stats)))

    def _set_chart(self, kind: str, data: Any) -> None:
        self._check_open()
        self._card["charts"][kind] = check_card({"charts": {kind: data}})["charts"][kind]

    def _set(self, field: str, value: Any) -> None:
        self._check_open()
        check_card({field: value})
        self._card[field] = value

    # files and source
    def add_file(self, path: PathLike, name: str | None = None) -> None:
        """Copy `path` into the drop at exit, as `name` (default: its file name). A folder
        adds the files it holds now, under `name` (default: its name; "" for the top)."""
        self._check_open()
        src = Path(path).absolute()
        if not src.exists():
            raise FileNotFoundError(f"add_file: {src} does not exist; save it before adding")
        if src.is_dir():
            prefix = src.name if name is None else name.strip("/")
            inside = {f.relative_to(src).as_posix(): f for f in sdk_source.files_under(src)}
            found = {f"{prefix}/{rel}" if prefix else rel: f for rel, f in inside.items()}
        else:
            found = {name or src.name: src}
        self._files.update(self._claim(found, "add_file"))

    def add_source(self, paths: PathLike | Iterable[PathLike] = "auto", *,
                   git: bool = True) -> None:
        """Snapshot training code now, with the git state of its repository. "auto" takes
        the `__main__` script and the calling file."""
        self._check_open()
        if isinstance(paths, str) and paths == "auto":
            targets = sdk_source.calling_scripts(sys._getframe(1).f_code.co_filename)
        elif isinstance(paths, (str, os.PathLike)):
            targets = [Path(paths)]
        else:
            targets = [Path(p) for p in paths]
        snap = sdk_source.capture(targets, with_git=git)
        claimed = self._claim(snap.origins, "add_source")
        self._source.origins.update(claimed)
        self._source.files.update({rel: snap.files[old] for rel, old in
                                   zip(claimed, snap.origins, strict=True)})
        self._source.git = self._source.git or snap.git
        self._source.entrypoint = self._source.entrypoint or snap.entrypoint

    def _claim(self, wanted: Mapping[str, Path], where: str) -> dict[str, Path]:
        """Names in the drop for files, checked all at once (a refusal changes nothing):
        reserved names and one name for two different files are refused."""
        out: dict[str, Path] = {}
        for name, origin in wanted.items():
            rel, origin = safe_relpath(name, where), Path(os.path.realpath(origin))
            if rel in RESERVED or rel.startswith(INTERNAL + "/"):
                raise InvalidManifest(f"{where}: {rel!r} is reserved for the drop's own files; "
                                      "pass add_file(..., name=...) to store it elsewhere")
            for taken in (self._files, self._source.origins, out):
                if taken.get(rel, origin) != origin:
                    raise InvalidManifest(f"{where}: {rel!r} already holds {taken[rel]}; "
                                          f"give {origin} another name (add_file name=...)")
            out[rel] = origin
        return out

    # writing the drop
    def _write_drop(self, failure: BaseException | None) -> Path:
        ended_at = clock.now_iso()
        final, tmp = _drop_paths(self.drops_dir, self.model)
        tmp.mkdir(mode=atomic.DIR_MODE)
        try:
            manifest = self._manifest(final.name, failure, ended_at)
            self._fill(tmp, manifest)
            if final.exists():
                raise FileExistsError(f"{final} appeared while writing; retry")
            os.rename(tmp, final)
            atomic.fsync_dir(self.drops_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def _fill(self, tmp: Path, manifest: dict[str, Any]) -> None:
        """Files, curves, source and manifest, each fsynced; COMPLETE last."""
        for rel, src in sorted(self._files.items()):
            _copy_into(tmp / rel, src)
        for rel, data in sorted(self._source.files.items()):
            if rel not in self._files:  # the same file added both ways is written once
                _write_into(tmp / rel, data)
        if self._series:
            _write_into(tmp / SERIES_FILE, series.to_parquet(self._series))
        git = self._source.git
        if git is not None and git.diff:
            _write_into(tmp / DIFF_FILE, git.diff)
        body = json.dumps(manifest, indent=1, ensure_ascii=False).encode() + b"\n"
        _write_into(tmp / MANIFEST, body)
        for dirpath, _, _ in os.walk(tmp, topdown=False):
            atomic.fsync_dir(Path(dirpath))
        digest = hashlib.sha256(body).hexdigest()
        marker = {"format": "modelyard-drop/1", "manifest_sha256": digest}
        _write_into(tmp / COMPLETE, json.dumps(marker).encode() + b"\n")
        atomic.fsync_dir(tmp)

    def _manifest(self, drop_name: str, failure: BaseException | None,
                  ended_at: str) -> dict[str, Any]:
        training = {**self._training, "ended_at": ended_at,
                    "status": "failed" if failure else "finished"}
        tags = dict(self._card["tags"])
        if failure is not None:
            training["error"] = f"{type(failure).__name__}: {failure}"[:2000]
            tags["failed"] = "true"
        out: dict[str, Any] = {"model": self.model}
        out.update({k: v for k, v in self._card.items() if v})
        out.update(tags=tags, training=training, files=sorted(self._files),
                   origin={"kind": "sdk", "drop": drop_name,
                           "python": platform.python_version()})
        if self._series:
            out["metric_series"] = SERIES_FILE
        if self._source.files or self._source.git:
            out["source"] = self._source_manifest()
        return out

    def _source_manifest(self) -> dict[str, Any]:
        git = self._source.git
        out: dict[str, Any] = {"files": sorted(self._source.files),
                               "entrypoint": self._source.entrypoint,
                               "git": git.facts() if git else {}}
        if git is not None and git.diff:
            out["diff_file"] = DIFF_FILE
        return out


def _drop_paths(drops: Path, model: str) -> tuple[Path, Path]:
    """The final name `<model>-<UTC time>-<rand>` and a hidden build folder unique across
    hosts and processes; the model part is percent-encoded (names may hold '/')."""
    label = model_dirname(model)[:100]
    when = clock.now().strftime("%Y%m%dT%H%M%SZ")
    host = re.sub(r"[^A-Za-z0-9._-]", "_", current_host())[:32]
    tmp = f"{atomic.TEMP_PREFIX}{label}-{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return drops / f"{label}-{when}-{uuid.uuid4().hex[:6]}", drops / tmp


def _store_root(store: PathLike | None) -> Path:
    root = store if store is not None else os.environ.get("MODELYARD_STORE")
    if not root:
        raise NotAStore("no store given: pass new_version(..., store='/shared/models') or "
                        "set MODELYARD_STORE")
    return Path(root).absolute()


def _drops_dir(root: Path) -> Path:
    """The store's (first) drop folder, created if needed and checked to be writable."""
    dirs = read_config(root)["settings"].get("drop_dirs") or ["drops"]
    drops = root / str(dirs[0])
    atomic.ensure_dir(drops)
    if not os.access(drops, os.W_OK | os.X_OK):
        raise ReadOnlyStore(f"cannot write drops in {drops}; ask the store's owner for group "
                            "write access to it")
    return drops


def _clean_exit(exc: BaseException) -> bool:
    """sys.exit(0) inside the block ends a run normally."""
    return isinstance(exc, SystemExit) and exc.code in (0, None)


def plain_value(value: Any, depth: int = 0) -> Any:
    """JSON-safe data: numpy and torch values via .tolist(), other objects as their text."""
    if depth > 32:
        raise InvalidManifest("a logged value is nested more than 32 levels deep")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): plain_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return [plain_value(v, depth + 1) for v in sorted(value, key=str)]
    if callable(getattr(value, "tolist", None)):
        return plain_value(value.tolist(), depth + 1)
    return str(value)


def _tolists(value: Any) -> Any:
    """Arrays and tuples as lists, numbers left as numbers (the card checks them)."""
    if callable(getattr(value, "tolist", None)):
        value = value.tolist()
    if isinstance(value, Mapping):
        return {k: _tolists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tolists(v) for v in value]
    return value


def _finite_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, (bool, str)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _tag_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(plain_value(value))


def _deep_merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def _write_into(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=atomic.DIR_MODE, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_into(path: Path, src: Path) -> None:
    path.parent.mkdir(mode=atomic.DIR_MODE, parents=True, exist_ok=True)
    shutil.copyfile(src, path)  # sendfile on Linux; follows symlinks (Hugging Face caches)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
