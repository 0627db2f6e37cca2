"""Overview: who, where, when, what it is and where it came from, on one page."""

from __future__ import annotations

import os
from datetime import datetime

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from modelyard.app.safe_text import human_size, plain, printable
from modelyard.app.widgets.card.kv import duration, kv_table
from modelyard.store import Version
from modelyard.store.ingest.sniff import PICKLE_WARNING


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def _signature(serving: dict) -> str:
    sig = serving.get("signature") or {}
    def names(items) -> str:
        if not isinstance(items, list):
            return printable(items)
        return ", ".join(printable(i.get("name", i.get("type", "?")) if isinstance(i, dict)
                                   else i) for i in items)
    parts = []
    if sig.get("inputs"):
        parts.append(f"in: {names(sig['inputs'])}")
    if sig.get("outputs"):
        parts.append(f"out: {names(sig['outputs'])}")
    return "   ".join(parts)


def policy_text(report, violations: list[str] | None = None) -> Text | str:
    """The policy verdict and, for each rule that fails, why; a violation (an alias moved
    onto the version past its gate) comes first, with what the index found."""
    if report is None:
        return ""
    if report.policy is None and not violations:
        return Text("no policy in this store", style="dim")
    styles = {"failing": "bold red", "warning": "bold yellow", "passing": "bold green"}
    text = Text()
    if violations:
        text.append("violation", style="bold red")
        for message in violations:
            text.append("\n✗ " + printable(message), style="red")
        text.append("\n")
    if report.policy is None:
        text.append("no policy in force now", style="dim")
        return text
    text.append(f"{report.state} (policy {report.policy})", style=styles.get(report.state, ""))
    for rule in report.rules:
        mark = "pass" if rule.passed else ("FAIL" if rule.blocking else "warn")
        text.append(f"\n{mark}  ", style="bold")
        text.append(printable(rule.rule))
        for reason in rule.reasons:
            text.append("\n      " + printable(reason), style="dim")
    return text


class OverviewPane(VerticalScroll):
    def compose(self):
        yield Static(id="overview-body")

    def show(self, v: Version) -> None:
        t = v.training
        flags = Text()
        if v.deprecated:
            flags.append("deprecated  ", style="bold")
        if v.has_pickle:
            flags.append(f"⚠ {PICKLE_WARNING}  ", style="bold red")
        if getattr(v, "violations", None):
            flags.append("✗ policy violation  ", style="bold red")
        if v.mixed_script:
            flags.append("⚠ the model name mixes scripts (look-alike letters): "
                         + ascii(v.model), style="bold red")
        rows = [
            ("Version", plain(v.ref, "bold")),
            ("Aliases", " ".join("@" + a for a in v.aliases)),
            ("Flags", flags if flags.plain else ""),
            ("Trained by", f"{v.user}@{v.host}" if v.host else v.user),
            ("Started", (t.get("started_at") or "")[:19].replace("T", " ")),
            ("Ended", (t.get("ended_at") or "")[:19].replace("T", " ")),
            ("Duration", duration(_seconds(t.get("started_at"), t.get("ended_at")))),
            ("Status", t.get("status")),
            ("Recorded", f"{v.created_at[:19].replace('T', ' ')} by "
                         f"{v.created_by.get('user', '')}@{v.created_by.get('host', '')}"
                         + (f"  ✗ but its file is owned by {v.written_by['owner']}"
                            if v.written_by["mismatch"]
                            and v.written_by["uid"] != os.getuid() else "")),
            ("Description", v.description),
            ("Tags", "  ".join(f"{k}={val}" for k, val in v.tags.items())),
            ("Data sets", "\n".join(f"{d['role']}: {d.get('name') or d.get('uri')}"
                                    + (f"  {d['digest'][:19]}" if d.get("digest") else "")
                                    for d in v.datasets)),
            ("Parents", "\n".join(f"{p['ref']} ({p.get('relation', '')})" for p in v.parents)),
            ("Format", v.format),
            ("Framework", v.framework),
            ("Size", human_size(v.size) + f" in {len(v.files)} files"),
            ("Parameters", f"{v.param_count:,}" if v.param_count else ""),
            ("Signature", _signature(v.serving)),
            ("Origin", (v.origin or {}).get("kind", "")),
            ("Policy", policy_text(getattr(v, "policy_report", None),
                                   getattr(v, "violations", None))),
        ]
        self.query_one("#overview-body", Static).update(Group(kv_table(rows)))
