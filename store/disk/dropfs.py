"""Reach a drop's files through directory descriptors, never through a symbolic link.

After the claim a drop folder sits in the watcher's claim, but its producer still owns what
is inside and can swap a folder or a file for a link at any moment (`mv sub .old; ln -s ~
sub`). Checking the tree once and opening by path later would then read the watcher's own
files. So, while a drop is `anchored`, every file under it is opened component by component
from the drop folder's descriptor with O_NOFOLLOW (folders with O_DIRECTORY too), must be a
regular file, and a hard link to another user's file is refused. Readers keep passing paths
(`open_regular(path)`): under the anchor the path is only a name, resolved safely; outside
any anchor (`modelyard add` of one's own folder) the last component must not be a link.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from modelyard.store.disk import faults
from modelyard.store.disk.drop_limits import ByteLimits
from modelyard.store.errors import DropRejected, ModelyardError

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_HINT = ("copy real files into the drop and leave it alone once it is complete; links "
         "could make the watcher read files from outside the drop")


class StillWriting(ModelyardError):
    """A drop's file changed after it was hashed: it is still being written. The drop is
    given back (not rejected) and ingested once it has been quiet again."""


@dataclass
class Anchor:
    """A drop folder held open: its path (a name only), descriptor, owner and byte budget."""

    root: str
    fd: int
    owner: int
    limits: ByteLimits
    charged: int = 0


@dataclass
class Opened:
    """A regular file opened safely: its descriptor, the folder's descriptor and the name
    in it (to link or reopen that very entry), and the fstat taken right after opening."""

    fd: int
    dir_fd: int
    name: str
    st: os.stat_result
    where: str

    def close(self) -> None:
        for fd in (self.fd, self.dir_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    def reopen(self) -> int:
        """A fresh descriptor of the same entry (never following a link)."""
        return os.open(self.name, FILE_FLAGS, dir_fd=self.dir_fd)


_anchor: ContextVar[Anchor | None] = ContextVar("modelyard_drop_anchor", default=None)


@contextmanager
def anchored(folder: Path, limits: ByteLimits | None = None, *,
             base: Path | None = None) -> Iterator[Anchor]:
    """Hold `folder` open: until the block ends, files under it are opened only through it.
    With `base` (the watcher's claim folder, which holds `folder`), every component from
    `base` down to `folder` is opened without following a link too: an unpacked archive's
    folder lies a few folders below the claim."""
    try:
        fd = _open_folder(Path(folder), base)
    except OSError as exc:
        raise DropRejected(f"the drop folder cannot be opened as a folder: {exc.strerror}",
                           _HINT) from None
    anchor = Anchor(os.path.abspath(folder), fd, os.fstat(fd).st_uid, limits or ByteLimits())
    token = _anchor.set(anchor)
    try:
        yield anchor
    finally:
        _anchor.reset(token)
        os.close(fd)


def _open_folder(folder: Path, base: Path | None) -> int:
    if base is None:
        return os.open(folder, DIR_FLAGS)
    rel = os.path.relpath(os.path.abspath(folder), os.path.abspath(base))
    parts = [p for p in rel.split(os.sep) if p not in ("", ".")]
    if ".." in parts:
        raise DropRejected(f"{folder} is not inside {base}", _HINT)
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    for part in parts:
        try:
            nxt = os.open(part, DIR_FLAGS, dir_fd=fd)
        finally:
            os.close(fd)
        fd = nxt
    return fd


def current() -> Anchor | None:
    return _anchor.get()


def charge(size: int, where: str) -> None:
    """Count a file about to be stored against the anchored drop's byte limits."""
    anchor = _anchor.get()
    if anchor is None:
        return
    anchor.limits.check_file(size, where)
    anchor.charged += size
    anchor.limits.check_drop(anchor.charged, "the drop")


def open_regular(path: Path | str) -> Opened:
    """Open a regular file for reading: under the anchor through descriptors only (any link
    on the way is a DropRejected), elsewhere refusing a link as its last component."""
    anchor = _anchor.get()
    full = os.path.abspath(path)
    if anchor is not None and (full == anchor.root or full.startswith(anchor.root + os.sep)):
        return _open_beneath(anchor, os.path.relpath(full, anchor.root))
    dir_fd = os.open(os.path.dirname(full) or "/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = os.open(os.path.basename(full), FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        os.close(dir_fd)
        if exc.errno == errno.ELOOP:
            raise DropRejected(f"{path} is a symbolic link; only regular files are stored",
                               _HINT) from None
        raise
    return _checked(Opened(fd, dir_fd, os.path.basename(full), os.fstat(fd), str(path)), None)


def _open_beneath(anchor: Anchor, rel: str) -> Opened:
    parts = [p for p in rel.split(os.sep) if p not in ("", ".")]
    if not parts or ".." in parts:
        raise DropRejected(f"{rel!r} is not a file inside the drop", _HINT)
    dir_fd = os.dup(anchor.fd)
    try:
        for i, part in enumerate(parts[:-1]):
            try:
                nxt = os.open(part, DIR_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise DropRejected(
                        f"{'/'.join(parts[:i + 1])} in the drop is no longer a folder (a "
                        "symbolic link or a file took its place after the drop was claimed)",
                        _HINT) from None
                raise
            os.close(dir_fd)
            dir_fd = nxt
        try:
            fd = os.open(parts[-1], FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise DropRejected(f"{'/'.join(parts)} in the drop is a symbolic link; only "
                                   "regular files are stored", _HINT) from None
            raise
    except BaseException:
        os.close(dir_fd)
        raise
    opened = Opened(fd, dir_fd, parts[-1], os.fstat(fd), "/".join(parts))
    return _checked(opened, anchor)


def _checked(opened: Opened, anchor: Anchor | None) -> Opened:
    st = opened.st
    problem = None
    if not stat.S_ISREG(st.st_mode):
        problem = f"{opened.where} is not a regular file (folders, FIFOs and devices are refused)"
    elif anchor is not None and st.st_nlink > 1 and st.st_uid != anchor.owner:
        problem = (f"{opened.where} in the drop is a hard link to a file of another user "
                   f"(uid {st.st_uid}, the drop's owner is uid {anchor.owner})")
    if problem is not None:
        opened.close()
        raise DropRejected(problem, _HINT)
    return opened


def read_bytes(path: Path | str, limit: int, where: str | None = None) -> bytes:
    """A whole small file, opened as `open_regular` does; DropRejected beyond `limit`."""
    opened = open_regular(path)
    try:
        if opened.st.st_size > limit:
            raise DropRejected(f"{where or opened.where} is {opened.st.st_size:,} bytes; "
                               f"modelyard reads at most {limit:,}", "make the file smaller")
        chunks, size = [], 0
        faults.io("read", path)  # a drop's own disk failing: an unexpected error (drops.py)
        while chunk := os.read(opened.fd, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise DropRejected(f"{where or opened.where} grew beyond {limit:,} bytes "
                                   "while read", "make the file smaller")
        return b"".join(chunks)
    finally:
        opened.close()


def fresh_view(opened: Opened, size: int) -> None:
    """StillWriting unless a fresh open of the same entry shows the file exactly as hashed:
    same inode, `size` bytes, same modification time, and nothing past the hashed end.
    A new descriptor makes FUSE and NFS clients ask the server again where the old one's
    cached attributes would not (see the README's filesystem section for what each
    filesystem guarantees)."""
    old = opened.st
    try:
        fd = opened.reopen()
    except OSError as exc:
        raise StillWriting(f"{opened.where} went away after it was hashed "
                           f"({exc.strerror}); it is still being written") from None
    try:
        st = os.fstat(fd)
        tail = os.pread(fd, 1, size)
    finally:
        os.close(fd)
    if (st.st_dev, st.st_ino) != (old.st_dev, old.st_ino) or tail or st.st_size != size \
            or st.st_mtime_ns != old.st_mtime_ns:
        raise StillWriting(f"{opened.where} changed after it was hashed ({size:,} bytes "
                           f"hashed, {st.st_size:,} now); it is still being written and is "
                           "retried once it has been quiet")


FRESH_AFTER = 1.2  # seconds: FUSE's attribute cache (attr_timeout, 1 s by default) has expired


def check_quiet(anchor: Anchor, quiet: float, server_now_ns: int) -> None:
    """StillWriting unless every file of the drop, seen through a fresh open, last changed
    at least `quiet` seconds before `server_now_ns` (a time set by the file server).

    On a network filesystem the scan that found the drop quiet may have looked at cached
    attributes (sshfs keeps them 20 s, longer than the 15 s quiet period), so a slow copy
    looked finished. A new descriptor is answered by the server (NFS close-to-open, sshfs
    open), once the kernel's own attribute cache has expired (FRESH_AFTER)."""
    limit = server_now_ns - int(quiet * 1e9)
    for where, st in _fresh_stats(anchor.fd, "", 0):
        changed = max(st.st_mtime_ns, st.st_ctime_ns)
        if changed % 1_000_000_000 == 0:  # whole seconds (sftp): it may be up to 1 s later
            changed += 1_000_000_000
        if changed > limit:
            ago = max(0.0, (server_now_ns - changed) / 1e9)
            raise StillWriting(f"{where} changed {ago:.1f} s ago (seen through a fresh open; "
                               f"the drop must be unchanged for {quiet:g} s): it is still "
                               "being written and is retried once it has been quiet")


def _fresh_stats(dir_fd: int, prefix: str, depth: int) -> Iterator[tuple[str, os.stat_result]]:
    from modelyard.store.disk.drop_limits import MAX_DEPTH

    if depth > MAX_DEPTH:
        raise DropRejected(f"{prefix} is nested more than {MAX_DEPTH} folders deep",
                           "flatten the drop")
    for name in sorted(os.listdir(dir_fd)):
        where = f"{prefix}/{name}" if prefix else name
        try:
            fd = os.open(name, FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise DropRejected(f"{where} in the drop is a symbolic link", _HINT) from None
            raise StillWriting(f"{where} cannot be opened now ({exc.strerror})") from None
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                os.close(fd)
                fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
                yield where, st
                yield from _fresh_stats(fd, where, depth + 1)
            elif stat.S_ISREG(st.st_mode):
                yield where, st
        finally:
            os.close(fd)


def server_now_ns(folder: Path) -> int:
    """The file server's clock: the modification time it gives a file created in `folder`
    (a folder of the watcher's own, such as its claim), so host clocks need not agree."""
    probe = Path(folder) / f".now-{os.getpid()}"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        return os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)
        os.unlink(probe)
