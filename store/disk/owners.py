"""Who really wrote a file: its owner on the filesystem, beside the user a record or event
claims. `MODELYARD_USER` and `created_by` are whatever the writer said; the owner of the
file is set by the kernel (and, on NFS, the server) and cannot be claimed. Shown wherever
the user is, so a spoofed name is visible (the security issue's "every change says truly
who made it")."""

from __future__ import annotations

import os
import pwd
from functools import lru_cache

OWNER_KEY = "\x00file_uid"  # where a freshly read record carries its file's owner uid
MTIME_KEY = "\x00file_mtime_ms"  # and its file's mtime, set by the file server


@lru_cache(maxsize=4096)
def name_of(uid: int) -> str:
    """The login name of `uid`, or the number when this host does not know it."""
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


def read_owned(path: os.PathLike | str) -> tuple[bytes, int, int]:
    """(the bytes of a record or event file, the uid that owns it, its mtime in ms), from
    one open file."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        # One read of a byte more than the file's size: getting exactly its size is the end
        # of the file, with no second read to find it (a round trip on a network
        # filesystem). More (it grew) or less (a short read): read on to the end.
        first = os.read(fd, info.st_size + 1)
        chunks = [first]
        if len(first) != info.st_size:
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
        return b"".join(chunks), info.st_uid, info.st_mtime_ns // 1_000_000
    finally:
        os.close(fd)


def mismatch(claimed: str, owner: str) -> bool:
    """Whether the claimed user is not the file's owner (unknown owners never mismatch)."""
    return bool(owner) and claimed != owner
