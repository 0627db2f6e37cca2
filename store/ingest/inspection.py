"""Inspecting a drop before any file in it is opened: a symbolic link, a FIFO, a device, a
name with control characters, too many files or too deep a tree refuse it (DropRejected
with a reason and a hint). Only metadata is read, and the walk is bounded.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from modelyard.store.errors import DropRejected
from modelyard.store.ingest import archives
from modelyard.store.ingest.drop_text import bad_char, escape
from modelyard.store.ingest.readiness import walk

_KINDS = {stat.S_IFLNK: "symbolic link", stat.S_IFIFO: "FIFO (named pipe)",
          stat.S_IFSOCK: "socket", stat.S_IFCHR: "character device",
          stat.S_IFBLK: "block device", stat.S_IFREG: "regular file", stat.S_IFDIR: "folder"}


def inspect_drop(path: Path, *, max_files: int, max_depth: int) -> bool:
    """Refuse hostile drops; True when a file has other hard links (it must then be copied,
    not linked, or a change elsewhere would corrupt the blob). An archive file passes here:
    unpacking checks every member."""
    shown = escape(path.name)
    st = os.lstat(path)
    kind = _KINDS.get(stat.S_IFMT(st.st_mode), "special file")
    if stat.S_ISLNK(st.st_mode):
        raise DropRejected(f"the drop {shown} is a symbolic link, not a folder",
                           "move the real folder into the drop folder, not a link to it")
    bad = bad_char(path.name)
    if bad:
        raise DropRejected(f"the drop's name {shown} holds the character U+{ord(bad):04X}",
                           "give the folder a plain printable name")
    if stat.S_ISREG(st.st_mode) and archives.archive_kind(path):
        return False
    if not stat.S_ISDIR(st.st_mode):
        raise DropRejected(f"a drop must be a folder (or a .tar, .tar.gz or .zip archive); "
                           f"{shown} is a {kind}",
                           "put the file in a folder with a modelyard.yaml manifest and "
                           "drop the folder")
    shared = False
    try:
        for rel, s in walk(path, max_files=max_files, max_depth=max_depth):
            kind = _KINDS.get(stat.S_IFMT(s.st_mode), "special file")
            if kind not in ("folder", "regular file"):
                raise DropRejected(f"{escape(rel)} in the drop is a {kind}",
                                   "copy real files into the drop; links and special files "
                                   "could read data from outside it")
            bad = bad_char(rel)
            if bad:
                raise DropRejected(f"{escape(rel)} in the drop has U+{ord(bad):04X} in its "
                                   "name", "rename it to plain printable text")
            shared = shared or (kind == "regular file" and s.st_nlink > 1)
    except OSError as exc:
        raise DropRejected(f"part of the drop cannot be read: {exc.strerror} "
                           f"({escape(exc.filename)})",
                           "make every file readable by the watcher's user") from None
    return shared
