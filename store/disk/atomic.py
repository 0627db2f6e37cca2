"""Crash-safe file writes: temp file in the target directory, fsync, rename or link, fsync dir.

Works on NFS: `link()` is the classic atomic create-if-absent there (O_EXCL is not reliable
on old NFS clients), and a lost reply to a successful link is detected by the link count.

Every failure of the filesystem reaches the caller as one named error that says what to do
(ReadOnlyStore, DiskFull, StorageError), after the temp file is removed: nothing is ever
half-written under a final name. Modes are set explicitly, not left to the umask, so a store
shared by a group stays usable by the group whoever wrote last.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

from modelyard.store.disk import faults
from modelyard.store.errors import DiskFull, ModelyardError, ReadOnlyStore, StorageError

TEMP_PREFIX = ".tmp-"
DIR_MODE = 0o2775  # group-shared stores: setgid keeps the group; group may add files
STICKY_DIR_MODE = 0o3775  # write-once areas: only a file's owner may rename or delete it
FILE_MODE = 0o444  # records, events and blobs are never written again
HOST = os.uname().nodename.replace("/", "_")[:32]
_ENOSPC = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}


# modes ---------------------------------------------------------------------------------------

def current_umask() -> int:
    """This process's umask, read without changing it (os.umask() would race other threads)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def shared_mode(mode: int) -> int:
    """`mode` with its owner and group bits kept whatever the umask says (the group shares
    the store), and its world bits trimmed by the umask and never writable."""
    return (mode & ~0o007) | (mode & 0o005 & ~current_umask())


def group_shared(folder: Path) -> bool:
    """Whether `folder` is shared by a group (setgid or group-writable), as a team's store
    is: then what we make inside must stay usable by the group whatever our umask."""
    try:
        return bool(os.stat(folder).st_mode & (stat.S_ISGID | stat.S_IWGRP))
    except OSError:
        return False


def share_dir(folder: Path) -> None:
    """Give a folder we just made inside a group-shared one the store's folder mode
    (setgid, group-writable): mkdir obeys the umask, and a group member must be able to
    rename what is inside (claim a drop, give it back) or remove it."""
    try:
        os.chmod(folder, shared_mode(DIR_MODE))
    except OSError:
        pass  # not ours, or a filesystem that keeps its own modes


# names ---------------------------------------------------------------------------------------

def temp_name(target: Path) -> Path:
    """A temp path beside `target`, unique across hosts and processes, hidden from listings."""
    return target.parent / f"{TEMP_PREFIX}{target.name}.{HOST}.{os.getpid()}.{os.urandom(4).hex()}"


def temp_writer(name: str) -> tuple[str, int] | None:
    """(host, pid) of the process that made a temp file called `name`, if it is one of ours."""
    if not name.startswith(TEMP_PREFIX):
        return None
    head, _, pid = name.rpartition(".")[0].rpartition(".")
    if not pid.isdigit():
        return None
    host = HOST if head.endswith(f".{HOST}") else head.rpartition(".")[2]
    return host, int(pid)


# errors --------------------------------------------------------------------------------------

def storage_error(exc: OSError, path: Path | str, doing: str,
                  after: str = "nothing was half-written") -> ModelyardError:
    """The one-line error a person gets for a failed filesystem call: what, where, what next."""
    name = errno.errorcode.get(exc.errno or 0, "")
    what = f"cannot {doing} {path}: {exc.strerror or exc}" + (f" [{name}]" if name else "")
    if exc.errno in _READ_ONLY:
        return ReadOnlyStore(f"{what}. The store is read-only for you; ask its owner for "
                             "group write access, or open it read-only (reads still work)")
    if exc.errno in _ENOSPC:
        return DiskFull(f"{what}. Free space (or raise your quota) on that filesystem, then "
                        f"run the command again; {after}")
    return StorageError(f"{what}. The disk or network filesystem failed; check it (dmesg, "
                        f"the NFS server) and run the command again; {after}")


# directories ---------------------------------------------------------------------------------

_deferred = threading.local()
_pool: tuple[int, ThreadPoolExecutor] | None = None  # made on first use: `init` needs none


def fsync_all(fds: Sequence[int], dirs: Sequence[int] = ()) -> None:
    """fsync several open files and folders at once, in threads: the filesystem then makes
    them durable in one journal commit instead of one commit each. Returns when all are
    done, then raises the first failure (an OSError); a folder's EINVAL or ENOTSUP is
    ignored, as some network filesystems refuse fsync on folders."""
    global _pool
    every = [*fds, *dirs]
    if len(every) < 2:
        outcomes = [_fsync(fd) for fd in every]
    else:
        if _pool is None or _pool[0] != os.getpid():  # a forked child needs its own threads
            from concurrent.futures import ThreadPoolExecutor

            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=8,
                                                     thread_name_prefix="modelyard-fsync"))
        outcomes = list(_pool[1].map(_fsync, every))
    for fd, failure in zip(every, outcomes, strict=True):
        if failure is not None and not (fd in dirs and failure.errno in _DIR_REFUSALS):
            raise failure


