"""Check a store the way git fsck does: every record and event readable and what it claims
to be, every blob present and of the recorded size and, with `read_data`, every blob's bytes
hashed again and compared with its name; this host's index checked against the files and
rebuilt when it is damaged or out of step. Each problem names the versions it affects.

The problems found are remembered beside the index (store/check/integrity.py), so the app can mark
the versions they affect without hashing anything itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.store.check import integrity
from modelyard.store.check.problems import FsckReport, Problem, record_blobs
from modelyard.store.disk.atomic import HOST, TEMP_PREFIX, temp_writer
from modelyard.store.disk.blobs import hex_of
from modelyard.store.disk.events import read_event
from modelyard.store.disk.fsclock import fs_now
from modelyard.store.disk.identity import process_alive
from modelyard.store.disk.layout import numbered_files
from modelyard.store.disk.records import read_record
from modelyard.store.errors import StoreCorrupt

if TYPE_CHECKING:
    from modelyard.store.disk.blobs import BlobStore
    from modelyard.store.disk.layout import Layout
    from modelyard.store.index.reads import Index

STALE_TEMP_SECONDS = 3600


@dataclass
class _Use:
    """Which versions use a blob, and the size their records give it (None: not recorded)."""

    versions: set[str] = field(default_factory=set)
    size: int | None = None


def check_store(layout: Layout, index: Index, blobs: BlobStore, *, read_data: bool = False,
                temp_age: float = STALE_TEMP_SECONDS) -> FsckReport:
    """Every file against its digest, then the index against the files (rebuilt when it
    is damaged or out of step). The Store adds the policy's findings and remembers them."""
    report = FsckReport()
    uses: dict[str, _Use] = {}
    on_disk: set[tuple[str, int]] = set()
    for model in layout.model_names():
        _check_model(layout, model, report, uses, on_disk)
    _check_blobs(blobs, uses, report, read_data)
    known = {hex_of(d) for d in uses}
    report.unreferenced_blobs = sum(1 for d in blobs.all_digests() if d[7:] not in known)
    report.stale_temps_removed = remove_stale_temps(layout.root, temp_age)
    report.problems += integrity.check_index(layout, index, on_disk)
    return report


def _check_model(layout: Layout, model: str, report: FsckReport, uses: dict[str, _Use],
                 on_disk: set[tuple[str, int]]) -> None:
    numbers = numbered_files(layout.versions_dir(model))
    for expected, number in enumerate(numbers, start=1):
        if number != expected:
            report.problems.append(Problem("gap", str(layout.versions_dir(model)),
                                           f"{model} has no version {expected}"))
            break
    for number in numbers:
        path = layout.record_path(model, number)
        report.records += 1
        ref = f"{model}:{number}"
        try:
            refs = record_blobs(read_record(path, model, number))
        except StoreCorrupt as exc:
            report.problems.append(Problem("bad-record", str(path), str(exc), [ref]))
            continue
        on_disk.add((model, number))
        for digest, size in refs:
            use = uses.setdefault(digest, _Use())
            use.versions.add(ref)
            if size is not None:
                use.size = size
    named: dict[int, list[str]] = {}
    for seq in numbered_files(layout.events_dir(model)):
        report.events += 1
        try:
            event = read_event(layout, model, seq)
            trouble = event_trouble(event)
        except (StoreCorrupt, OSError) as exc:
            event, trouble = None, str(exc)
        if trouble:
            report.problems.append(Problem(
                "bad-event", str(layout.event_path(model, seq)),
                f"event {seq} of {model} is damaged, so its change (alias, tag, description) "
                f"is ignored: {trouble}", [model]))
        elif event is not None and isinstance(event.version, int):
            named.setdefault(event.version, []).append(_what_event_did(event))
    _check_named_records(layout, model, set(numbers), named, report)


def _what_event_did(event: Any) -> str:
    data = event.data
    what = {"alias.set": lambda: f"alias @{data.get('alias')}",
            "tag.set": lambda: f"tag {data.get('key')}",
            "description.set": lambda: "a description",
            "deprecated.set": lambda: "a deprecation"}.get(event.type, lambda: event.type)()
    return f"{what} (event {event.seq})"


