"""Tell a file's format from its bytes, never its name, and flag pickles.

Pickle-based files (raw pickles, PyTorch zip checkpoints, joblib dumps) run code when
loaded; modelyard stores them but never loads them, and every view warns about them.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

PICKLE_WARNING = "pickle: loading it can run code"
_SAFETENSORS_MAX_HEADER = 100_000_000
_TEXT_SUFFIXES = {".py", ".txt", ".md", ".json", ".yaml", ".yml", ".toml", ".cfg", ".ini",
                  ".csv", ".tsv", ".sh", ".jsonl", ".rst"}


@dataclass(frozen=True)
class Sniffed:
    format: str
    pickle: bool = False
    detail: str = ""


def sniff_file(path: Path) -> Sniffed:
    """Detect the format of `path` from its first bytes (and a zip's member list). Opened
    as every drop file is (disk/dropfs.py): never through a link, a refusal is unreadable."""
    from modelyard.store.disk.dropfs import open_regular
    from modelyard.store.errors import DropRejected

    try:
        opened = open_regular(path)
    except (OSError, DropRejected):
        return Sniffed("unreadable")
    try:
        return sniff_fd(opened.fd, size=opened.st.st_size, path=Path(path))
    finally:
        opened.close()


def sniff_fd(fd: int, *, size: int, path: Path) -> Sniffed:
    """Detect the format of an open file (`path` only gives its name's suffix)."""
    try:
        head = os.pread(fd, 4096, 0)
    except OSError:
        return Sniffed("unreadable")
    return sniff_head(head, size=size, path=path, fd=fd)


def sniff_head(head: bytes, *, size: int, path: Path | None = None,
               fd: int | None = None) -> Sniffed:
    if head.startswith(b"GGUF"):
        return Sniffed("gguf")
    if head.startswith(b"\x93NUMPY"):
        return Sniffed("numpy")
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return Sniffed("hdf5")
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return Sniffed("pickle", pickle=True, detail=f"protocol {head[1]}")
    if head.startswith(b"PK\x03\x04") and fd is not None:
        return _sniff_zip(fd)
    if _looks_like_safetensors(head, size):
        return Sniffed("safetensors")
    if head[:1] in (b"\x78",) and path is not None and path.suffix in (".joblib", ".pkl"):
        return Sniffed("joblib", pickle=True, detail="zlib-compressed pickle")
    if head.startswith(b"\x1f\x8b") or head.startswith(b"\xfd7zXZ"):
        if path is not None and path.suffix in (".joblib", ".pkl", ".pickle"):
            return Sniffed("joblib", pickle=True, detail="compressed pickle")
        return Sniffed("gzip" if head.startswith(b"\x1f\x8b") else "xz")
    if path is not None and path.suffix == ".onnx" and head[:1] == b"\x08":
        return Sniffed("onnx")
    if _is_text(head):
        if path is not None and path.suffix in (".json", ".jsonl"):
            return Sniffed("json")
        if path is not None and (path.suffix in (".yaml", ".yml") or path.name == "MLmodel"):
            return Sniffed("yaml")
        return Sniffed("text")
    return Sniffed("binary")


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 10:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= min(_SAFETENSORS_MAX_HEADER, size - 8) and head[8:9] == b"{"


def _sniff_zip(fd: int) -> Sniffed:
    try:
        with os.fdopen(os.dup(fd), "rb") as f, zipfile.ZipFile(f) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return Sniffed("zip")
    if any(n.endswith("data.pkl") or n.endswith(".pkl") for n in names):
        return Sniffed("pytorch", pickle=True, detail="zip checkpoint with data.pkl")
    if "schema.json" in names:
        return Sniffed("skops")
    return Sniffed("zip")


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a multi-byte character cut at the end
    return True


def is_text_path(path: str) -> bool:
    return Path(path).suffix.lower() in _TEXT_SUFFIXES


def safetensors_header(path: Path) -> dict:
    """The parsed, validated header of a safetensors file: never reads the weights, and
    opens it as every drop file is (disk/dropfs.py), never through a link."""
    from modelyard.store.disk.dropfs import open_regular

    opened = open_regular(path)
    try:
        raw = os.pread(opened.fd, 8, 0)
        if len(raw) != 8:
            raise ValueError("file is shorter than a safetensors header")
        (n,) = struct.unpack("<Q", raw)
        size = opened.st.st_size
        if n > _SAFETENSORS_MAX_HEADER or n > size - 8:
            raise ValueError(f"header length {n} is larger than the file allows")
        header = json.loads(os.pread(opened.fd, n, 8).decode("utf-8"))
    finally:
        opened.close()
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    data_len = size - 8 - n
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        begin, end = spec["data_offsets"]
        if not (0 <= begin <= end <= data_len):
            raise ValueError(f"tensor {name!r} has offsets outside the file")
    return header
