"""Storing a file's bytes with the copy and the hashing side by side (store/disk/blob_copy.py):
both paths (the kernel's copy and read-and-write) store the very bytes they hash, a file
still growing is refused, and a pair of files the kernel cannot copy between falls back."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.disk import blob_copy
from modelyard.store.disk.blob_copy import copy_hashed
from modelyard.store.disk.dropfs import StillWriting

SIZES = [0, 1, blob_copy.READ_CHUNK - 1, blob_copy.READ_CHUNK * 3 + 17,
         blob_copy.KERNEL_CHUNK + blob_copy.WRITEBACK_CHUNK // 2 + 5]


def _copy(src: Path, dst: Path, *, kernel: bool, expected: int | None = None):
    s = os.open(src, os.O_RDONLY)
    d = os.open(dst, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        size = os.fstat(s).st_size if expected is None else expected
        return copy_hashed(s, d, size, source=str(src), where=dst, kernel=kernel)
    finally:
        os.close(s)
        os.close(d)


@pytest.mark.parametrize("kernel", [True, False], ids=["kernel", "read-write"])
@pytest.mark.parametrize("size", SIZES)
def test_the_digest_is_of_the_bytes_written(tmp_path: Path, kernel: bool, size: int) -> None:
    data = os.urandom(size)
    (tmp_path / "src").write_bytes(data)
    digest, copied = _copy(tmp_path / "src", tmp_path / "dst", kernel=kernel)
    assert copied == size
    assert (tmp_path / "dst").read_bytes() == data
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("kernel", [True, False], ids=["kernel", "read-write"])
def test_a_file_longer_than_when_it_was_opened_is_still_being_written(tmp_path: Path,
                                                                      kernel: bool) -> None:
    (tmp_path / "src").write_bytes(os.urandom(3 * blob_copy.READ_CHUNK))
    with pytest.raises(StillWriting, match="still being written"):
        _copy(tmp_path / "src", tmp_path / "dst", kernel=kernel,
              expected=2 * blob_copy.READ_CHUNK)


def test_a_writer_appending_during_the_copy_is_caught(tmp_path: Path) -> None:
    """A real second writer appends while the store copies: the copy never passes for
    complete (StillWriting), whichever moment the append lands."""
    src = tmp_path / "src"
    src.write_bytes(os.urandom(blob_copy.KERNEL_CHUNK))
    expected = src.stat().st_size
    stop = threading.Event()

    def append() -> None:
        with open(src, "ab") as f:
            while not stop.is_set():
                f.write(b"x" * 65536)
                f.flush()

    writer = threading.Thread(target=append)
    writer.start()
    try:
        with pytest.raises(StillWriting):
            _copy(src, tmp_path / "dst", kernel=True, expected=expected)
    finally:
        stop.set()
        writer.join()


def test_across_filesystems_the_bytes_are_read_and_written(tmp_path: Path) -> None:
    """From tmpfs (/dev/shm) into this filesystem: where the kernel refuses the pair
    (EXDEV), the read-and-write path stores the same bytes."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm on this machine")
    data = os.urandom(blob_copy.READ_CHUNK * 2 + 3)
    src = shm / f"modelyard-test-{os.getpid()}"
    src.write_bytes(data)
    try:
        digest, size = _copy(src, tmp_path / "dst", kernel=True)
    finally:
        src.unlink()
    assert (size, (tmp_path / "dst").read_bytes()) == (len(data), data)
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()


def test_add_version_of_a_big_file_stores_it_verified(tmp_path: Path) -> None:
    """Through the public API: the file the caller keeps is copied, and the blob reads back
    verified under the digest the version names."""
    weights = tmp_path / "weights.bin"
    data = os.urandom(blob_copy.KERNEL_CHUNK + 12345)
    weights.write_bytes(data)
    with Store.init(tmp_path / "s") as store:
        version = store.add_version("big", files={"model.safetensors": weights})
        [entry] = [f for f in version.files if f["path"] == "model.safetensors"]
        assert entry["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
        report = store.fsck(read_data=True)
        assert report.problems == [] and report.bytes_hashed >= len(data)
    assert weights.read_bytes() == data  # the caller's file is untouched
