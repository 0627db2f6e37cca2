"""What the compare screen shows, computed from versions without any UI: rows of params,
metrics with the best value per row, lineage facts, and which metric is better lower."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from modelyard.store import Version
from modelyard.store.versions.card import flatten_params

LOWER_IS_BETTER = ("loss", "error", "mse", "rmse", "mae", "perplexity", "logloss", "wer",
                   "cer", "latency")


def lower_is_better(key: str) -> bool:
    k = key.lower()
    return any(word in k for word in LOWER_IS_BETTER)


def param_rows(versions: list[Version], *, only_diff: bool) -> list[tuple[str, list[Any]]]:
    flats = [flatten_params(v.params) for v in versions]
    keys = sorted(set().union(*flats))
    rows = []
    for key in keys:
        values = [f.get(key) for f in flats]
        if only_diff and all(v == values[0] for v in values):
            continue
        rows.append((key, values))
    return rows


def metric_rows(versions: list[Version]) -> list[tuple[str, list[float | None], int | None]]:
    """(key, values, index of the best value) for every metric any version has."""
    all_metrics = [v.metrics for v in versions]
    keys = sorted(set().union(*all_metrics))
    rows = []
    for key in keys:
        values = [m.get(key) for m in all_metrics]
        present = [(i, x) for i, x in enumerate(values) if isinstance(x, (int, float))]
        best = None
        if len(present) > 1:
            pick = min if lower_is_better(key) else max
            best = pick(present, key=lambda p: p[1])[0]
        rows.append((key, values, best))
    return rows


def lineage_rows(versions: list[Version]) -> list[tuple[str, list[str], bool]]:
    """(fact, value per version, differs?) for parents, data sets by role, and git state."""
    def datasets(v: Version, role: str) -> str:
        return ", ".join(f"{d.get('name') or d.get('uri')}"
                         + (f" {d['digest'][:15]}" if d.get("digest") else "")
                         for d in v.datasets if d["role"] == role)

    facts: list[tuple[str, Callable[[Version], str]]] = [
        ("parents", lambda v: ", ".join(p["ref"] for p in v.parents))]
    for role in ("train", "validation", "test", "eval"):
        facts.append((f"{role} data", partial(datasets, role=role)))
    facts += [("git commit", lambda v: str((v.source.get("git") or {}).get("commit", ""))),
              ("git branch", lambda v: str((v.source.get("git") or {}).get("branch", ""))),
              ("dirty", lambda v: "yes" if (v.source.get("git") or {}).get("dirty") else ""),
              ("trained by", lambda v: f"{v.user}@{v.host}"),
              ("framework", lambda v: v.framework), ("format", lambda v: v.format)]
    rows = []
    for name, get in facts:
        values = [get(v) for v in versions]
        if any(values):
            rows.append((name, values, len(set(values)) > 1))
    return rows


def source_paths(a: Version, b: Version) -> list[str]:
    paths = {f["path"] for f in (a.source.get("files") or [])}
    paths |= {f["path"] for f in (b.source.get("files") or [])}
    return sorted(paths)
