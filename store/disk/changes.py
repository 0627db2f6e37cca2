"""The store's change log: which models changed, so readers know where to look without a
fresh directory listing, and a counter that lets them skip looking at all.

Every writer appends one line, the changed model's folder name, to `<store>/models/.changes`
before and after its record or event file becomes durable under its final name. A reader
remembers the log's size from its last look:
- the same size: nothing was written since, so it probes nothing (two `stat`s per model
  saved on every command; ~100 ms on a store of ten thousand models);
- larger: the new lines name the models to probe, by path. A network filesystem's cached
  listing of `models/` (sshfs: 20 s, NFS: up to 60 s) never hides a new model this way,
  because opening a path revalidates it where a listing is answered from the cache.

Why the size of an append-only file: it only grows, whatever the clocks (mtimes tie within
a clock tick and go back across hosts). The file is opened before its size is read, so
NFS's close-to-open consistency revalidates it instead of answering from a stale attribute
cache. Two NFS clients appending at the same instant can land on the same bytes: a line
that is not a model folder's name makes the reader probe every model, as does a log
written by an older modelyard (dots, no names).

It is only a hint: the truth is the record and event files. Writers note before they
write as well as after, so a writer killed between its file and its second line has still
changed the log for every reader that had not looked in between. A reader that looked in
exactly that window probes the models it read of last time once more at its next look
after any write anywhere in the store, or at its next full probe (FULL_PROBE_SECONDS).
Writers deduplicating against the index probe their own model regardless; `reindex` and
`fsck` take the union of the listing and every name in the log.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

NAME = ".changes"
FULL_PROBE_SECONDS = 600.0


def marker_path(models_dir: Path | str) -> str:
    return os.path.join(models_dir, NAME)


def note(models_dir: Path | str, folder: str) -> None:
    """Log a change to the model in `folder` (its folder name under models/), before and
    after the changed file is durable. Never fails the write it follows: on a read-only or
    full disk the readers' periodic full probe covers it. One `write` of one short line
    on an O_APPEND descriptor: atomic on a local disk and through sshfs's server."""
    path = marker_path(models_dir)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:
        fd = _create(path, models_dir)
    except OSError:
        return
    if fd < 0:
        return
    try:
        os.write(fd, folder.encode() + b"\n")
    except OSError:
        pass
    finally:
        os.close(fd)


def _create(path: str, models_dir: Path | str) -> int:
    """Create the counter as writable as the models folder is (a store shared by a group
    has a group-writable tree; the umask of whoever writes first must not lock others out)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError:
        return -1
    try:
        os.fchmod(fd, os.stat(models_dir).st_mode & 0o666)
    except OSError:
        pass
    return fd


def counter(models_dir: Path | str) -> int:
    """The number of changes noted so far (0 when none was ever noted), read so that NFS
    revalidates it; -1 when it cannot be read, which never equals a remembered value."""
    try:
        fd = os.open(marker_path(models_dir), os.O_RDONLY)
    except FileNotFoundError:
        return 0
    except OSError:
        return -1
    try:
        info = os.fstat(fd)
        return info.st_size if stat.S_ISREG(info.st_mode) else -1
    finally:
        os.close(fd)


MAX_READ = 64 << 20  # bytes of log read for one catch-up; beyond, probing every model is cheaper


def names_between(models_dir: Path | str, start: int, end: int
                  ) -> tuple[set[str] | None, int]:
    """(the folder names logged in bytes [start, end), how far they were read). A network
    filesystem can report the new size before it serves the new bytes: then only the whole
    lines read are taken and the rest is read next time. The names are None when they
    cannot be trusted (unreadable, torn by concurrent NFS appends, an older modelyard's
    dots, too long): the reader then probes every model instead."""
    if not 0 <= start <= end or end - start > MAX_READ:
        return None, end
    try:
        with open(marker_path(models_dir), "rb") as log:
            log.seek(start)
            chunk = log.read(end - start)
    except OSError:
        return None, end
    chunk = chunk[:chunk.rfind(b"\n") + 1]  # whole lines only
    names = set()
    for line in chunk.splitlines():
        name = _folder_name(line)
        if name is None:
            return None, end
        names.add(name)
    return names, start + len(chunk)


SETTLE_SECONDS = 1.1  # FUSE's default attribute timeout (sshfs), and a little more


def settle(models_dir: Path | str) -> None:
    """Make the next read of the log see its current size, where that is possible: on a
    network filesystem, open and close it (sshfs and NFS revalidate then), and wait out
    the kernel's own attribute cache (one second on FUSE). For `reindex`, which must see
    every model that exists; a catch-up does not wait and sees a change one look later."""
    from modelyard.store.disk.fskind import is_network_fs

    if not is_network_fs(models_dir):
        return
    try:
        os.close(os.open(marker_path(models_dir), os.O_RDONLY))
    except OSError:
        return
    time.sleep(SETTLE_SECONDS)


def all_names(models_dir: Path | str) -> set[str]:
    """Every well-formed folder name the log ever named (for `reindex` and `fsck`, which
    must not depend on a cached listing). Read in pieces: the log grows by two lines per
    write."""
    names: set[str] = set()
    try:
        with open(marker_path(models_dir), "rb") as log:
            for line in log:
                name = _folder_name(line.rstrip(b"\n"))
                if name is not None:
                    names.add(name)
    except OSError:
        pass
    return names


def _folder_name(line: bytes) -> str | None:
    try:
        name = line.decode()
    except UnicodeDecodeError:
        return None
    if not name or name.startswith(".") or "/" in name or "\0" in name or len(line) > 255:
        return None
    return name