_DIR_REFUSALS = {errno.EINVAL, errno.ENOTSUP, errno.EBADF}


def _fsync(fd: int) -> OSError | None:
    try:
        os.fsync(fd)
    except OSError as exc:
        return exc
    return None


@contextmanager
def deferred_dir_syncs() -> Iterator[None]:
    """Within the block, this thread's folder fsyncs wait for the next `sync_deferred()`
    (and the end of the block), so one journal commit makes many renames and links durable.

    Callers keep the order that matters for a crash: `link_exclusive` (a record or event
    taking its number) first syncs what is pending, so the blobs a record names are durable
    before it is; a drop is moved out of its claim only after a `sync_deferred()`.
    Until then a crash may forget a rename or link, never leave a partial file under a
    final name (every file is still fsynced before its rename or link).
    """
    if getattr(_deferred, "pending", None) is not None:
        yield  # nested: the outer block syncs
        return
    _deferred.pending = {}
    try:
        yield
    except BaseException:
        try:
            sync_deferred()  # best effort: the block's error is the one to report
        except Exception:  # noqa: BLE001
            pass
        raise
    else:
        sync_deferred()
    finally:
        _deferred.pending = None


def deferring() -> bool:
    """Whether this thread is inside `deferred_dir_syncs`."""
    return getattr(_deferred, "pending", None) is not None


def sync_deferred() -> None:
    """fsync every folder whose fsync this thread deferred (each once)."""
    pending = getattr(_deferred, "pending", None)
    if pending:
        folders = [p for p in pending.values() if os.path.isdir(p)]  # claims move away
        pending.clear()
        sync_dirs(folders)


def sync_dirs(folders: list[Path]) -> None:
    """fsync `folders` together (see `fsync_all`), each as `fsync_dir` would."""
    if len(folders) < 2:
        for folder in folders:
            _fsync_dir_now(folder)
        return
    opened: list[int] = []
    try:
        for folder in folders:
            try:
                faults.io("fsync", folder)
                opened.append(os.open(folder, os.O_RDONLY | os.O_DIRECTORY))
            except OSError as exc:
                raise storage_error(exc, folder, "sync the folder",
                                    "the change may not be durable") from exc
        try:
            fsync_all([], opened)
        except OSError as exc:
            raise storage_error(exc, folders[0], "sync the folder",
                                "the change may not be durable") from exc
    finally:
        for fd in opened:
            os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename or link in `path` durable (deferred inside `deferred_dir_syncs`)."""
    pending = getattr(_deferred, "pending", None)
    if pending is not None:
        pending.setdefault(os.fspath(path), Path(path))
        return
    _fsync_dir_now(path)


def _fsync_dir_now(path: Path) -> None:
    try:
        faults.io("fsync", path)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise storage_error(exc, path, "sync the folder", "the change may not be durable") \
            from exc
    try:
        os.fsync(fd)
    except OSError as exc:  # some network filesystems refuse fsync on directories
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise storage_error(exc, path, "sync the folder",
                                "the change may not be durable") from exc
    finally:
        os.close(fd)


def ensure_dir(path: Path, *, sticky: bool = False) -> None:
    """Create `path` (and missing parents) durably, group-shared: setgid, group-writable,
    and with `sticky` (blobs, records, events) only owners may remove what they wrote.

    Missing parents outside a shared folder (e.g. ~/.local/share above a new store) get
    ordinary modes; only the folder asked for and those inside a shared (setgid or
    group-writable) one are shared.
    """
    path = Path(path)
    if path.is_dir():
        return
    missing, above = [], path
    while not os.path.isdir(above) and above.parent != above:
        missing.append(above)
        above = above.parent
    try:
        inside = bool(os.stat(above).st_mode & (stat.S_ISGID | stat.S_IWGRP))
    except OSError:
        inside = False
    wanted = shared_mode(STICKY_DIR_MODE if sticky else DIR_MODE)
    for folder in reversed(missing):
        shared = inside or folder == path
        try:
            faults.io("mkdir", folder)
            os.mkdir(folder, (wanted if shared else 0o777) & 0o777)
        except FileExistsError:
            if os.path.isdir(folder):  # another writer made it first
                continue
            raise StorageError(f"cannot create the folder {folder}: a file is in the way; "
                               "move it aside") from None
        except OSError as exc:
            raise storage_error(exc, folder, "create the folder") from exc
        if shared:
            try:
                os.chmod(folder, wanted)  # mkdir drops setgid and sticky, and obeys umask
            except OSError:
                pass
        fsync_dir(folder.parent)
        inside = inside or shared


# files ---------------------------------------------------------------------------------------

def create_temp(target: Path, *, mode: int = FILE_MODE,
                readable: bool = False) -> tuple[int, Path]:
    """Open a new temp file beside `target` for writing (`readable`: and reading back, the
    mode being only what later opens get); a refused write says why."""
    tmp = temp_name(target)
    try:
        faults.io("open", target)
        access = os.O_RDWR if readable else os.O_WRONLY
        fd = os.open(tmp, access | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise storage_error(exc, target.parent, "write in") from exc
    try:
        os.fchmod(fd, shared_mode(mode))
    except OSError:
        pass  # some network filesystems refuse; their own modes then apply
    return fd, tmp


def write_all(fd: int, data: bytes | memoryview, target: Path) -> None:
    """Write every byte of `data` to `fd`; a failure is a named error about `target`."""
    try:
        faults.io("write", target)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        raise storage_error(exc, target, "write") from exc


def finish_temp(fd: int, tmp: Path, target: Path) -> None:
    """fsync and close a filled temp file; on failure remove it and raise a named error.

    NFS reports a failed write at fsync or close, so both are checked.
    """
    try:
        faults.io("fsync", target)
        os.fsync(fd)
    except OSError as exc:
        abandon(fd, tmp)
        raise storage_error(exc, target, "write") from exc
    try:
        faults.io("close", target)
    except OSError as exc:
        abandon(fd, tmp)
        raise storage_error(exc, target, "write") from exc
    try:
        os.close(fd)
    except OSError as exc:  # the descriptor is released even when close fails
        unlink_quietly(tmp)
        raise storage_error(exc, target, "write") from exc


def abandon(fd: int, tmp: Path) -> None:
    """Close and remove a temp file whose writing failed."""
    try:
        os.close(fd)
    except OSError:
        pass
    unlink_quietly(tmp)


def write_temp(target: Path, data: bytes, *, mode: int = FILE_MODE) -> Path:
    """Write `data` to a fresh temp file beside `target`, fsynced; return its path."""
    fd, tmp = create_temp(target, mode=mode)
    try:
        write_all(fd, data, target)
    except BaseException:
        abandon(fd, tmp)
        raise
    finish_temp(fd, tmp, target)
    return tmp


def write_replace(target: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Atomically put `data` at `target`, replacing what was there (used only for caches)."""
    tmp = write_temp(target, data, mode=mode)
    try:
        faults.io("rename", target)
        os.replace(tmp, target)
    except OSError as exc:
        unlink_quietly(tmp)
        raise storage_error(exc, target, "replace") from exc
    except BaseException:
        unlink_quietly(tmp)
        raise
    fsync_dir(target.parent)


