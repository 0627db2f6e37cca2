"""Copy a version's files out of the store, verified, into a folder a runtime can load."""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import atomic
from .errors import InvalidManifest
from .version import Version
from .writer import safe_relpath


def export_version(version: Version, dest: Path) -> Path:
    """Write every file of `version` under `dest`, plus `modelyard-version.json`.

    Each file is streamed from its blob and checked against its digest before it gets its
    final name, so a corrupt blob never produces a plausible-looking export.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise InvalidManifest(f"{dest} exists and is not empty; export into a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    for f in version.files:
        rel = safe_relpath(f["path"], "files")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = atomic.temp_name(target)
        try:
            with open(tmp, "wb") as out:
                for chunk in version._store.blobs.iter_verified(f["digest"]):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            if tmp.exists():
                tmp.unlink()
            raise
    card = version.to_dict()
    (dest / "modelyard-version.json").write_text(
        json.dumps(card, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    atomic.fsync_dir(dest)
    return dest
