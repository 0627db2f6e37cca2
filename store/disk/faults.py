"""Fault injection for tests: die at a named stage of a write, or fail an I/O call.

Crashes: set `MODELYARD_CRASH_AT=<stage>` (or `<stage>:<n>` to die at its n-th pass) in a
child process; when the code reaches that stage the process SIGKILLs itself, exactly like a
power cut or an OOM kill, so tests can check what a real crash leaves behind.

I/O faults: set `MODELYARD_IO_FAULT=<op>:<errno>[:<path-substring>]` (several separated by
`,`), e.g. `write:ENOSPC:_staging` or `fsync:EIO:/versions/`; the store's own write paths
(store/disk/atomic.py, store/disk/blobs.py, the drop moves) then raise that OSError at that call, as
a full disk, a failing disk or a read-only mount would. Unset, both cost one dict lookup.

Pauses: set `MODELYARD_PAUSE_AT=<stage>[:<n>]` and `MODELYARD_PAUSE_DIR=<folder>`; at that
stage (a STAGE or a PAUSE_POINT) the process writes `<folder>/<stage>.paused` and waits until
a test removes it (at most PAUSE_LIMIT seconds), so a race is replayed deterministically:
pause the watcher, swap what it is about to read, resume.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from functools import lru_cache

# Every point the code calls `point()` at; tests/reliability checks each has a crash test.
STAGES = (
    "config.temp_written",     # store init: settings file written, not yet linked
    "config.linked",
    "blob.temp_written",       # blob bytes in a temp file (or staging), fsynced
    "blob.renamed",            # blob under its final name (renamed, or linked from a drop)
    "record.temp_written",     # version record in a temp file, not yet claimed
    "record.linked",           # version record claimed its number: the version exists
    "event.temp_written",      # alias/tag/description event in a temp file
    "event.linked",            # event claimed its number
    "index.updated",           # this host's index caught up (after commit)
    "drop.claimed",            # drop renamed into a claim folder
    "drop.marker_hidden",      # COMPLETE set aside so it is not stored
    "archive.extracted",       # an archive drop unpacked into its hidden folder
    "rejected.temp_written",   # REJECTED.json/.txt being written beside a rejected drop
    "rejected.linked",
    "drop.moved",              # drop moved to .ingested/ or the claim into quarantine/
    "snapshot.temp_written",   # an index snapshot compressed into a temp file, fsynced
    "snapshot.linked",         # the snapshot under its final name
    "snapshot.copied",         # a new host's local copy of a snapshot, not yet checked
)
# Points where a process can only be paused (no crash test needed: nothing is written there).
PAUSE_POINTS = (
    "drop.inspected",          # drop claimed and inspected; no file of it opened yet
    "blob.hashing",            # the first chunk of a drop's file read (copying)
    "blob.hashed",             # a drop's file hashed, not yet linked or published
)
PAUSE_LIMIT = 120.0
IO_OPS = ("open", "write", "fsync", "close", "link", "rename", "mkdir", "read")

_counts: dict[str, int] = {}


def point(stage: str) -> None:
    """Kill this process here if the environment asks for a crash at `stage` (or pause)."""
    if os.environ.get("MODELYARD_PAUSE_AT"):
        _pause(stage)
    wanted = os.environ.get("MODELYARD_CRASH_AT")
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != stage:
        return
    _counts[stage] = _counts.get(stage, 0) + 1
    if _counts[stage] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def _pause(stage: str) -> None:
    name, _, nth = os.environ["MODELYARD_PAUSE_AT"].partition(":")
    if name != stage:
        return
    key = "pause:" + stage
    _counts[key] = _counts.get(key, 0) + 1
    if _counts[key] != int(nth or 1):
        return
    flag = os.path.join(os.environ.get("MODELYARD_PAUSE_DIR", "."), f"{stage}.paused")
    with open(flag, "w") as f:
        f.write(str(os.getpid()))
    deadline = time.monotonic() + PAUSE_LIMIT
    while os.path.exists(flag) and time.monotonic() < deadline:
        time.sleep(0.01)


@lru_cache(maxsize=8)
def _parse(spec: str) -> tuple[tuple[str, int, str], ...]:
    faults = []
    for part in spec.split(","):
        op, _, rest = part.strip().partition(":")
        code, _, where = rest.partition(":")
        if op not in IO_OPS:
            raise ValueError(f"MODELYARD_IO_FAULT: unknown operation {op!r}; use one of "
                             f"{', '.join(IO_OPS)}")
        number = int(code) if code.isdigit() else getattr(errno, code.upper(), None)
        if not isinstance(number, int):
            raise ValueError(f"MODELYARD_IO_FAULT: {code!r} is not an errno name such as ENOSPC")
        faults.append((op, number, where))
    return tuple(faults)


def io(op: str, path: object) -> None:
    """Raise the OSError `MODELYARD_IO_FAULT` asks for at `op` on `path`, if any."""
    spec = os.environ.get("MODELYARD_IO_FAULT")
    if not spec:
        return
    text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    for wanted, number, where in _parse(spec):
        if wanted == op and where in text:
            raise OSError(number, os.strerror(number), text)
