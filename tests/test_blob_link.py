"""The link path of a consumed drop file: one hashing pass, and never a blob whose name is
not the digest of its bytes, whatever the producer does to the file meanwhile."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from modelyard.store.disk import blobs as blobs_mod
from modelyard.store.disk.blobs import BlobStore
from modelyard.store.disk.dropfs import StillWriting
from modelyard.store.errors import StorageError


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _settled_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    old = os.stat(path).st_mtime_ns - 10 * 10**9
    os.utime(path, ns=(old, old))  # as a drop after its quiet period
    return path


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def test_a_settled_file_is_hashed_once_and_linked(blobs: BlobStore, tmp_path: Path,
                                                  monkeypatch) -> None:
    data = os.urandom(300_000)
    src = _settled_file(tmp_path / "w.bin", data)
    reads = []
    real_pread = os.pread
    monkeypatch.setattr(blobs_mod.os, "pread",
                        lambda fd, n, at: reads.append(at) or real_pread(fd, n, at))
    digest, size = blobs.put_file(src, consume=True)
    assert (digest, size) == (_digest(data), len(data))
    assert os.stat(blobs.path(digest)).st_ino == os.stat(src).st_ino  # linked, not copied
    assert sum(1 for at in reads if at == 0) == 1  # one pass over the bytes
    assert blobs.verify(digest) is None
    assert os.stat(blobs.path(digest)).st_mode & 0o222 == 0


def test_a_file_written_while_hashed_is_copied_under_its_real_digest(
        blobs: BlobStore, tmp_path: Path, monkeypatch) -> None:
    data = os.urandom(200_000)
    src = _settled_file(tmp_path / "w.bin", data)
    real = blobs_mod._sync_and_hash

    def hash_then_append(fd: int, path: Path) -> tuple[str, int]:
        out = real(fd, path)
        with open(src, "ab") as f:  # the producer is still writing
            f.write(b"late bytes")
        return out

    monkeypatch.setattr(blobs_mod, "_sync_and_hash", hash_then_append)
    digest, size = blobs.put_file(src, consume=True)
    stored = blobs.path(digest).read_bytes()
    assert _digest(stored) == digest and size == len(stored)
    assert stored == data + b"late bytes"
    assert not blobs.has(_digest(data))  # nothing under the digest of the old bytes
    assert os.stat(blobs.path(digest)).st_ino != os.stat(src).st_ino  # the copy path


def test_a_file_swapped_before_the_link_is_not_stored_under_the_hashed_digest(
        blobs: BlobStore, tmp_path: Path, monkeypatch) -> None:
    data, other = os.urandom(100_000), os.urandom(100_000)
    src = _settled_file(tmp_path / "w.bin", data)
    swap = _settled_file(tmp_path / "other.bin", other)
    real_link = os.link

    def swap_then_link(a, b, **kw) -> None:
        os.replace(swap, src)  # another file now has the drop file's name
        real_link(a, b, **kw)

    monkeypatch.setattr(blobs_mod.os, "link", swap_then_link)
    with pytest.raises(StillWriting):  # the drop is given back and retried, never mixed
        blobs.put_file(src, consume=True)
    assert not blobs.has(_digest(data)) and not blobs.has(_digest(other))


def test_a_fresh_file_changed_without_a_new_time_is_caught_by_hashing_again(
        blobs: BlobStore, tmp_path: Path, monkeypatch) -> None:
    """Within one clock tick a write may not move the file's times: a file modified moments
    ago is read a second time after the link, as before."""
    data = os.urandom(100_000)
    src = tmp_path / "w.bin"
    src.write_bytes(data)  # just written: not settled
    real_link = os.link

    def edit_same_size_then_link(a, b, **kw) -> None:
        st = os.stat(src)
        with open(src, "r+b") as f:
            f.write(b"X" * 16)
        os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))  # as if the same tick
        real_link(a, b, **kw)

    monkeypatch.setattr(blobs_mod.os, "link", edit_same_size_then_link)
    digest, _ = blobs.put_file(src, consume=True)
    assert blobs.verify(digest) is None
    assert digest == _digest(b"X" * 16 + data[16:])
    assert not blobs.has(_digest(data))


def test_a_big_file_is_synced_beside_the_hashing(blobs: BlobStore, tmp_path: Path,
                                                 monkeypatch) -> None:
    monkeypatch.setattr(blobs_mod, "BIG_FILE", 1 << 16)
    data = os.urandom(1 << 20)
    src = _settled_file(tmp_path / "w.bin", data)
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(blobs_mod.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    digest, size = blobs.put_file(src, consume=True)
    assert (digest, size) == (_digest(data), len(data)) and synced
    assert os.stat(blobs.path(digest)).st_ino == os.stat(src).st_ino


def test_a_failed_sync_of_the_drop_file_is_a_named_error(blobs: BlobStore, tmp_path: Path,
                                                         monkeypatch) -> None:
    src = _settled_file(tmp_path / "w.bin", b"weights")

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(blobs_mod.os, "fsync", broken)
    with pytest.raises(StorageError, match="cannot sync"):
        blobs.put_file(src, consume=True)
    assert not blobs.has(_digest(b"weights"))


def test_deferred_folder_syncs_come_before_a_record_takes_its_name(
        blobs: BlobStore, tmp_path: Path, monkeypatch) -> None:
    """In a batch, folder fsyncs wait, but never past the link that makes a record (which
    names the blobs) exist: a power cut cannot leave a record whose blob name was lost."""
    from modelyard.store.disk import atomic

    log: list[str] = []
    real_sync, real_link = atomic.sync_dirs, os.link
    monkeypatch.setattr(atomic, "sync_dirs",
                        lambda ps: log.extend(f"sync {p}" for p in ps) or real_sync(ps))
    monkeypatch.setattr(atomic.os, "link",
                        lambda a, b, **kw: log.append(f"link {b}") or real_link(a, b, **kw))
    record = tmp_path / "versions" / "1.json"
    record.parent.mkdir()
    with atomic.deferred_dir_syncs():
        digest = blobs.put_bytes(b"curve bytes")
        assert not any(str(blobs.path(digest).parent) in line for line in log)  # deferred
        assert atomic.write_exclusive(record, b"{}\n")
        assert log[-1] == f"link {record}"
        assert f"sync {blobs.path(digest).parent}" in log
    assert log[-1] == f"sync {record.parent}"  # the block's end syncs what is left