def _check_named_records(layout: Any, model: str, numbers: set[int],
                         named: dict[int, list[str]], report: FsckReport) -> None:
    """A version that events name but whose record is gone (deleted by hand, or lost with a
    disk): its number is never given again (Store.add_version), and this says so."""
    for number in sorted(set(named) - numbers):
        gap = Problem("gap", str(layout.versions_dir(model)), f"{model} has no version {number}")
        if gap in report.problems:  # said better below
            report.problems.remove(gap)
        uses = ", ".join(named[number][:5]) + (" and more" if len(named[number]) > 5 else "")
        path = layout.record_path(model, number)
        report.problems.append(Problem(
            "missing-record", str(path),
            f"{model}:{number} has no record ({path} is missing), but its events name it: "
            f"{uses}. Restore the file from a backup if you have one; the number is never "
            f"given to a new version.", [f"{model}:{number}"]))


# what each event type must carry, and the type of each field
_EVENT_DATA = {"alias.set": {"alias": str}, "alias.removed": {"alias": str},
               "tag.set": {"key": str}, "tag.removed": {"key": str},
               "description.set": {"text": str}, "deprecated.set": {}}
_NEEDS_VERSION = {"alias.set", "tag.set", "tag.removed", "deprecated.set"}


def event_trouble(event: Any) -> str | None:
    """What is missing from an event that parses (every index applying it needs it), or
    None when it is whole."""
    for key, kind in _EVENT_DATA.get(event.type, {}).items():
        if not isinstance(event.data.get(key), kind):
            return f"its {event.type} data lacks {key!r}"
    if event.type in _NEEDS_VERSION and event.version is None:
        return f"its {event.type} names no version"
    return None


def _check_blobs(blobs: BlobStore, uses: dict[str, _Use], report: FsckReport,
                 read_data: bool) -> None:
    for digest, use in sorted(uses.items()):
        path = blobs.path(digest)
        versions = sorted(use.versions)
        report.blobs_checked += 1
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            report.problems.append(Problem("missing-blob", str(path),
                                           f"blob {digest} is missing", versions))
            continue
        except OSError as exc:
            report.problems.append(Problem("unreadable-blob", str(path),
                                           f"blob {digest} cannot be read: {exc.strerror}",
                                           versions))
            continue
        if use.size is not None and size != use.size:
            report.problems.append(Problem(
                "corrupt-blob", str(path), f"blob {digest} is corrupt: it holds {size:,} "
                f"bytes, its records say {use.size:,} (truncated or overwritten)", versions))
            continue
        if read_data:
            report.bytes_hashed += size
            try:
                trouble = blobs.verify(digest)
            except OSError as exc:
                trouble = f"cannot be read ({exc.strerror})"
            if trouble:
                report.problems.append(Problem("corrupt-blob", str(path),
                                               f"blob {digest} is corrupt: {trouble}",
                                               versions))


def remove_stale_temps(root: Path, age: float) -> list[str]:
    """Temp files a crashed writer left in blobs/, models/ or beside the store's settings.
    They never carry a final name, so they are safe to delete once no live writer can still
    be filling them: at once when the writer was a process on this host that is gone, else
    after `age` seconds (another host's writer may still be alive) by the filesystem's clock
    (`fs_now`: a host whose clock runs ahead must not take a live temp file for an old
    one). Drops and quarantine hold people's files: never touched."""
    removed = []
    now = fs_now(root)
    cutoff = now - age if now is not None else float("-inf")
    walks: list[tuple[str, list[str], list[str]]] = [
        (str(root), [], [n for n in _names(root) if n.startswith(TEMP_PREFIX)])]
    for top in ("blobs", "models"):
        walks += os.walk(root / top)
    for dirpath, _dirs, files in walks:
        for name in files:
            if not name.startswith(TEMP_PREFIX):
                continue
            path = os.path.join(dirpath, name)
            try:
                if os.lstat(path).st_mtime < cutoff or _writer_gone(name):
                    os.unlink(path)
                    removed.append(os.path.relpath(path, root))
            except OSError:
                pass  # gone already, or another user's (sticky folders)
    return sorted(removed)


def _names(folder: Path) -> list[str]:
    try:
        return [e.name for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
    except OSError:
        return []


def _writer_gone(name: str) -> bool:
    """Whether the temp file `name` was made by a process of this host that is gone
    (a zombie counts as gone; another user's process as alive)."""
    writer = temp_writer(name)
    if writer is None or writer[0] != HOST or writer[1] == os.getpid():
        return False
    return not process_alive(writer[1])
