"""Fault injection for crash tests: die at a named stage of a write.

Set `MODELYARD_CRASH_AT=<stage>` (optionally `<stage>:<n>` to die at its n-th pass) in a
child process; when the writer reaches that stage the process SIGKILLs itself, exactly like
a power cut or an OOM kill, so tests can check what a real crash leaves behind.
"""

from __future__ import annotations

import os
import signal

STAGES = (
    "blob.temp_written",
    "blob.renamed",
    "record.temp_written",
    "record.linked",
    "event.linked",
    "index.updated",
    "drop.claimed",
    "drop.moved",
)

_counts: dict[str, int] = {}


def point(stage: str) -> None:
    """Kill this process here if the environment asks for a crash at `stage`."""
    wanted = os.environ.get("MODELYARD_CRASH_AT")
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != stage:
        return
    _counts[stage] = _counts.get(stage, 0) + 1
    if _counts[stage] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
