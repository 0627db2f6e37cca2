"""Archive drops: a .tar, .tar.gz/.tgz, .tar.bz2, .tar.xz or .zip file dropped on its own is
unpacked into a hidden folder inside its claim and ingested like a folder.

Nothing in an archive is trusted. Every member name must be relative and stay inside (no
`..`, no absolute paths, no backslashes, no control characters); only regular files and
folders are made, so a link, a device or a FIFO rejects the drop; members, nesting depth and
unpacked bytes are bounded, counted on the bytes actually written rather than on what the
headers claim (a zip bomb stops at the limit); files are created new (O_EXCL|O_NOFOLLOW),
never over something, with plain modes.
"""

from __future__ import annotations

import lzma
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import IO

from modelyard.store.disk import atomic, drop_limits, faults
from modelyard.store.errors import DropRejected
from modelyard.store.ingest.claims import Claim, remove_tree
from modelyard.store.ingest.drop_text import bad_char, escape

SUFFIXES = {".tar.gz": "tar", ".tgz": "tar", ".tar.bz2": "tar", ".tbz2": "tar",
            ".tar.xz": "tar", ".txz": "tar", ".tar": "tar", ".zip": "zip"}
MAX_MEMBERS = drop_limits.MAX_FILES  # an archive is a drop: the same limits (tests lower it)
MAX_DEPTH = drop_limits.MAX_DEPTH
MAX_NAME = 1024
MAX_RATIO = 100             # unpacked bytes per archive byte, beyond the allowance below
MIN_ALLOWANCE = 1 << 30     # any archive may unpack to 1 GiB (small text-heavy archives)
MAX_BYTES = drop_limits.DEFAULT_MAX_DROP_BYTES  # and none to more than a drop may hold
UNPACKED = f"{atomic.TEMP_PREFIX}unpacked"
CHUNK = 1 << 20
HINT = "drop a folder, or a .tar, .tar.gz or .zip of plain files and folders"
# (name, is a folder, opens the member's bytes (None for a folder), its declared size)
Member = tuple[str, bool, Callable[[], IO[bytes] | None] | None, int]
_BROKEN = (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error,
           lzma.LZMAError, ValueError, NotImplementedError, RuntimeError, UnicodeError)


def archive_kind(path: Path) -> str | None:
    """"tar" or "zip" when `path` is named like an archive and its bytes agree, else None.

    Both are required: a PyTorch checkpoint is a zip too, and must not be unpacked.
    """
    lower = path.name.lower()
    wanted = next((k for s, k in SUFFIXES.items() if lower.endswith(s)), None)
    if wanted is None:
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    if wanted == "zip":
        return "zip" if head[:4] in (b"PK\x03\x04", b"PK\x05\x06") else None
    compressed = head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00"
    return "tar" if compressed or head[257:262] == b"ustar" else None


def stem(name: str) -> str:
    """The drop's name without its archive suffix: the default model name."""
    lower = name.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def budget(archive_size: int) -> int:
    """How many bytes an archive of this size may unpack to."""
    return min(MAX_BYTES, max(MIN_ALLOWANCE, MAX_RATIO * archive_size))


def unpack(held: Claim) -> Path:
    """Unpack the held archive into `<claim>/.tmp-unpacked/<stem>` and return that folder.

    A single top-level folder in the archive (`tar czf m.tgz m/`) becomes the folder itself.
    DropRejected says what in the archive is refused; a failing disk is a StorageError.
    """
    kind = archive_kind(held.folder)
    if kind is None:
        raise DropRejected(f"{escape(held.name)} is named like an archive but is not a "
                           "readable one", HINT)
    root = held.dir / UNPACKED
    remove_tree(root)  # what a crashed attempt left
    dest = root / stem(held.name)
    atomic.ensure_dir(dest)
    limit = budget(os.path.getsize(held.folder))
    try:
        members = _zip_members if kind == "zip" else _tar_members
        used = 0
        for count, (name, is_dir, source, declared) in enumerate(members(held.folder), 1):
            if count > MAX_MEMBERS:
                raise DropRejected(f"the archive holds more than {MAX_MEMBERS:,} members",
                                   "pack fewer, larger files")
            parts = _parts(name)
            if not parts:
                continue
            target = _make_parents(dest, parts, is_dir)
            if is_dir or source is None:
                continue
            if used + declared > limit:
                raise _bomb(limit)
            used = _write(source(), target, used, limit, name)
    except _BROKEN as exc:
        raise DropRejected(f"the archive cannot be unpacked: {escape(exc)[:200]}",
                           HINT) from None
    faults.point("archive.extracted")
    return _lift_single_folder(dest)


def _tar_members(path: Path) -> Iterator[Member]:
    with tarfile.open(path, "r:*") as tf:
        while (member := tf.next()) is not None:
            # tarfile keeps every header otherwise: memory per member (getmembers() would
            # read the whole archive first)
            tf.members.clear()  # type: ignore[attr-defined]  # real, but not in typeshed
            if member.isdir():
                yield member.name, True, None, 0
            elif member.isreg():
                yield member.name, False, partial(tf.extractfile, member), member.size
            else:
                raise _special(member.name, "symbolic link" if member.issym() else
                               "hard link" if member.islnk() else
                               "device" if member.ischr() or member.isblk() else
                               "FIFO" if member.isfifo() else "special member")
        _check_end_marker(tf)


