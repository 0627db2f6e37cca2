"""Which filesystem a path lives on, read from the mount table.

Network filesystems do not deliver inotify events for other hosts' writes and do not
support SQLite's WAL across hosts, so the watcher polls there and the index avoids WAL.
"""

from __future__ import annotations

import os
from pathlib import Path

NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "sshfs", "lustre", "ceph",
              "fuse.ceph", "fuse.cephfs", "gpfs", "beegfs", "fuse.glusterfs", "glusterfs",
              "9p", "afs", "fuse.s3fs", "fuse.gcsfuse", "fuse.juicefs", "panfs", "wekafs"}


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace(
        "\\134", "\\")


def mount_of(path: Path | str, mounts_file: str = "/proc/self/mounts") -> tuple[str, str]:
    """(mount point, filesystem type) of the longest mount prefix of `path`."""
    target = os.path.realpath(path)
    best = ("/", "unknown")
    try:
        with open(mounts_file, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return best
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        point, kind = _unescape(parts[1]), parts[2]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[0]):
            best = (point, kind)
    return best


def is_network_fs(path: Path | str, mounts_file: str = "/proc/self/mounts") -> bool:
    return mount_of(path, mounts_file)[1] in NETWORK_FS
