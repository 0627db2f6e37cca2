"""The store's change counter: a hint that lets a reader skip looking for new files.

Catching the index up means probing every model folder for the next record and event
numbers: two `stat`s per model, ~100 ms on a store of ten thousand models, paid by every
CLI command. So every writer appends one byte to `<store>/models/.changes` before and after
its record or event file becomes durable under its final name; a reader that finds the file's size
equal to what its index saw last time knows nothing was written since and skips the probes.

Why the size of an append-only file: it only grows, whatever the clocks (mtimes tie within
a clock tick and go back across hosts). The file is opened before its size is read, so
NFS's close-to-open consistency revalidates it instead of answering from a stale attribute
cache. (Two NFS clients appending at the same instant can land on the same byte: one of
the rare misses the periodic full probe covers.)

It is only a hint: the truth is the record and event files. Writers count before they
write as well as after, so a writer killed between its file and its second byte has still
changed the counter for every reader that had not probed in between. For a reader that
probed in exactly that window, the file stays unseen until the next write anywhere in the
store (after which readers probe every model) or until its last full probe is older than
FULL_PROBE_SECONDS. Writers deduplicating against the index probe their own model
regardless, and `reindex` and `fsck` never rely on the counter.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

NAME = ".changes"
FULL_PROBE_SECONDS = 600.0


def marker_path(models_dir: Path | str) -> str:
    return os.path.join(models_dir, NAME)


def note(models_dir: Path | str) -> None:
    """Count one change (after the changed file is durable). Never fails the write it
    follows: on a read-only or full disk the readers' periodic full probe covers it."""
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
        os.write(fd, b".")
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