def _check_end_marker(tf: tarfile.TarFile) -> None:
    """A tar archive ends with two zero blocks. tarfile stops quietly at a plain end of
    file, so an archive cut at a member boundary (a copy not finished) would pass as a
    smaller model: refuse it."""
    tf.fileobj.seek(tf.offset)
    if tf.fileobj.read(2 * tarfile.BLOCKSIZE) != bytes(2 * tarfile.BLOCKSIZE):
        raise tarfile.ReadError("it ends without tar's end-of-archive marker, so it was cut "
                                "short (a copy that had not finished?); drop the whole "
                                "archive again")


def _zip_members(path: Path) -> Iterator[Member]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise DropRejected(f"the archive holds {len(infos):,} members; the limit is "
                               f"{MAX_MEMBERS:,}", "pack fewer, larger files")
        for info in infos:
            if not info.filename:  # zipfile itself fails on it (ZipInfo.is_dir: IndexError)
                raise DropRejected("the archive holds a member without a name", HINT)
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise _special(info.filename, "symbolic link" if kind == stat.S_IFLNK else
                               "device" if kind in (stat.S_IFCHR, stat.S_IFBLK) else
                               "FIFO" if kind == stat.S_IFIFO else "special member")
            if info.flag_bits & 0x1:
                raise DropRejected(f"{escape(info.filename)} in the archive is encrypted",
                                   "drop an unencrypted archive")
            if info.is_dir():
                yield info.filename, True, None, 0
            else:
                yield info.filename, False, partial(zf.open, info), info.file_size


def _parts(name: str) -> tuple[str, ...]:
    """The checked path components of a member name (empty for the archive's `./`)."""
    shown = escape(name)[:200]
    if "\x00" in name or "\\" in name or name.startswith("/") or bad_char(name):
        raise DropRejected(f"the archive member {shown} is not a plain relative path",
                           "pack relative paths of printable names only")
    if len(name) > MAX_NAME:
        raise DropRejected(f"the archive member {shown}… has a name longer than {MAX_NAME}",
                           HINT)
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise DropRejected(f"the archive member {shown} leaves the archive ('..')",
                           "pack paths inside the folder only")
    if any(len(p.encode("utf-8", "surrogateescape")) > 255 for p in parts):
        raise DropRejected(f"the archive member {shown} has a name part over 255 bytes", HINT)
    if len(parts) > MAX_DEPTH:
        raise DropRejected(f"the archive nests deeper than {MAX_DEPTH} levels (at {shown})",
                           "flatten the folder tree")
    return parts


def _make_parents(dest: Path, parts: tuple[str, ...], is_dir: bool) -> Path:
    """Make the member's folders inside `dest` (only folders we made, so no link can lead
    out) and return its path."""
    folder = dest
    for part in parts if is_dir else parts[:-1]:
        folder = folder / part
        try:
            os.mkdir(folder, 0o755)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                raise DropRejected(f"the archive holds {escape('/'.join(parts))[:200]} under a "
                                   "file of the same name", HINT) from None
        except OSError as exc:
            raise atomic.storage_error(exc, folder, "unpack the archive into") from exc
    return dest.joinpath(*parts)


def _write(source: IO[bytes] | None, target: Path, used: int, limit: int, name: str) -> int:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        raise DropRejected(f"the archive holds {escape(name)[:200]} twice", HINT) from None
    except OSError as exc:
        raise atomic.storage_error(exc, target.parent, "unpack the archive into") from exc
    try:
        if source is None:
            raise DropRejected(f"{escape(name)[:200]} in the archive cannot be read", HINT)
        with source:
            while chunk := source.read(CHUNK):
                used += len(chunk)
                if used > limit:
                    raise _bomb(limit)
                atomic.write_all(fd, chunk, target)
    finally:
        os.close(fd)
    return used


def _lift_single_folder(dest: Path) -> Path:
    entries = os.listdir(dest)
    if len(entries) == 1 and stat.S_ISDIR(os.lstat(dest / entries[0]).st_mode):
        lifted = dest.parent / f"{atomic.TEMP_PREFIX}lift"
        os.rename(dest / entries[0], lifted)
        os.rmdir(dest)
        os.rename(lifted, dest)
    return dest


def _special(name: str, kind: str) -> DropRejected:
    return DropRejected(f"{escape(name)[:200]} in the archive is a {kind}",
                        "pack regular files and folders only; links and special files "
                        "could reach outside the drop")


def _bomb(limit: int) -> DropRejected:
    return DropRejected(f"the archive unpacks to more than {limit:,} bytes ({MAX_RATIO}x its "
                        "size beyond 1 GiB)", "drop the folder itself, or a smaller archive")
