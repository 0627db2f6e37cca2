"""Content-addressed blobs: immutable files named by their SHA-256, verified on every read.

Bytes are hashed beside the copy (disk/blob_copy.py). A blob's final name appears only once
its temp file is complete and fsynced; an existing blob is never rewritten.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from modelyard.store.disk import atomic, faults
from modelyard.store.disk.blob_copy import copy_hashed
from modelyard.store.disk.dropfs import (
    Opened,
    charge,
    fresh_view,
    open_regular,
)
from modelyard.store.errors import BlobCorrupt, BlobMissing, StoreCorrupt

CHUNK = 1 << 20
DIGEST_RE = re.compile(r"^sha256:([0-9a-f]{64})$")


def hex_of(digest: str) -> str:
    """The hex part of a `sha256:<hex>` digest; refuse anything else (it names a path)."""
    match = DIGEST_RE.match(digest or "")
    if not match:
        raise StoreCorrupt(f"{digest!r} is not a sha256 digest; the record naming it is damaged")
    return match.group(1)


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, *, sync: bool = False) -> tuple[str, int]:
    """Hash a file in chunks; returns (digest, size). With `sync`, also make its bytes
    durable first: a file linked into the store must survive a power cut like a copy."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as f:
        if sync:
            try:
                os.fsync(f.fileno())
            except OSError as exc:
                raise atomic.storage_error(exc, path, "sync") from exc
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return "sha256:" + h.hexdigest(), size


SETTLED_NS = 200_000_000  # a file's times change on every write once this old (0.2 s)
BIG_FILE = 64 << 20  # from this size fsync runs beside the hashing, not before it


def _unchanged(before: os.stat_result, after: os.stat_result) -> bool:
    """Same inode, size, modification and change times: no write landed in between, as
    long as the file was `_settled` (a write sets both times to the clock's current tick)."""
    return (before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns,
            before.st_ctime_ns) == (after.st_dev, after.st_ino, after.st_size,
                                    after.st_mtime_ns, after.st_ctime_ns)


def _settled(st: os.stat_result) -> bool:
    """Last changed well before now: a later write cannot share its timestamp (file times
    are kept at the kernel's coarse tick, a few milliseconds)."""
    return time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > SETTLED_NS


def _sync_and_hash(fd: int, path: Path) -> tuple[str, int]:
    """fsync and hash an open file; a big one's fsync runs in a thread beside the hashing
    (both release the GIL), so flushing a producer's unsynced gigabytes costs no extra pass."""
    failure: list[OSError] = []

    def sync() -> None:
        try:
            os.fsync(fd)
        except OSError as exc:
            failure.append(exc)

    flusher = None
    if os.fstat(fd).st_size >= BIG_FILE:
        flusher = threading.Thread(target=sync, name="modelyard-fsync", daemon=True)
        flusher.start()
    else:
        sync()
    try:
        h = hashlib.sha256()
        size = 0
        while chunk := os.pread(fd, CHUNK, size):
            h.update(chunk)
            size += len(chunk)
    finally:
        if flusher is not None:
            flusher.join()
    if failure:
        raise atomic.storage_error(failure[0], path, "sync") from failure[0]
    return "sha256:" + h.hexdigest(), size


