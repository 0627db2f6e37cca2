"""History: every alias move, tag and description change of the model, with who and when;
rows about this version are bold."""

from __future__ import annotations

import os

from rich.text import Text
from textual import getters
from textual.widgets import DataTable

from modelyard.app.explorer import ExplorerApp
from modelyard.app.safe_text import plain, printable
from modelyard.store import Version


def describe_event(event) -> str:
    d = event.data
    if event.type == "alias.set":
        forced = f" (forced: {d.get('reason', '')})" if d.get("forced") else ""
        return f"@{d.get('alias')} → v{event.version}{forced}"
    if event.type == "policy.checked":
        verdicts = d.get("versions", {})
        failing = sum(1 for rules in verdicts.values()
                      if any(r.get("status") == "fail" and r.get("blocking")
                             for r in rules.values()))
        return f"policy {d.get('policy')}: {len(verdicts)} checked, {failing} failing"
    if event.type == "hook.ran":
        outcome = "ok" if d.get("ok") else ("timed out" if d.get("timed_out")
                                             else f"exit {d.get('exit_code')}")
        return f"hook {d.get('hook')} ({d.get('trigger')}): {outcome}"
    if event.type == "alias.removed":
        return f"@{d.get('alias')} removed"
    if event.type == "tag.set":
        return f"{d.get('key')}={d.get('value')}"
    if event.type == "tag.removed":
        return f"{d.get('key')} removed"
    if event.type == "description.set":
        return (d.get("text") or "")[:80]
    if event.type == "deprecated.set":
        state = "deprecated" if d.get("deprecated", True) else "restored"
        return f"{state}" + (f": {d.get('reason')}" if d.get("reason") else "")
    if event.type == "version.created":
        return f"v{event.version} recorded"
    return ""


def _spoofed(event) -> bool:
    """The event claims a user other than its file's owner, and that owner is not you
    (what you wrote yourself under another name you know about; a demo store is all
    yours)."""
    return bool(event.file_owner) and event.file_owner not in (event.user, _me())


def _me() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


class HistoryPane(DataTable):
    app = getters.app(ExplorerApp)

    def show(self, v: Version) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.clear(columns=True)
        self.add_columns("when", "what", "version", "who", "detail")
        events = self.app.store.history(v.model)
        for e in reversed(events):
            mine = e.version == v.number
            style = "bold" if mine else ""
            self.add_row(Text(e.at[:19].replace("T", " "), style=style),
                         Text(e.type, style=style),
                         Text("" if e.version is None else f"v{e.version}", style=style),
                         plain(f"{e.user}@{e.host}" + (f" ✗ file owned by {e.file_owner}"
                                                       if _spoofed(e) else ""), style),
                         Text(printable(describe_event(e)), style=style))
