"""Copy a file into a blob's temp file and hash it, with the copy and the hashing running
side by side: the cost of storing a big file is about the slower of the two, not their sum.

On a local filesystem the kernel copies (`copy_file_range`: no bytes through Python, and no
long runs of small `write()`s, which stall for seconds on some virtual disks) while a second
thread hashes the copied range back from the page cache. The digest is of the bytes in the
temp file, which only this process can write (it is created read-only). Where the kernel
cannot copy between the two files (another filesystem, FUSE, an old kernel), or the store is
on a network filesystem (reading the copy back would cross the network again), the bytes are
read once and handed to the hashing thread while the main thread writes them.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import threading
from pathlib import Path

from modelyard.store.disk import atomic, faults
from modelyard.store.disk.dropfs import StillWriting

KERNEL_CHUNK = 64 << 20  # one copy_file_range call; the hasher follows a chunk behind
READ_CHUNK = 4 << 20  # the read-and-write path's buffer (and the hasher's reads)
QUEUE_CHUNKS = 8  # read-ahead the hasher may fall behind by: 32 MiB
WRITEBACK_CHUNK = 64 << 20  # start writing back each 64 MiB copied and hashed
# The kernel cannot copy between these two files: fall back to reading and writing.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF,
                   errno.ETXTBSY, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}


class _Hasher(threading.Thread):
    """Hashes a temp file's bytes up to the offset the copier has reached."""

    def __init__(self, fd: int) -> None:
        super().__init__(name="modelyard-hash", daemon=True)
        self.fd = fd
        self.sha = hashlib.sha256()
        self.hashed = 0
        self._flushed = 0
        self._reached = 0
        self._done = False
        self._cv = threading.Condition()
        self.error: BaseException | None = None

    def reached(self, offset: int, *, done: bool = False) -> None:
        with self._cv:
            self._reached = offset
            self._done = done
            self._cv.notify()

    def run(self) -> None:
        try:
            while True:
                with self._cv:
                    while self._reached <= self.hashed and not self._done:
                        self._cv.wait()
                    limit, done = self._reached, self._done
                while self.hashed < limit:
                    chunk = os.pread(self.fd, min(READ_CHUNK, limit - self.hashed), self.hashed)
                    if not chunk:
                        raise OSError(errno.EIO, "the copy ended early while being hashed")
                    self.sha.update(chunk)
                    self.hashed += len(chunk)
                    self._flushed = start_writeback(self.fd, self._flushed, self.hashed)
                if done and self.hashed >= limit:
                    return
        except BaseException as exc:  # handed to the copier, which raises it
            self.error = exc


def copy_hashed(src: int, dst: int, expected: int, *, source: str, where: Path,
                kernel: bool) -> tuple[str, int]:
    """Copy all of `src` (named `source` in messages) into `dst`, an empty temp file opened
    read-write beside `where`, and return (digest, size) of what was written. A source
    longer than `expected` bytes is still being written: StillWriting. `kernel=False` skips
    the kernel's copy."""
    if kernel:
        done = _kernel_copy(src, dst, expected, source, where)
        if done is not None:
            return done
    return _pipelined_copy(src, dst, expected, source, where)


def _growing(source: str) -> StillWriting:
    return StillWriting(f"{source} grew while it was stored; it is still being written")


def _kernel_copy(src: int, dst: int, expected: int, source: str,
                 where: Path) -> tuple[str, int] | None:
    """copy_file_range with the hash following; None when the kernel refuses the pair of
    files before anything was copied (the caller then reads and writes instead)."""
    hasher = _Hasher(dst)
    hasher.start()
    size = 0
    try:
        while True:
            # Past `expected`, ask for one byte: a file that yields it is still growing.
            want = max(min(KERNEL_CHUNK, expected - size), 1)
            try:
                faults.io("write", where)
                copied = os.copy_file_range(src, dst, want, size, size)
            except OSError as exc:
                if size == 0 and exc.errno in _NO_KERNEL_COPY:
                    return None
                raise atomic.storage_error(exc, where, "write") from exc
            if copied == 0:
                break
            size += copied
            if size > expected:
                raise _growing(source)
            hasher.reached(size)
            if size == copied:
                faults.point("blob.hashing")
            if hasher.error is not None:
                break
    finally:
        hasher.reached(size, done=True)
        hasher.join()
    if hasher.error is not None:
        raise atomic.storage_error(_as_os_error(hasher.error), where, "read back") \
            from hasher.error
    return "sha256:" + hasher.sha.hexdigest(), size


def _pipelined_copy(src: int, dst: int, expected: int, source: str,
                    where: Path) -> tuple[str, int]:
    """Read each chunk once; the hashing thread digests it while this thread writes it."""
    chunks: queue.Queue[bytes | None] = queue.Queue(QUEUE_CHUNKS)
    sha = hashlib.sha256()

    def hash_chunks() -> None:
        while (chunk := chunks.get()) is not None:
            sha.update(chunk)

    hasher = threading.Thread(target=hash_chunks, name="modelyard-hash", daemon=True)
    hasher.start()
    size = flushed = 0
    try:
        while chunk := os.pread(src, READ_CHUNK, size):
            chunks.put(chunk)
            size += len(chunk)
            atomic.write_all(dst, chunk, where)
            flushed = start_writeback(dst, flushed, size)
            if size == len(chunk):
                faults.point("blob.hashing")
            if size > expected:  # growing: stop now, whatever its final size
                raise _growing(source)
    finally:
        chunks.put(None)
        hasher.join()
    return "sha256:" + sha.hexdigest(), size


def start_writeback(fd: int, flushed: int, end: int) -> int:
    """Ask the kernel to start writing `fd`'s bytes from `flushed` to `end` to disk, once
    there are enough of them; returns the new flushed offset. The closing fsync then finds
    little left to write instead of the whole file (0.7 s per GiB here). (Linux starts the
    writeback of dirty pages for POSIX_FADV_DONTNEED, and drops only clean ones.)"""
    if end - flushed < WRITEBACK_CHUNK:
        return flushed
    try:
        os.posix_fadvise(fd, flushed, end - flushed, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass  # advice only
    return end


def _as_os_error(exc: BaseException) -> OSError:
    return exc if isinstance(exc, OSError) else OSError(errno.EIO, str(exc))
