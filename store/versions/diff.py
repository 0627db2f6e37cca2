"""What differs between two versions: params, metrics, files, source, lineage."""

from __future__ import annotations

from typing import Any

from modelyard.store.versions.card import flatten_params
from modelyard.store.versions.version import Version


def _pairs(a: dict, b: dict, *, only_diff: bool) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key), b.get(key)
        same = left == right or left != left and right != right  # NaN on both sides
        if only_diff and same:
            continue
        rows.append({"key": key, "a": left, "b": right, "same": same})
    return rows


def diff_versions(a: Version, b: Version, *, only_diff: bool = True) -> dict[str, Any]:
    """A JSON-ready comparison. Metric rows carry the delta b - a when both are numbers."""
    metrics = _pairs(a.metrics, b.metrics, only_diff=only_diff)
    for row in metrics:
        left, right = row["a"], row["b"]
        row["delta"] = (right - left) if isinstance(left, float) and isinstance(right, float) \
            else None
    files_a = {f["path"]: f["digest"] for f in a.files}
    files_b = {f["path"]: f["digest"] for f in b.files}
    src_a = {f["path"]: f["digest"] for f in a.source.get("files") or []}
    src_b = {f["path"]: f["digest"] for f in b.source.get("files") or []}
    lineage_a = {"parents": sorted(p["ref"] for p in a.parents),
                 "datasets": sorted(f"{d['role']}:{d['name'] or d['uri']}@{d['digest']}"
                                    for d in a.datasets)}
    lineage_b = {"parents": sorted(p["ref"] for p in b.parents),
                 "datasets": sorted(f"{d['role']}:{d['name'] or d['uri']}@{d['digest']}"
                                    for d in b.datasets)}
    git_a, git_b = a.source.get("git") or {}, b.source.get("git") or {}
    return {
        "a": a.ref,
        "b": b.ref,
        "params": _pairs(flatten_params(a.params), flatten_params(b.params), only_diff=only_diff),
        "metrics": metrics,
        "files": _pairs(files_a, files_b, only_diff=only_diff),
        "source": _pairs(src_a, src_b, only_diff=only_diff)
        + _pairs({f"git.{k}": v for k, v in git_a.items()},
                 {f"git.{k}": v for k, v in git_b.items()}, only_diff=only_diff),
        "lineage": _pairs(lineage_a, lineage_b, only_diff=only_diff),
        "serving": _pairs(flatten_params(a.serving), flatten_params(b.serving),
                          only_diff=only_diff),
    }


def source_text_diff(a: Version, b: Version, path: str) -> str:
    """A unified diff of one source file between two versions."""
    import difflib

    def text(v: Version) -> list[str]:
        try:
            return v.source_file(path).decode("utf-8", "replace").splitlines(keepends=True)
        except FileNotFoundError:
            return []

    return "".join(difflib.unified_diff(text(a), text(b), f"{a.ref}/{path}", f"{b.ref}/{path}"))
