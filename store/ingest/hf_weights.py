"""What a Hugging Face folder's weights hold, read from safetensors headers alone.

The tensors themselves are never read: a header gives every tensor's dtype and shape, which
is enough for a parameter count, the bytes per dtype and the largest tensors. A sharded
model's index names its shards; a shard that is missing, outside the folder or unreadable
becomes a note in the summary, not an error, so the version is still stored.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import InvalidManifest
from ..sniff import safetensors_header
from ..writer import safe_relpath
from .hf_metadata import json_object

LARGEST_TENSORS = 5


def weights_summary(folder: Path) -> dict[str, Any]:
    """Parameter count, dtypes and largest tensors from safetensors headers alone."""
    files, notes = _weight_files(folder)
    tensors: list[tuple[str, str, list[int]]] = []
    for path in files:
        try:
            header = safetensors_header(path)
            tensors += [(name, str(spec["dtype"]), [max(int(x), 0) for x in spec["shape"]])
                        for name, spec in header.items() if name != "__metadata__"]
        except (ValueError, KeyError, TypeError, OSError) as exc:
            notes.append(f"{path.relative_to(folder).as_posix()}: not a readable safetensors "
                         f"file ({exc})")
    out: dict[str, Any] = {}
    if tensors:
        dtypes: dict[str, int] = {}
        for _, dtype, shape in tensors:
            dtypes[dtype] = dtypes.get(dtype, 0) + math.prod(shape)
        out["param_count"] = sum(dtypes.values())
        out["dtypes"] = dict(sorted(dtypes.items()))
        out["tensors"] = len(tensors)
        biggest = sorted(tensors, key=lambda t: (-math.prod(t[2]), t[0]))[:LARGEST_TENSORS]
        out["largest_tensors"] = [{"name": n, "dtype": d, "shape": s} for n, d, s in biggest]
        out["weights_format"] = "safetensors"
    if notes:
        out["weights_notes"] = notes
    return out


def _weight_files(folder: Path) -> tuple[list[Path], list[str]]:
    """Shards named by the index, else top-level .safetensors files (not checkpoint copies)."""
    index_path = folder / "model.safetensors.index.json"
    if not index_path.is_file():
        return sorted(p for p in folder.glob("*.safetensors")
                      if p.is_file() and not p.is_symlink()), []
    index = json_object(index_path)
    weight_map = index.get("weight_map") if isinstance(index.get("weight_map"), dict) else {}
    files, notes = [], []
    for name in sorted(set(map(str, weight_map.values()))):
        try:
            rel = safe_relpath(name, "model.safetensors.index.json weight_map")
        except InvalidManifest:
            notes.append(f"index names {name!r}, which is outside the folder; ignored")
            continue
        path = folder / rel
        if path.is_file() and not path.is_symlink():
            files.append(path)
        else:
            notes.append(f"index names {rel}, which is missing")
    return files, notes
