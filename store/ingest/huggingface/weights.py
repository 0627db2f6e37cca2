"""What a Hugging Face folder's weights hold, read from safetensors headers alone.

The tensors themselves are never read: a header gives every tensor's dtype and shape, which
is enough for a parameter count, the bytes per dtype and the largest tensors. A sharded
model's index names its shards; a shard that is missing, outside the folder or not a
safetensors file at all (a pickle renamed, say) becomes a note in the summary, so the version
is still stored. A file that is a safetensors file but whose header is hostile or broken
(nested 200,000 deep, a shape of 1e999 or NaN, more elements than 64 bits count) refuses the
drop with the file and the tensor named: it would fail wherever it is loaded.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from modelyard.store.errors import InvalidManifest
from modelyard.store.ingest.huggingface.metadata import json_object
from modelyard.store.ingest.safe_read import dict_at
from modelyard.store.ingest.sniff import safetensors_header, sniff_file
from modelyard.store.ingest.writer import safe_relpath

LARGEST_TENSORS = 5
MAX_ELEMENTS = 2**63 - 1  # what an index column (and any loader) can count


def weights_summary(folder: Path) -> dict[str, Any]:
    """Parameter count, dtypes and largest tensors from safetensors headers alone."""
    files, notes = _weight_files(folder)
    tensors: list[tuple[str, str, list[int]]] = []
    for path in files:
        rel = path.relative_to(folder).as_posix()
        try:
            header = safetensors_header(path)
        except RecursionError:
            raise InvalidManifest(f"{rel}: its safetensors header is nested too deeply to "
                                  "read; re-save the weights with safetensors") from None
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            if sniff_file(path).format == "safetensors":
                raise InvalidManifest(f"{rel}: its safetensors header is broken "
                                      f"({str(exc)[:200]}); re-save the weights with "
                                      "safetensors") from None
            notes.append(f"{rel}: not a readable safetensors file ({str(exc)[:200]})")
            continue
        tensors += [_tensor(rel, name, spec) for name, spec in header.items()
                    if name != "__metadata__"]
    out: dict[str, Any] = {}
    if tensors:
        dtypes: dict[str, int] = {}
        for _, dtype, shape in tensors:
            dtypes[dtype] = dtypes.get(dtype, 0) + math.prod(shape)
        out["param_count"] = sum(dtypes.values())
        if out["param_count"] > MAX_ELEMENTS:
            raise InvalidManifest(f"the safetensors headers of {', '.join(_names(files))} "
                                  "count more than 2^63-1 parameters; they are broken. "
                                  "Re-save the weights with safetensors")
        out["dtypes"] = dict(sorted(dtypes.items()))
        out["tensors"] = len(tensors)
        biggest = sorted(tensors, key=lambda t: (-math.prod(t[2]), t[0]))[:LARGEST_TENSORS]
        out["largest_tensors"] = [{"name": n, "dtype": d, "shape": s} for n, d, s in biggest]
        out["weights_format"] = "safetensors"
    if notes:
        out["weights_notes"] = notes
    return out


def _names(files: list[Path]) -> list[str]:
    return [p.name for p in files[:3]] + (["…"] if len(files) > 3 else [])


def _tensor(rel: str, name: str, spec: Any) -> tuple[str, str, list[int]]:
    """(name, dtype, shape) of one header entry, or InvalidManifest naming file and tensor."""
    where = f"{rel}: tensor {str(name)[:100]!r}"
    if not isinstance(spec, dict) or not isinstance(spec.get("dtype"), str) or \
            not isinstance(spec.get("shape"), list):
        raise InvalidManifest(f"{where} needs a text `dtype` and a list `shape` in the "
                              "safetensors header; re-save the weights with safetensors")
    shape = spec["shape"]
    if not all(type(x) is int and 0 <= x <= MAX_ELEMENTS for x in shape):
        shown = ", ".join(str(x)[:20] for x in shape[:8])
        raise InvalidManifest(f"{where} has shape [{shown}]; every dimension must be a "
                              "whole number from 0 to 2^63-1. Re-save the weights with "
                              "safetensors")
    count = 1
    for dim in shape:
        count *= dim
        if count > MAX_ELEMENTS:
            raise InvalidManifest(f"{where} has more than 2^63-1 elements; the header is "
                                  "broken. Re-save the weights with safetensors")
    return str(name), spec["dtype"][:64], shape


def _weight_files(folder: Path) -> tuple[list[Path], list[str]]:
    """Shards named by the index, else top-level .safetensors files (not checkpoint copies)."""
    index_path = folder / "model.safetensors.index.json"
    if not index_path.is_file():
        return sorted(p for p in folder.glob("*.safetensors")
                      if p.is_file() and not p.is_symlink()), []
    index = json_object(index_path)
    weight_map = dict_at(index, "weight_map")
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
