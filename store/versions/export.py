"""Copy a version's files out of the store, verified, into a folder a runtime can load.

By default the folder is laid out for the serving runtime of the version's framework (see
`serving.plan`): an MLflow or Hugging Face folder as is, ONNX as a Triton repository
(`<name>/1/model.onnx` and a `config.pbtxt`), a pickled scikit-learn model as `model.pkl`.
`layout="files"` copies the files as stored. `modelyard-version.json` always goes beside.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from modelyard.store.disk import atomic
from modelyard.store.disk.blobs import BlobStore
from modelyard.store.errors import InvalidManifest
from modelyard.store.ingest.writer import safe_relpath
from modelyard.store.versions.serving import placements, plan
from modelyard.store.versions.version import Version

LAYOUTS = ("runtime", "files")


def export_version(version: Version, dest: Path, blobs: BlobStore, *,
                   layout: str = "runtime") -> Path:
    """Write every file of `version` under `dest`, plus `modelyard-version.json`.

    Each file is streamed from its blob and checked against its digest before it gets its
    final name, so a corrupt blob never produces a plausible-looking export.
    """
    if layout not in LAYOUTS:
        raise InvalidManifest(f"unknown export layout {layout!r}; use runtime or files")
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise InvalidManifest(f"{dest} exists and is not empty; export into a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    if layout == "runtime":
        placed, extra = placements(version, plan(version))
    else:
        placed, extra = [(f, f["path"]) for f in version.files], {}
    for f, rel in placed:
        _copy_blob(blobs, f["digest"], dest / safe_relpath(rel, "files"))
    for rel, data in extra.items():
        target = dest / safe_relpath(rel, "files")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    card = version.to_dict()
    (dest / "modelyard-version.json").write_text(
        json.dumps(card, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    atomic.fsync_dir(dest)
    return dest


def _copy_blob(blobs: BlobStore, digest: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic.temp_name(target)
    try:
        with open(tmp, "wb") as out:
            for chunk in blobs.iter_verified(digest):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
