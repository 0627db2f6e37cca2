"""Content-addressed blobs: immutable files named by their SHA-256, verified on every read.

Bytes are hashed while they are copied (one read, not two). A blob's final name appears
only once its temp file is complete and fsynced; an existing blob is never rewritten.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from . import atomic, faults
from .errors import BlobCorrupt, BlobMissing, StoreCorrupt

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


def sha256_file(path: Path) -> tuple[str, int]:
    """Hash a file in chunks; returns (digest, size)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return "sha256:" + h.hexdigest(), size


class BlobStore:
    """The `blobs/` folder of a store."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

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
        atomic.ensure_dir(final.parent)
        tmp = atomic.write_temp(final, data)
        faults.point("blob.temp_written")
        self._publish(tmp, final)
        return digest

    def put_file(self, source: Path, *, consume: bool = False) -> tuple[str, int]:
        """Store a file's bytes; returns (digest, size).

        With `consume=True` the caller gives the file up (a drop being ingested): on the same
        filesystem it is hard-linked into place after one hashing pass instead of copied.
        """
        if consume:
            linked = self._put_by_link(Path(source))
            if linked is not None:
                return linked
        staging = self.root / "_staging"
        atomic.ensure_dir(staging)
        fd, tmp = atomic.create_temp(staging / "blob")
        h = hashlib.sha256()
        size = 0
        try:
            with open(source, "rb", buffering=0) as src:
                while chunk := src.read(CHUNK):
                    h.update(chunk)
                    size += len(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink(tmp)
            raise
        os.close(fd)
        faults.point("blob.temp_written")
        digest = "sha256:" + h.hexdigest()
        final = self.path(digest)
        if final.exists():
            _unlink(tmp)
            return digest, size
        atomic.ensure_dir(final.parent)
        self._publish(tmp, final)
        return digest, size

    def _put_by_link(self, source: Path) -> tuple[str, int] | None:
        if source.is_symlink() or not source.is_file():
            return None
        digest, size = sha256_file(source)
        final = self.path(digest)
        if final.exists():
            return digest, size
        atomic.ensure_dir(final.parent)
        try:
            os.link(source, final)
        except FileExistsError:
            return digest, size
        except OSError:
            return None  # another filesystem, or links refused: copy instead
        if sha256_file(final)[0] != digest:  # the producer changed it under us
            _unlink(final)
            return None
        try:
            os.chmod(final, 0o444)
        except OSError:
            pass
        faults.point("blob.renamed")
        atomic.fsync_dir(final.parent)
        return digest, size

    def _publish(self, tmp: Path, final: Path) -> None:
        try:
            os.rename(tmp, final)  # same content either way, so replacing a twin is harmless
        except BaseException:
            _unlink(tmp)
            raise
        faults.point("blob.renamed")
        atomic.fsync_dir(final.parent)

    def read_bytes(self, digest: str) -> bytes:
        """The blob's bytes, verified against its digest."""
        path = self.path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobMissing(
                f"blob {digest} is missing from the store; run `modelyard fsck` to see "
                "which versions are affected"
            ) from None
        if sha256_bytes(data) != digest:
            raise BlobCorrupt(
                f"blob {digest} is corrupt: its bytes no longer match its digest "
                f"({path}); run `modelyard fsck --read-data` and restore it from a backup"
            )
        return data

    def iter_verified(self, digest: str) -> Iterator[bytes]:
        """Stream a large blob; raises BlobCorrupt at the end if the bytes do not match.

        Callers writing the chunks somewhere must treat that error as 'discard the copy'.
        """
        path = self.path(digest)
        if not path.exists():
            raise BlobMissing(f"blob {digest} is missing from the store; run `modelyard fsck`")
        h = hashlib.sha256()
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
                yield chunk
        if "sha256:" + h.hexdigest() != digest:
            raise BlobCorrupt(
                f"blob {digest} is corrupt: its bytes no longer match its digest ({path}); "
                "restore it from a backup"
            )

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
            for b in sorted(os.listdir(self.root / a)):
                for name in sorted(os.listdir(self.root / a / b)):
                    if not name.startswith("."):
                        yield "sha256:" + name


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
