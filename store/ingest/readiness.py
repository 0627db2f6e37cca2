"""When is a drop ready? A COMPLETE file inside it, a rename in from a hidden name, or a
quiet period with nothing under it changing. Metadata only, never contents, and bounded:
a hostile tree (a million files, fifty levels) cannot hang a watcher's scan.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from modelyard.store.disk.drop_limits import MAX_DEPTH, MAX_FILES
from modelyard.store.errors import DropRejected
from modelyard.store.ingest.drop_text import escape

if TYPE_CHECKING:
    from modelyard.store.api import Store

MARKER = "COMPLETE"


@dataclass
class Waiting:
    """A drop a scan left in place, why, and in how many seconds it may be ready (None when
    that depends on something else, such as a folder that cannot be read)."""

    drop: str
    reason: str
    ready_in_seconds: float | None = None

    def line(self) -> str:
        return f"waiting: {escape(self.drop)} ({escape(self.reason)})"

    def as_dict(self) -> dict[str, object]:
        return {"drop": self.drop, "reason": self.reason,
                "ready_in_seconds": self.ready_in_seconds}


@dataclass
class ScanState:
    """What a watcher remembers between scans: each pending drop's fingerprint and since
    when, drops renamed in, unexpected failures per drop, and when a drop the storage
    failed on may be tried again (`retry_at`, monotonic seconds)."""

    seen: dict[str, tuple[str, float]] = field(default_factory=dict)
    moved_in: set[str] = field(default_factory=set)
    failures: dict[str, int] = field(default_factory=dict)
    retry_at: dict[str, float] = field(default_factory=dict)
    storage_failures: dict[str, int] = field(default_factory=dict)
    left: list[Waiting] = field(default_factory=list)  # the last scan's drops not ready

    def forget(self, path: Path) -> None:
        self.seen.pop(str(path), None)
        self.moved_in.discard(str(path))

    def waiting(self, path: Path, now: float | None = None) -> bool:
        """True while a drop is backing off after the storage failed."""
        due = self.retry_at.get(str(path))
        return due is not None and (time.monotonic() if now is None else now) < due


def drop_dirs(store: Store) -> list[Path]:
    """The watched folders: setting `drop_dirs`, each relative to the store or absolute."""
    listed = store.config["settings"].get("drop_dirs") or ["drops"]
    out: list[Path] = []
    for entry in [listed] if isinstance(listed, str) else listed:
        path = Path(str(entry))
        path = path if path.is_absolute() else store.root / path
        if path not in out:
            out.append(path)
    return out


def walk(root: Path, *, max_files: int | None = None,
         max_depth: int | None = None) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under `root` with its lstat, never following links; bounded, so a hostile
    tree cannot hang a watcher (DropRejected past the limits)."""
    max_files = MAX_FILES if max_files is None else max_files
    max_depth = MAX_DEPTH if max_depth is None else max_depth
    stack, count = [("", 0)], 0
    while stack:
        rel, depth = stack.pop()
        with os.scandir(root / rel if rel else root) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            count += 1
            if count > max_files:
                raise DropRejected(f"the drop holds more than {max_files:,} files and folders",
                                   "pack many small files into an archive or a few shards")
            child = f"{rel}/{entry.name}" if rel else entry.name
            st = entry.stat(follow_symlinks=False)
            yield child, st
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 > max_depth:
                    raise DropRejected(f"folders nest deeper than {max_depth} levels "
                                       f"(at {escape(child)[:200]})", "flatten the folder tree")
                stack.append((child, depth + 1))


def fingerprint(path: Path) -> tuple[str, float]:
    """(hash of every entry's type, size, mtime and ctime; newest mtime or ctime seen).

    Reads metadata only, never contents. ctime counts too because `cp -a` and rsync reset
    mtimes to the past while they are still copying.
    """
    st = os.lstat(path)
    h = hashlib.blake2b(digest_size=16)
    newest = max(st.st_mtime, st.st_ctime)

    def add(rel: str, s: os.stat_result) -> None:
        h.update(f"{rel}\0{s.st_mode}\0{s.st_size}\0{s.st_mtime_ns}\0{s.st_ctime_ns}\n".encode(
            "utf-8", "surrogateescape"))

    add("", st)
    if stat.S_ISDIR(st.st_mode):
        try:
            for rel, s in walk(path):
                add(rel, s)
                newest = max(newest, s.st_mtime, s.st_ctime)
        except (DropRejected, OSError) as exc:  # judged when ingested; stable is enough here
            h.update(type(exc).__name__.encode())
    return h.hexdigest(), newest


