"""Crash-safe file writes: temp file in the target directory, fsync, rename or link, fsync dir.

Works on NFS: `link()` is the classic atomic create-if-absent there (O_EXCL is not reliable
on old NFS clients), and a lost reply to a successful link is detected by the link count.
"""

from __future__ import annotations

import errno
import os
import secrets
import socket
from pathlib import Path

from . import faults
from .errors import ReadOnlyStore

TEMP_PREFIX = ".tmp-"
DIR_MODE = 0o2775  # group-shared stores: setgid keeps the group; umask trims the rest


def temp_name(target: Path) -> Path:
    """A temp path beside `target`, unique across hosts and processes, hidden from listings."""
    host = socket.gethostname().replace("/", "_")[:32]
    return target.parent / f"{TEMP_PREFIX}{target.name}.{host}.{os.getpid()}.{secrets.token_hex(4)}"


def fsync_dir(path: Path) -> None:
    """Make a rename or link in `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some network filesystems refuse fsync on directories
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def ensure_dir(path: Path) -> None:
    """Create `path` (and parents) with group-shared permissions, durably."""
    if path.is_dir():
        return
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fsync_dir(path.parent)
    except PermissionError as exc:
        raise _read_only(path, exc) from exc
    except OSError as exc:
        if exc.errno == errno.EROFS:
            raise _read_only(path, exc) from exc
        raise


def create_temp(target: Path, *, mode: int = 0o444) -> tuple[int, Path]:
    """Open a new temp file beside `target` for writing; a refused write says why."""
    tmp = temp_name(target)
    try:
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), tmp
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise _read_only(target.parent, exc) from exc
        raise


def write_temp(target: Path, data: bytes, *, mode: int = 0o444) -> Path:
    """Write `data` to a fresh temp file beside `target`, fsynced; return its path."""
    fd, tmp = create_temp(target, mode=mode)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp)
        raise
    try:
        os.close(fd)
    except OSError:
        _unlink_quietly(tmp)
        raise
    return tmp


def write_replace(target: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Atomically put `data` at `target`, replacing what was there (used only for caches)."""
    tmp = write_temp(target, data, mode=mode)
    try:
        os.replace(tmp, target)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    fsync_dir(target.parent)


def link_exclusive(tmp: Path, target: Path) -> bool:
    """Give the finished temp file `tmp` the name `target` unless that name exists.

    Returns False when another writer already holds `target`. The temp file is removed
    either way, so only complete files ever carry a final name.
    """
    try:
        os.link(tmp, target)
        linked = True
    except FileExistsError:
        linked = False
    except OSError as exc:
        # NFS: the server may have done the link but its reply got lost; trust the count.
        try:
            linked = os.stat(tmp).st_nlink == 2
        except OSError:
            linked = False
        if not linked:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                _unlink_quietly(tmp)
                raise _read_only(target.parent, exc) from exc
            _unlink_quietly(tmp)
            raise
    _unlink_quietly(tmp)
    if linked:
        fsync_dir(target.parent)
    return linked


def write_exclusive(target: Path, data: bytes, *, stage: str = "record") -> bool:
    """Create `target` with `data` only if it does not exist yet; crash-safe."""
    tmp = write_temp(target, data)
    faults.point(f"{stage}.temp_written")
    linked = link_exclusive(tmp, target)
    if linked:
        faults.point(f"{stage}.linked")
    return linked


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _read_only(path: Path, exc: OSError) -> ReadOnlyStore:
    return ReadOnlyStore(
        f"cannot write in {path}: {exc.strerror or exc}. The store is read-only for you; "
        "ask its owner for group write access, or open it read-only (reads still work)"
    )