def link_exclusive(tmp: Path, target: Path, *, sync_first: bool = True) -> bool:
    """Give the finished temp file `tmp` the name `target` unless that name exists.

    Returns False when another writer already holds `target`. The temp file is removed
    either way, so only complete files ever carry a final name. What was written before
    (the blobs a record names) is made durable first, even when folder syncs are deferred;
    a caller linking many records in a row (writer.claim_versions) syncs once before the
    first and passes `sync_first=False`, so their folder syncs stay deferred together.
    """
    if sync_first:
        sync_deferred()
    try:
        faults.io("link", target)
        os.link(tmp, target)
        linked = True
    except FileExistsError:
        linked = False
    except OSError as exc:
        linked = _lost_reply(tmp, target)
        if not linked and not os.path.lexists(target):
            unlink_quietly(tmp)
            raise storage_error(exc, target, "create") from exc
        # else: the name exists and is not ours. sshfs (and some NFS servers) answer a link
        # onto an existing name with EPERM or EACCES rather than EEXIST: a lost race all
        # the same, so the caller takes the next number instead of calling the store
        # read-only.
    unlink_quietly(tmp)
    if linked:
        fsync_dir(target.parent)
    return linked


def _lost_reply(tmp: Path, target: Path) -> bool:
    """Whether a link that reported failure did happen (NFS may lose the reply of a link it
    made): the temp file then has two names, or `target` is the temp file's inode."""
    try:
        mine = os.stat(tmp)
    except OSError:
        return False
    if mine.st_nlink == 2:
        return True
    try:
        theirs = os.lstat(target)
    except OSError:
        return False
    return (theirs.st_ino, theirs.st_dev) == (mine.st_ino, mine.st_dev)


def write_exclusive(target: Path, data: bytes, *, stage: str = "record") -> bool:
    """Create `target` with `data` only if it does not exist yet; crash-safe."""
    tmp = write_temp(target, data)
    faults.point(f"{stage}.temp_written")
    linked = link_exclusive(tmp, target)
    if linked:
        faults.point(f"{stage}.linked")
    return linked


def unlink_quietly(path: Path) -> None:
    """Remove a temp file if it is there: cleanup after a failure must not hide the failure
    (its caller re-raises), and a file already gone is the goal reached."""
    try:
        os.unlink(path)
    except OSError:
        pass
