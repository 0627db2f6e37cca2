"""The checks one rule can make, one function per kind, each saying why it passed or failed.

Checks read `Facts`: the version's write-once record plus its current state (description
and tags change through events). Thresholds are conditions in the query language; `Facts`
carries the function that evaluates one against the index, so this module needs no SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from modelyard.store.policy.model import TEXT_FORMATS, Rule


@dataclass(frozen=True)
class Finding:
    """One check's outcome: which kind of check, whether it held, and a line saying why."""

    check: str
    ok: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "ok": self.ok, "message": self.message}


@dataclass
class Facts:
    """What the checks look at for one version."""

    record: dict[str, Any]
    description: str
    tags: dict[str, str]
    metrics: Mapping[str, float | None]
    size: int
    matches: Callable[[str], bool] = field(default=lambda _text: False)
    metric_keys_of: Callable[[str], list[str]] = field(default=lambda _text: [])


def run_rule(rule: Rule, facts: Facts) -> list[Finding]:
    """Every check of `rule`, in the order the policy format lists them."""
    found: list[Finding] = []
    found += [_required(name, facts) for name in rule.require]
    found += [_dataset(role, facts) for role in rule.datasets]
    found += [_metric(name, facts) for name in rule.metrics]
    found += [_threshold(text, facts) for text in rule.thresholds]
    if rule.formats:
        found += _formats(rule.formats, facts)
    if rule.max_size is not None:
        found.append(_size(rule.max_size, facts))
    found += [_file(pattern, facts) for pattern in rule.files]
    return found


def _required(name: str, facts: Facts) -> Finding:
    rec = facts.record
    serving = rec.get("serving") or {}
    source = rec.get("source") or {}
    if name == "signature":
        inputs = (serving.get("signature") or {}).get("inputs") or []
        return Finding("require", bool(inputs), f"signature with {len(inputs)} inputs"
                       if inputs else "no serving signature with inputs")
    if name == "description":
        ok = bool(facts.description.strip())
        return Finding("require", ok, "has a description" if ok else "no description")
    if name == "git_commit":
        commit = str((source.get("git") or {}).get("commit") or "")
        return Finding("require", bool(commit), f"source at git commit {commit[:12]}"
                       if commit else "no source git commit")
    if name == "source_files":
        n = len(source.get("files") or [])
        return Finding("require", n > 0, f"{n} source files" if n else "no source files")
    if name == "framework":
        fw = str(serving.get("framework") or "")
        return Finding("require", bool(fw), f"framework {fw}" if fw else "no serving framework")
    resources = {k: v for k, v in (serving.get("resources") or {}).items() if v}
    return Finding("require", bool(resources),
                   "resources " + ", ".join(f"{k}={v}" for k, v in sorted(resources.items()))
                   if resources else "no serving resources (cpu, memory, gpu)")


def _dataset(role: str, facts: Facts) -> Finding:
    sets = [d for d in facts.record.get("datasets") or [] if d.get("role") == role]
    with_digest = [d for d in sets if d.get("digest")]
    if with_digest:
        d = with_digest[0]
        return Finding("datasets", True, f"{role} data {d.get('name') or d.get('uri')} "
                                         f"({str(d['digest'])[:19]}…)")
    if sets:
        name = sets[0].get("name") or sets[0].get("uri")
        return Finding("datasets", False, f"{role} data {name} has no digest")
    return Finding("datasets", False, f"no {role} data set")


def _metric(name: str, facts: Facts) -> Finding:
    if name not in facts.metrics:
        return Finding("metrics", False, f"metric {name} is not recorded")
    value = facts.metrics[name]
    if value is None or value != value:  # NaN (Version.metrics gives float('nan'))
        return Finding("metrics", False, f"metric {name} is NaN")
    return Finding("metrics", True, f"{name} = {value:.6g}")


def _threshold(text: str, facts: Facts) -> Finding:
    shown = [f"metrics.{k} = {_num(facts.metrics[k])}" if k in facts.metrics
             else f"metrics.{k} is missing" for k in facts.metric_keys_of(text)]
    values = f" ({', '.join(shown)})" if shown else ""
    if facts.matches(text):
        return Finding("thresholds", True, f"{text}{values}")
    return Finding("thresholds", False, f"{text} is not met{values}")


def _formats(allowed: tuple[str, ...], facts: Facts) -> list[Finding]:
    weights = [f for f in facts.record.get("files") or []
               if str(f.get("format") or "") not in TEXT_FORMATS]
    bad = [f for f in weights if f.get("format") not in allowed]
    if not bad:
        kinds = sorted({str(f.get("format")) for f in weights})
        return [Finding("formats", True, f"weights are {', '.join(kinds)}" if kinds
                        else "no weights files")]
    out = []
    for f in bad:
        why = "" if not f.get("pickle") else " (loading it can run code)" if \
            f.get("format") == "pickle" else " (pickle-based: loading it can run code)"
        out.append(Finding("formats", False, f"{f['path']} is {f.get('format')}{why}; "
                                             f"allowed: {', '.join(allowed)}"))
    return out


def _size(limit: int, facts: Facts) -> Finding:
    ok = facts.size <= limit
    return Finding("max_size", ok, f"{human_size(facts.size)} of files"
                   + ("" if ok else f"; the limit is {human_size(limit)}"))


def _file(pattern: str, facts: Facts) -> Finding:
    paths = [f["path"] for f in facts.record.get("files") or []]
    hit = next((p for p in paths if fnmatchcase(p, pattern)), None)
    return Finding("files", hit is not None, f"file {hit}" if hit and hit == pattern
                   else f"{pattern}: {hit}" if hit else f"no file matches {pattern}")


def _num(value: float | None) -> str:
    return "NaN" if value is None else f"{value:.6g}"


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"
