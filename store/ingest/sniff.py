"""Tell a file's format from its bytes, never its name, and flag pickles.

Pickle-based files (raw pickles, PyTorch zip checkpoints, joblib dumps) run code when
loaded; modelyard stores them but never loads them, and every view warns about them.
"""

from __future__ import annotations

import bz2
import json
import lzma
import os
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from modelyard.store.ingest.pickles import pickle_protocol

PICKLE_WARNING = "pickle: loading it can run code"
HEAD_BYTES = 4096  # what a format is told by
MAX_ZIP_MEMBERS = 10_000  # a zip's members whose first bytes are read for a pickle
_SAFETENSORS_MAX_HEADER = 100_000_000


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
        return sniff_fd(opened.fd, size=opened.st.st_size)
    finally:
        opened.close()


def sniff_fd(fd: int, *, size: int) -> Sniffed:
    """Detect the format of an open file."""
    try:
        head = os.pread(fd, HEAD_BYTES, 0)
    except OSError:
        return Sniffed("unreadable")
    return sniff_head(head, size=size, whole=lambda: os.fdopen(os.dup(fd), "rb"))


def sniff_head(head: bytes, *, size: int,
               whole: Callable[[], BinaryIO] | None = None) -> Sniffed:
    """The format of a file of `size` bytes that begins with `head`; `whole` opens all of it,
    for the formats told by more than their first bytes (zip members)."""
    if head.startswith(b"GGUF"):
        return Sniffed("gguf")
    if head.startswith(b"\x93NUMPY"):
        return Sniffed("numpy")
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return Sniffed("hdf5")
    protocol = pickle_protocol(head, size=size)
    if protocol is not None:
        return Sniffed("pickle", pickle=True, detail=f"protocol {protocol}")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(whole) if whole is not None else Sniffed("zip")
    if _looks_like_safetensors(head, size):
        return Sniffed("safetensors")
    compressed = _compressed_pickle(head)
    if compressed is not None:
        return compressed
    if head.startswith(b"\x1f\x8b"):
        return Sniffed("gzip")
    if head.startswith(b"\xfd7zXZ\x00"):
        return Sniffed("xz")
    if looks_like_onnx(head, size):
        return Sniffed("onnx")
    if _is_text(head):
        return Sniffed("json" if _looks_like_json(head, size) else "text")
    return Sniffed("binary")


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 10:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= min(_SAFETENSORS_MAX_HEADER, size - 8) and head[8:9] == b"{"


def _compressed_pickle(head: bytes) -> Sniffed | None:
    """A pickle inside zlib, gzip, bz2 or xz (what joblib's `compress=` writes): the first
    bytes are decompressed, at most HEAD_BYTES of them, and read as any other head."""
    if head[:1] == b"\x78":
        kind, unpack = "zlib", zlib.decompressobj().decompress
    elif head.startswith(b"\x1f\x8b"):
        kind, unpack = "gzip", zlib.decompressobj(wbits=31).decompress
    elif head[:3] == b"BZh" and head[3:4].isdigit():
        kind, unpack = "bz2", bz2.BZ2Decompressor().decompress
    elif head.startswith(b"\xfd7zXZ\x00"):
        kind, unpack = "xz", lzma.LZMADecompressor().decompress
    else:
        return None
    try:
        inner = unpack(head, HEAD_BYTES)
    except (zlib.error, OSError, EOFError, ValueError, lzma.LZMAError):
        return None
    # The inner size is unknown: a pickle must show itself without ending the file.
    if pickle_protocol(inner, size=-1) is None:
        return None
    return Sniffed("joblib", pickle=True, detail=f"{kind}-compressed pickle")


def _sniff_zip(whole: Callable[[], BinaryIO]) -> Sniffed:
    """A PyTorch checkpoint is a zip holding `<name>/data.pkl` (the format's own layout);
    any zip holding a pickle, by the bytes of its first MAX_ZIP_MEMBERS members, is flagged."""
    try:
        with whole() as f, zipfile.ZipFile(f) as zf:
            infos = zf.infolist()
            pickled = [i.filename for i in infos[:MAX_ZIP_MEMBERS] if _member_is_pickle(zf, i)]
            names = [i.filename for i in infos]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
            RuntimeError, zlib.error):
        return Sniffed("zip")
    if any(posixpath.basename(n) == "data.pkl" for n in pickled):
        return Sniffed("pytorch", pickle=True, detail="zip checkpoint with data.pkl")
    if pickled:
        return Sniffed("zip", pickle=True, detail=f"zip holding a pickle ({pickled[0]})")
    if "schema.json" in names:
        return Sniffed("skops")
    return Sniffed("zip")


def _member_is_pickle(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    if info.is_dir():
        return False
    with zf.open(info) as member:
        head = member.read(HEAD_BYTES)
    return pickle_protocol(head, size=info.file_size) is not None


def looks_like_onnx(head: bytes, size: int) -> bool:
    """An ONNX ModelProto: `ir_version` (field 1) first, as protobuf writes fields in number
    order, then only ModelProto's own fields, each of its wire type, inside the file, and
    its names and strings text."""
    if head[:1] != b"\x08":
        return False
    at = fields = 0
    try:
        while at < len(head) and fields < 8:
            tag, at = _varint(head, at)
            field, wire = tag >> 3, tag & 7
            if _ONNX_FIELDS.get(field) != wire:
                return False
            value, at = _varint(head, at)
            if field == 1 and not 1 <= value <= 100:
                return False
            if wire == 2:
                if at + value > size or (field in _ONNX_TEXT
                                         and not _is_text(head[at:at + value])):
                    return False
                at += value
            fields += 1
    except IndexError:
        pass  # cut off by the end of `head`: judged on the fields before
    return fields >= 1


# ModelProto's fields and their wire types (0 varint, 2 length-delimited), from onnx.proto.
_ONNX_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2}
_ONNX_TEXT = {2, 3, 4, 6}  # producer_name, producer_version, domain, doc_string


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """The protobuf varint at `at` and where it ends; IndexError when `data` ends first."""
    value = 0
    for shift in range(0, 70, 7):
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
    return value, at


def _looks_like_json(head: bytes, size: int) -> bool:
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if len(head) < size:
        return text[:1] in ("{", "[")
    try:
        return isinstance(json.loads(text), (dict, list))
    except (ValueError, RecursionError):
        return False


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a multi-byte character cut at the end
    return True


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