class BlobStore:
    """The `blobs/` folder of a store."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._on_network: bool | None = None

    def path(self, digest: str) -> Path:
        h = hex_of(digest)
        return self.root / h[:2] / h[2:4] / h

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()

    def put_bytes(self, data: bytes) -> str:
        digest = sha256_bytes(data)
        final = self.path(digest)
        if final.exists():
            return digest
        atomic.ensure_dir(final.parent, sticky=True)
        tmp = atomic.write_temp(final, data)
        faults.point("blob.temp_written")
        self._publish(tmp, final)
        return digest

    def put_file(self, source: Path, *, consume: bool = False) -> tuple[str, int]:
        """Store a file's bytes; returns (digest, size). The file is opened as every drop
        file is (disk/dropfs.py: never through a link) and read from that descriptor."""
        opened = open_regular(source)
        try:
            return self.put_opened(opened, consume=consume)
        finally:
            opened.close()

    def put_opened(self, opened: Opened, *, consume: bool = False) -> tuple[str, int]:
        """Store the bytes of an open file; returns (digest, size).

        With `consume=True` the caller gives the file up (a drop being ingested): on the same
        filesystem it is hard-linked into place after one hashing pass instead of copied.
        Before the digest is returned the file is checked against a fresh view of it
        (`fresh_view`): a file still being written raises StillWriting.
        Errors reading the source stay OSErrors (the input's fault); errors writing the store
        are ReadOnlyStore, DiskFull or StorageError, with the staging file removed.
        """
        charge(opened.st.st_size, opened.where)
        if consume:
            linked = self._put_by_link(opened)
            if linked is not None:
                return linked
        staging = self.root / "_staging"
        atomic.ensure_dir(staging, sticky=True)
        where = staging / "blob"
        opened.st = os.fstat(opened.fd)  # the copy must match the file from here on
        fd, tmp = atomic.create_temp(where, readable=True)
        try:
            digest, size = copy_hashed(opened.fd, fd, opened.st.st_size, source=opened.where,
                                       where=where, kernel=not self._network())
            faults.point("blob.hashed")
            fresh_view(opened, size)
        except BaseException:
            atomic.abandon(fd, tmp)
            raise
        atomic.finish_temp(fd, tmp, where)
        faults.point("blob.temp_written")
        final = self.path(digest)
        if final.exists():
            atomic.unlink_quietly(tmp)
            return digest, size
        try:
            atomic.ensure_dir(final.parent, sticky=True)
        except BaseException:
            atomic.unlink_quietly(tmp)
            raise
        self._publish(tmp, final)
        return digest, size

    def _put_by_link(self, opened: Opened) -> tuple[str, int] | None:
        """Link a drop's file into place after one hashing pass, or None to copy it instead.

        Only a file this user owns with no other name is linked: the blob must end up
        read-only, and modelyard never changes the mode of a file another user owns or that
        is also reachable elsewhere (a hard link to an outside file). The entry linked is
        the one opened (linkat from its folder's descriptor, never following a link), and
        it must be the very inode hashed, unchanged (see `_unchanged`, `_still_hashed`).
        """
        before = opened.st
        if before.st_uid != os.geteuid() or before.st_nlink != 1:
            return None
        source = Path(opened.where)
        digest, size = _sync_and_hash(opened.fd, source)  # the producer may never have synced
        faults.point("blob.hashed")
        after = os.fstat(opened.fd)
        if not _unchanged(before, after) or size != after.st_size:
            return None  # written while hashed: copy it (a copy's name is its digest)
        fresh_view(opened, size)
        final = self.path(digest)
        if final.exists():
            return digest, size
        atomic.ensure_dir(final.parent, sticky=True)
        try:
            faults.io("link", final)
            os.link(opened.name, final, src_dir_fd=opened.dir_fd, follow_symlinks=False)
        except FileExistsError:
            return digest, size
        except OSError:
            return None  # another filesystem, or links refused: copy instead
        if not self._still_hashed(final, after, digest):  # swapped or changed under us
            atomic.unlink_quietly(final)
            return None
        try:
            os.fchmod(opened.fd, atomic.shared_mode(atomic.FILE_MODE))  # the inode we own
        except OSError:
            pass
        faults.point("blob.renamed")
        atomic.fsync_dir(final.parent)
        return digest, size

    def _still_hashed(self, final: Path, hashed: os.stat_result, digest: str) -> bool:
        """Whether the file just linked at `final` is the inode hashed, unmodified since,
        with no other name than the drop's and the blob's."""
        try:
            now = os.lstat(final)
        except OSError:
            return False
        same = (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns, now.st_uid) == (
            hashed.st_dev, hashed.st_ino, hashed.st_size, hashed.st_mtime_ns, hashed.st_uid)
        if not same or not stat.S_ISREG(now.st_mode) or now.st_nlink != 2:
            return False
        if _settled(hashed) and not self._network():
            return True
        return sha256_file(final)[0] == digest  # times cannot prove it: read it again

    def _network(self) -> bool:
        if self._on_network is None:
            from modelyard.store.disk.fskind import is_network_fs

            self._on_network = is_network_fs(self.root)
        return self._on_network

    def _publish(self, tmp: Path, final: Path) -> None:
        """Give a finished temp blob its name. A twin already there (same name, so same
        content) wins: in sticky folders another user's blob cannot be replaced anyway."""
        try:
            faults.io("rename", final)
            os.rename(tmp, final)
        except OSError as exc:
            atomic.unlink_quietly(tmp)
            if final.exists():
                return
            raise atomic.storage_error(exc, final, "store the blob") from exc
        except BaseException:
            atomic.unlink_quietly(tmp)
            raise
        faults.point("blob.renamed")
        atomic.fsync_dir(final.parent)

    def read_bytes(self, digest: str) -> bytes:
        """The blob's bytes, verified against its digest: bad bytes are never returned."""
        path = self.path(digest)
        try:
            faults.io("read", path)
            data = path.read_bytes()
        except FileNotFoundError:
            raise _missing(digest, path) from None
        except OSError as exc:
            raise atomic.storage_error(exc, path, "read", "nothing was changed") from exc
        if sha256_bytes(data) != digest:
            raise _corrupt(digest, path, "run `modelyard fsck --read-data` and restore it "
                                         "from a backup")
        return data

    def iter_verified(self, digest: str) -> Iterator[bytes]:
        """Stream a large blob; raises BlobCorrupt at the end if the bytes do not match.

        Callers writing the chunks somewhere must treat that error as 'discard the copy'.
        """
        path = self.path(digest)
        h = hashlib.sha256()
        try:
            faults.io("read", path)
            f = open(path, "rb", buffering=0)
        except FileNotFoundError:
            raise _missing(digest, path) from None
        except OSError as exc:
            raise atomic.storage_error(exc, path, "read", "nothing was changed") from exc
        with f:
            while True:
                try:
                    chunk = f.read(CHUNK)
                except OSError as exc:
                    raise atomic.storage_error(exc, path, "read", "nothing was changed") \
                        from exc
                if not chunk:
                    break
                h.update(chunk)
                yield chunk
        if "sha256:" + h.hexdigest() != digest:
            raise _corrupt(digest, path, "restore it from a backup")

    def verify(self, digest: str) -> str | None:
        """None if the blob is intact, else a one-line description of the problem."""
        path = self.path(digest)
        if not path.exists():
            return "missing"
        actual, _ = sha256_file(path)
        return None if actual == digest else f"content hashes to {actual}"

    def all_digests(self) -> Iterator[str]:
        if not self.root.exists():
            return
        for a in sorted(os.listdir(self.root)):
            if len(a) != 2:
                continue
            for b in sorted(_listing(self.root / a)):
                for name in sorted(_listing(self.root / a / b)):
                    if not name.startswith("."):
                        yield "sha256:" + name


def _listing(folder: Path) -> list[str]:
    """A blob folder's names; an unreadable one (made by a member under umask 077, seen
    by a user outside the group) is empty here, and its blobs are reported when a record
    uses them."""
    try:
        return os.listdir(folder)
    except PermissionError:
        return []


def _missing(digest: str, path: Path) -> BlobMissing:
    exc = BlobMissing(f"blob {digest} is missing from the store ({path}); run `modelyard "
                      "fsck` to see which versions are affected")
    exc.digest, exc.path = digest, path
    return exc


def _corrupt(digest: str, path: Path, what_next: str) -> BlobCorrupt:
    """The error for bytes that no longer hash to their name; carries `digest` and `path`
    so a caller (the app) can mark the versions using it."""
    exc = BlobCorrupt(f"blob {digest} is corrupt: its bytes no longer match its digest "
                      f"({path}); {what_next}")
    exc.digest, exc.path = digest, path
    return exc
