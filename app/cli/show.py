"""`modelyard show REF` for people: the whole card, section by section, safely printed."""

from __future__ import annotations

from modelyard.app.cli.output import emit, human_size, number, safe, table
from modelyard.store.ingest.sniff import PICKLE_WARNING
from modelyard.store.versions.card import flatten_params
from modelyard.store.versions.version import Version


def _section(title: str) -> None:
    emit("")
    emit(title)


def _pairs(pairs: list[tuple[str, str]]) -> None:
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        if value:
            emit(f"  {key.ljust(width)}  {value}")


def _recorded_by(who: dict) -> str:
    """The user the record claims, and its file's real owner when they differ."""
    if who["mismatch"]:
        return f"{who['claimed']} (but the record file is owned by {who['owner']}!)"
    return who["claimed"] or who["owner"]


def print_version(v: Version, *, violations: list[str] | None = None) -> None:
    """The card; `violations`: why its policy state is `violation` (alias moves past a
    gate, from Store.policy_violations)."""
    t = v.training
    emit(f"{safe(v.ref)}" + (f"  {safe(' '.join('@' + a for a in v.aliases))}"
                             if v.aliases else "") + ("  [deprecated]" if v.deprecated else ""))
    if v.mixed_script:
        emit(f"  warning: the model name mixes scripts (look-alike letters): "
             f"{safe(ascii(v.model))}")
    if v.description:
        emit("  " + safe(v.description, multiline=True).replace("\n", "\n  "))
    _section("OVERVIEW")
    _pairs([
        ("trained by", safe(f"{v.user}@{v.host}" if v.host else v.user)),
        ("recorded by", safe(_recorded_by(v.written_by))),
        ("started", safe(t.get("started_at") or "")),
        ("ended", safe(t.get("ended_at") or "")),
        ("status", safe(t.get("status") or "")),
        ("recorded", safe(v.created_at)),
        ("format", safe(v.format)),
        ("framework", safe(v.framework)),
        ("size", human_size(v.size)),
        ("parameters", f"{v.param_count:,}" if v.param_count else ""),
        ("tags", safe(", ".join(f"{k}={val}" for k, val in v.tags.items()))),
        ("origin", safe((v.origin or {}).get("kind", ""))),
        ("policy", v.policy_state),
    ])
    for message in violations or []:
        emit(f"  ✗ {safe(message)}")
    if v.params:
        _section("PARAMS")
        _pairs([(safe(k), safe(val)) for k, val in flatten_params(v.params).items()])
    if v.metrics:
        _section("METRICS (final values)")
        _pairs([(safe(k), number(val)) for k, val in v.metrics.items()])
        if v.metric_keys:
            emit(f"  curves: {safe(', '.join(v.metric_keys))}")
    if v.datasets or v.parents:
        _section("LINEAGE")
        for p in v.parents:
            emit(f"  parent  {safe(p['ref'])} ({safe(p.get('relation', ''))})")
        for d in v.datasets:
            emit(f"  {safe(d['role']):<6}  {safe(d.get('name') or d.get('uri'))}"
                 + (f"  {safe(d['digest'])}" if d.get("digest") else ""))
    if v.files:
        _section("FILES")
        rows = [[safe(f["path"]), human_size(f["size"]), safe(f.get("format", "")),
                 f["digest"][7:19], PICKLE_WARNING if f.get("pickle") else ""] for f in v.files]
        for line in table(["PATH", "SIZE", "FORMAT", "DIGEST", ""], rows, max_width=60):
            emit("  " + line)
    src = v.source
    if src:
        _section("SOURCE")
        git = src.get("git") or {}
        _pairs([("commit", safe(git.get("commit", ""))), ("branch", safe(git.get("branch", ""))),
                ("remote", safe(git.get("remote", ""))),
                ("dirty", "yes" if git.get("dirty") else ""),
                ("files", safe(", ".join(f["path"] for f in src.get("files") or [])))])
    if v.serving:
        _section("SERVING")
        _pairs([(safe(k), safe(val)) for k, val in flatten_params(v.serving).items()])
    if v.record.get("charts"):
        _section("CHARTS")
        emit("  " + safe(", ".join(v.record["charts"]["kinds"])))
