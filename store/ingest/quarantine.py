"""Rejecting a drop: it moves, unchanged, into quarantine beside REJECTED.json and .txt that
say what was wrong, how to fix it and how to retry.

    quarantine/<name>-<UTC time>/drop/             the drop as it was dropped
    quarantine/<name>-<UTC time>/REJECTED.json     reason, hint, who and when
    quarantine/<name>-<UTC time>/REJECTED.txt      the same for people
"""

from __future__ import annotations

import errno
import json
import os
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from modelyard.store.disk import atomic, faults
from modelyard.store.ingest.claims import (
    HOST,
    REJECTED_FILES,
    Claim,
    deactivate,
    restore_marker,
)
from modelyard.store.ingest.drop_text import escape, free_path, plain, stamp
from modelyard.store.ingest.readiness import MARKER

if TYPE_CHECKING:
    from modelyard.store.api import Store

LOCAL_QUARANTINE = ".quarantine"


def reject(store: Store, held: Claim, reason: str, error: str, hint: str,
           refs: list[str]) -> Path:
    """Write REJECTED.json/.txt beside the drop inside its claim, then move the whole claim
    folder into quarantine with one rename: a crash at any point leaves it recoverable.
    Returns where it went."""
    restore_marker(held.folder)
    if held.name != "drop" and os.path.lexists(held.folder):  # not on a second try
        os.rename(held.folder, held.dir / "drop")
    back = held.drop_dir / plain(held.name)
    info = {
        "schema": "modelyard.rejected/1", "drop": held.name, "drop_shown": escape(held.name),
        "drop_dir": str(held.drop_dir), "folder": "drop",
        "reason": reason, "error": error, "hint": hint,
        "rejected_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "host": HOST, "pid": os.getpid(), "stored_before_rejection": refs,
        "retry": f"fix the folder `drop` beside this file, then from this folder run: "
                 f"mv drop {shlex.quote(escape(back))}",
    }
    body = json.dumps(info, indent=2, sort_keys=True, ensure_ascii=True).encode() + b"\n"
    atomic.write_exclusive(held.dir / REJECTED_FILES[0], body, stage="rejected")
    atomic.write_exclusive(held.dir / REJECTED_FILES[1], _human(info).encode(), stage="rejected")
    qdir = _into_quarantine(store, held)
    faults.point("drop.moved")
    deactivate(held.dir)
    return qdir


def _into_quarantine(store: Store, held: Claim) -> Path:
    """One rename of the whole claim folder; beside the drops when the store's quarantine
    is on another filesystem (renames cannot cross mounts, and copying could lose bytes)."""
    base = f"{plain(held.name)}-{stamp()}"
    for home in (store.layout.quarantine, held.drop_dir / LOCAL_QUARANTINE):
        atomic.ensure_dir(home)
        qdir = free_path(home, base)
        try:
            faults.io("rename", qdir)
            os.rename(held.dir, qdir)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise atomic.storage_error(exc, qdir, "move the rejected drop to") from exc
            continue
        atomic.fsync_dir(home)
        atomic.fsync_dir(held.dir.parent)
        return qdir
    raise OSError(errno.EXDEV, "no quarantine folder on the drop folder's filesystem")


def _human(info: dict) -> str:
    stored = ", ".join(info["stored_before_rejection"])
    renamed = ("" if info["drop_shown"] == plain(info["drop"]) else
               f"\nIts name was {info['drop_shown']}; the command gives it a plain name.")
    return (
        "modelyard rejected this drop and moved it here unchanged; nothing in it was lost.\n\n"
        f"Drop:     {info['drop_shown']} (from {escape(info['drop_dir'])})\n"
        f"When:     {info['rejected_at']} on {escape(info['host'])}\n"
        f"Problem:  {escape(info['reason'])} [{info['error']}]\n"
        + (f"Stored before the problem was found: {escape(stored)}\n" if stored else "")
        + f"\nHow to fix: {escape(info['hint'])}.\n"
        "How to retry: fix the folder `drop` beside this file, then move it back into the\n"
        f"drop folder; from this folder:\n    {escape(info['retry'].split('run: ')[-1])}"
        f"{renamed}\n"
        f"Add an empty file named {MARKER} to it to skip the quiet period.\n")
