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
at exit. Log from one process (rank 0 in distributed training). Beside this class:
sdk_drop.py writes the drop, sdk_values.py converts values, sdk_source.py captures code.
"""

from __future__ import annotations

import operator
import os
import platform
import sys
import time
import uuid
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, SupportsFloat

from modelyard.store.disk import clock
from modelyard.store.disk.identity import current_host, current_user
from modelyard.store.errors import InvalidManifest
from modelyard.store.names import check_model_name, unsafe_char
from modelyard.store.sdk import drop as sdk_drop
from modelyard.store.sdk import source as sdk_source
from modelyard.store.sdk.drop import (
    COMPLETE,
    DIFF_FILE,
    INTERNAL,
    MANIFEST,
    RESERVED,
    SERIES_FILE,
    PathLike,
)
from modelyard.store.sdk.values import (
    deep_merge,
    finite_or_none,
    plain_value,
    tag_text,
    tolists,
)
from modelyard.store.versions.card import check_card

__all__ = ["COMPLETE", "DIFF_FILE", "INTERNAL", "MANIFEST", "RESERVED", "SERIES_FILE",
           "NewVersion", "PathLike", "new_version", "plain_value"]


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
        self.store = sdk_drop.store_root(store)
        self.drops_dir = sdk_drop.drops_dir(self.store)  # fails now, not after hours of training
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
                 tb: TracebackType | None) -> None:
        self._closed = True
        failure = None if exc is None or _clean_exit(exc) else exc
        if failure is not None and not self.keep_failed:
            return
        try:
            self.drop_path = self._write_drop(failure)
        except Exception as err:
            if exc is None:
                raise
            exc.add_note(f"modelyard: the failed run's drop could not be written: {err}")

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"this version of {self.model} is closed (drop: "
                               f"{self.drop_path}); start another with new_version()")

    # metrics: the hot path, kept to a few appends
    def log_metric(self, key: str, value: SupportsFloat, step: int | None = None) -> None:
        """Record one point: `value` is any number float() takes (a numpy or torch scalar
        too), never text; `step` defaults to this key's last step + 1 (0 at first)."""
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

    def log_metrics(self, metrics: Mapping[str, SupportsFloat], step: int | None = None
                    ) -> None:
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
        deep_merge(self._card["params"], plain_value({**(params or {}), **more}))

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def set_description(self, text: str) -> None:
        self._set("description", text)

    def set_tags(self, tags: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """Merge tags; values are stored as text (True becomes "true")."""
        given = {str(k): tag_text(v) for k, v in {**(tags or {}), **more}.items()}
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
        data = tolists(data)
        for key in ("auc", "ap"):
            if key in data:
                data[key] = finite_or_none(data[key])
        self._set_chart(kind, data)

    def log_confusion_matrix(self, matrix: Any, labels: Iterable[Any] | None = None) -> None:
        """Rows are true classes, columns predicted ones; labels default to 0..n-1."""
        rows = tolists(matrix)
        names = ([str(x) for x in tolists(labels)] if labels is not None else
                 [str(i) for i in range(len(rows))] if isinstance(rows, list) else [])
        self._set_chart("confusion_matrix", {"labels": names, "matrix": rows})

    def log_feature_importance(self, importance: Mapping[str, float]) -> None:
        """{feature: score}; kept in that shape so the manifest stays readable."""
        self._check_open()
        data = {str(k): finite_or_none(v) or 0.0 for k, v in tolists(importance).items()}
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
        return sdk_drop.claim_names(wanted, (self._files, self._source.origins), where)

    # writing the drop
    def _write_drop(self, failure: BaseException | None) -> Path:
        ended_at = clock.now_iso()
        git = self._source.git
        return sdk_drop.write_drop(
            self.drops_dir, self.model, lambda name: self._manifest(name, failure, ended_at),
            files=self._files, source_files=self._source.files, points=self._series,
            diff=git.diff if git is not None else b"")

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
            out["source"] = self._source.facts(diff_file=DIFF_FILE)
        return out


def _clean_exit(exc: BaseException) -> bool:
    """sys.exit(0) inside the block ends a run normally."""
    return isinstance(exc, SystemExit) and exc.code in (0, None)

