"""The shared filesystem's own clock, for liveness checks that must hold across hosts.

Hosts' clocks disagree (one 11 minutes ahead stole another's live claim; 2 hours ahead, its
fsck deleted a live temp file). A file's mtime is set by whoever stores it: the kernel on a
local disk, the server on NFS or sshfs. So the age of a heartbeat is the mtime of a file we
create now in the same folder tree minus the heartbeat's mtime: both stamps come from the
same clock, and `time.time()` never enters.
"""

from __future__ import annotations

import os
from pathlib import Path

from modelyard.store.disk.atomic import temp_name


def fs_now(folder: Path) -> float | None:
    """The current time by the clock that stamps files in `folder` (the mtime of a fresh
    file made there and removed at once); None when nothing can be created there (a
    read-only store: then nothing is old enough to clean up)."""
    probe = temp_name(Path(folder) / "clock")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return None
    try:
        os.write(fd, b"t")  # a write makes the server stamp the file, on every filesystem
        return os.fstat(fd).st_mtime
    except OSError:
        return None
    finally:
        os.close(fd)
        try:
            os.unlink(probe)
        except OSError:
            pass


def touch_by_server(folder: Path) -> None:
    """Set `folder`'s mtime to the filesystem's now, by creating and removing a file in it.
    (`os.utime(folder)` would stamp it with this host's clock on FUSE filesystems.)"""
    probe = temp_name(Path(folder) / "beat")
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    os.unlink(probe)