def has_marker(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode) and os.path.lexists(path / MARKER)
    except OSError:
        return False


def pending(folder: Path) -> list[Path]:
    """Entries of a drop folder that may be drops: hidden names are still being written."""
    try:
        return [folder / n for n in sorted(os.listdir(folder)) if not n.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []


LOCAL_QUIET = 1.0     # seconds: a local copy shows every write at once
NETWORK_QUIET = 15.0  # NFS and friends cache attributes; another host's writes show late


def quiet_period(store: Store) -> float:
    """The store's `drop_quiet_seconds`; "auto" (the default) is short where the drop folder
    is local and long on a network filesystem, so a copied folder shows up within about two
    seconds locally without being caught half-written on NFS."""
    value = store.config["settings"].get("drop_quiet_seconds", "auto")
    if value in (None, "auto"):
        from modelyard.store.disk.fskind import is_network_fs

        return NETWORK_QUIET if is_network_fs(store.layout.drops) else LOCAL_QUIET
    return float(value)


def _quiet_wait(path: Path, age: float, quiet: float) -> Waiting:
    return Waiting(path.name, f"changed {age:.1f} s ago; ready after {quiet:g} s unchanged, "
                   f"or add {MARKER}", round(max(0.0, quiet - age), 1))


def scan_ready(store: Store, *, quiet_seconds: float | None = None,
               moved_in: Iterable[str] = (), state: ScanState | None = None) -> list[Path]:
    """Drops that may be ingested now, oldest name first.

    Ready means: a `COMPLETE` file inside; or renamed in from a hidden name (`moved_in`: names
    or paths the watcher saw); or quiet: nothing under it changed for `quiet_seconds`, by
    fingerprints compared across calls with the same `state`, or on first sight when every
    entry's mtime and ctime is already that old. Everything else is left alone, and so is a
    drop backing off after the storage failed on it; `state.left` says which and why.
    """
    quiet = quiet_period(store) if quiet_seconds is None else float(quiet_seconds)
    state = ScanState() if state is None else state
    moved = set(moved_in)
    mono, wall = time.monotonic(), time.time()
    present: set[str] = set()
    ready: list[Path] = []
    state.left = []
    for folder in drop_dirs(store):
        for path in pending(folder):
            key = str(path)
            present.add(key)
            if key in moved or path.name in moved:
                state.moved_in.add(key)
            if state.waiting(path, mono):
                due = state.retry_at[key] - mono
                state.left.append(Waiting(path.name, "the store's storage failed on it; "
                                          f"retried in {due:.0f} s", round(due, 1)))
                continue
            if key in state.moved_in or has_marker(path):
                ready.append(path)
                continue
            try:
                fp, newest = fingerprint(path)
            except OSError as exc:  # vanished (claimed by another watcher) or unreadable
                if os.path.lexists(path):
                    state.left.append(Waiting(path.name, f"cannot be read now: {exc}"))
                continue
            before = state.seen.get(key)
            if before is not None and before[0] == fp:
                if mono - before[1] >= quiet:
                    ready.append(path)
                else:
                    state.left.append(_quiet_wait(path, mono - before[1], quiet))
                continue
            state.seen[key] = (fp, mono)
            if quiet <= 0 or (before is None and wall - newest >= quiet):
                ready.append(path)
            else:
                age = 0.0 if before is not None else max(0.0, wall - newest)
                state.left.append(_quiet_wait(path, age, quiet))
    for table in (state.seen, state.failures, state.retry_at, state.storage_failures):
        for key in [k for k in table if k not in present]:
            del table[key]
    state.moved_in &= present
    return ready
