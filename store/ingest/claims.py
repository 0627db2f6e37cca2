"""Claiming a drop so exactly one watcher on any host ingests it, and giving back what a
crashed watcher held.

    drops/.claims/<name>@<host>@<pid>@<epoch>/<name>   held by one watcher (an atomic rename)

rename() is atomic on local filesystems and NFS alike, so of two watchers renaming one drop
the loser gets ENOENT. A live claim is touched by a heartbeat; one whose heartbeat stopped
(or whose process on this host is gone) is stale and `recover_claims` returns its drop.
A heartbeat's age is measured by the filesystem's clock (`fsclock`), never by comparing
another host's stamp with this host's clock: hosts' clocks disagree.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import pwd
import shutil
import socket
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelyard.store.disk import atomic, faults
from modelyard.store.disk.fsclock import fs_now, touch_by_server
from modelyard.store.disk.identity import process_alive
from modelyard.store.errors import ModelyardError
from modelyard.store.ingest.drop_text import escape, free_path, stamp
from modelyard.store.ingest.readiness import MARKER, drop_dirs

if TYPE_CHECKING:
    from modelyard.store.api import Store

CLAIMS, INGESTED = ".claims", ".ingested"
HIDDEN_MARKER = ".modelyard-COMPLETE"  # set aside while ingesting so it is not stored
REJECTED_FILES = ("REJECTED.json", "REJECTED.txt")
CLAIM_TIMEOUT = 600.0
HEARTBEAT_SECONDS = 30.0
HOST = socket.gethostname().replace("/", "_").replace("@", "_")[:64] or "host"

_log = logging.getLogger("modelyard.drops")
_active: set[str] = set()  # claim folders this process is working on right now
_active_lock = threading.Lock()


@dataclass
class Claim:
    """A drop this process holds: `folder` is the drop, under its own name, inside `dir`."""

    dir: Path
    folder: Path
    drop_dir: Path
    name: str


def _claim_dirname(name: str) -> str:
    suffix = f"@{HOST}@{os.getpid()}@{time.time():.3f}"
    room = 250 - len(suffix.encode())
    return name.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore") + suffix


def parse_claim(dirname: str) -> tuple[str, str, int, float] | None:
    """(name, host, pid, epoch) of a claim folder's name, or None if it is not one."""
    parts = dirname.rsplit("@", 3)
    try:
        return parts[0], parts[1], int(parts[2]), float(parts[3])
    except (IndexError, ValueError):
        return None


def claim(path: Path) -> Claim | None:
    """Take a drop by renaming it into a fresh claim folder; None when another watcher won."""
    drop_dir, name = path.parent, path.name
    if os.path.isfile(path) and not os.access(path, os.R_OK):  # an archive copied privately
        _not_shared(path, "readable")  # raises, or says nothing new
        return None
    atomic.ensure_dir(drop_dir / CLAIMS)
    for _ in range(5):
        cdir = drop_dir / CLAIMS / _claim_dirname(name)
        with _active_lock:  # before mkdir: recovery in another thread must not take it
            _active.add(str(cdir))
        try:
            os.mkdir(cdir)
            if atomic.group_shared(cdir.parent):
                atomic.share_dir(cdir)  # any member's watcher may give it back
            break
        except FileExistsError:
            deactivate(cdir)
            time.sleep(0.002)
        except OSError as exc:
            deactivate(cdir)
            raise atomic.storage_error(exc, cdir.parent, "claim the drop in") from exc
        except BaseException:
            deactivate(cdir)
            raise
    else:
        raise FileExistsError(f"cannot make a unique claim folder for {escape(name)}")
    try:
        faults.io("rename", path)
        os.rename(path, cdir / name)
    except FileNotFoundError:
        if not os.path.lexists(cdir / name):  # NFS may lose the reply of a rename it did
            release_dir(cdir)
            return None
    except OSError as exc:
        release_dir(cdir)
        if exc.errno in (errno.EACCES, errno.EPERM) and os.access(cdir.parent, os.W_OK):
            _not_shared(path, "writable")  # the store is writable; the drop is not
            return None
        raise atomic.storage_error(exc, path, "claim the drop") from exc
    except BaseException:
        release_dir(cdir)
        raise
    for folder in (drop_dir, cdir):
        try:
            atomic.fsync_dir(folder)
        except Exception:  # noqa: BLE001 - the rename happened; durability is best effort
            _log.warning("could not fsync %s", escape(folder))
    faults.point("drop.claimed")
    return Claim(cdir, cdir / name, drop_dir, name)


class DropNotShared(ModelyardError):
    """A drop this user may not move: written by another member of the group with a private
    umask (or by someone outside the group). Said once per drop, not on every pass."""


_told: set[tuple[str, int, int]] = set()  # unshared drops this process has reported


def _not_shared(path: Path, what: str) -> None:
    """Raise DropNotShared the first time this process meets `path` as it is now (a drop
    changed since, e.g. by chmod, is tried afresh); None after that: nothing new to say."""
    try:
        st = os.lstat(path)
    except OSError:
        return None  # gone: another watcher took it
    key = (str(path), st.st_ino, st.st_ctime_ns)
    if key in _told:
        return None
    _told.add(key)
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = f"uid {st.st_uid}"
    raise DropNotShared(
        f"{escape(path)} belongs to {owner} and is not {what} by you (mode "
        f"{stat.S_IMODE(st.st_mode):04o}), so this watcher cannot take it; it was probably "
        f"copied in with a private umask. Its owner should run `chmod -R g+rwX "
        f"{escape(path)}` (or copy with `umask 002`); it is then ingested on the next pass. "
        "Said once; the drop stays where it is.")


def claim_lost(held: Claim) -> str | None:
    """Why this process no longer holds `held`, or None while it does: another watcher
    judged the claim's heartbeat stale (this one was paused, or its filesystem stalled) and
    gave the drop back. Then a failure reading the drop is no disk failure, and says so."""
    if os.path.isdir(held.dir) and (os.path.lexists(held.folder)
                                    or os.path.lexists(held.dir / "drop")):
        return None
    return (f"another watcher took {escape(held.name)} back while this one was ingesting it "
            f"(it saw no heartbeat from this claim for {CLAIM_TIMEOUT:.0f} s by the "
            "filesystem's clock: was this watcher paused, or its filesystem stalled?); "
            "nothing is lost: the drop is ingested once, by the watcher that holds it now")


def deactivate(cdir: Path) -> None:
    with _active_lock:
        _active.discard(str(cdir))


def release_dir(cdir: Path) -> None:
    try:
        os.rmdir(cdir)
    except OSError:
        pass
    deactivate(cdir)


@contextmanager
def heartbeat(cdir: Path) -> Iterator[None]:
    """Touch the claim while a long ingest runs, so other hosts do not think it crashed.

    One thread per process touches every claim being worked on, every HEARTBEAT_SECONDS
    (a thread per drop cost more than ingesting a small drop)."""
    with _beating_lock:
        _beating.add(str(cdir))
        _start_beating()
    try:
        yield
    finally:
        with _beating_lock:
            _beating.discard(str(cdir))


_beating: set[str] = set()  # claim folders the heartbeat thread touches
_beating_lock = threading.Lock()
_beater: threading.Thread | None = None


def _start_beating() -> None:
    """Start the heartbeat thread unless it runs (called with _beating_lock held)."""
    global _beater
    if _beater is not None and _beater.is_alive():
        return
    _beater = threading.Thread(target=_beat, name="modelyard-claim-heartbeat", daemon=True)
    _beater.start()


def _beat() -> None:
    while True:
        time.sleep(HEARTBEAT_SECONDS)
        with _beating_lock:
            folders = sorted(_beating)
        for folder in folders:
            try:
                touch_by_server(Path(folder))
            except OSError:
                with _beating_lock:
                    _beating.discard(folder)


def _stale(cdir: Path, timeout: float, now: float | None) -> bool:
    """Whether a claim's watcher is gone: at once for a process of this host that is not
    running, else when the claim folder's heartbeat is `timeout` old by the filesystem's
    clock (`now`, from `fs_now`; None: unknown, so nothing is stale by age)."""
    with _active_lock:
        if str(cdir) in _active:
            return False
    parsed = parse_claim(cdir.name)
    if parsed and parsed[1] == HOST and (parsed[2] == os.getpid()
                                         or not process_alive(parsed[2])):
        return True
    if now is None:
        return False
    try:
        touched = os.lstat(cdir).st_mtime
    except OSError:
        return False
    return now - touched >= timeout


def recover_claims(store: Store, *, timeout: float = CLAIM_TIMEOUT) -> list[Path]:
    """Return drops held by crashed watchers to their drop folder; the paths they now have.

    A claim is stale when its heartbeat is older than `timeout` by the filesystem's clock,
    or at once when it was made on this host by a process that is gone.
    """
    returned: list[Path] = []
    for drop_dir in drop_dirs(store):
        purge_trash(drop_dir / INGESTED)
        try:
            names = sorted(os.listdir(drop_dir / CLAIMS))
        except (FileNotFoundError, NotADirectoryError):
            continue
        now = fs_now(drop_dir / CLAIMS) if any(not n.startswith(".") for n in names) else None
        for cname in names:
            cdir = drop_dir / CLAIMS / cname
            if not cname.startswith(".") and _stale(cdir, timeout, now):
                returned += give_back(cdir, drop_dir)
    return returned


def give_back(cdir: Path, drop_dir: Path) -> list[Path]:
    """Rename what a claim folder holds back into `drop_dir` and remove the claim.

    Works at every stage: just claimed (`<name>`), unpacking an archive (a hidden temp
    folder beside it, removed), or mid-rejection (`drop` plus REJECTED.*, whose JSON
    remembers the name).
    """
    try:
        entries = os.listdir(cdir)
    except FileNotFoundError:
        return []
    parsed = parse_claim(cdir.name)
    rejecting = "drop" in entries and (parsed is None or parsed[0] != "drop"
                                       or any(r in entries for r in REJECTED_FILES))
    returned = []
    for entry in entries:
        if entry.startswith(atomic.TEMP_PREFIX) or (rejecting and entry in REJECTED_FILES):
            continue
        name = entry
        if rejecting and entry == "drop":
            name = _rejected_name(cdir) or (parsed[0] if parsed else "") or "drop"
        target = _return(cdir / entry, drop_dir, name)
        if target is not None:
            returned.append(target)
    for entry in entries:
        if entry.startswith(atomic.TEMP_PREFIX) or (rejecting and entry in REJECTED_FILES):
            remove_tree(cdir / entry)
    release_dir(cdir)
    return returned


def _rejected_name(cdir: Path) -> str | None:
    try:
        name = json.loads((cdir / REJECTED_FILES[0]).read_text(encoding="utf-8"))["drop"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) and name and "/" not in name else None


def _return(src: Path, drop_dir: Path, name: str) -> Path | None:
    restore_marker(src)
    target = drop_dir / name
    if os.path.lexists(target):
        target = free_path(drop_dir, f"{name}-returned-{stamp()}")
    try:
        os.rename(src, target)
    except FileNotFoundError:  # another recoverer was faster
        return None
    atomic.fsync_dir(drop_dir)
    _log.info("returned %s to %s", escape(name), escape(drop_dir))
    return target


def hide_marker(folder: Path) -> None:
    if os.path.isdir(folder) and os.path.lexists(folder / MARKER) \
            and not os.path.lexists(folder / HIDDEN_MARKER):
        os.rename(folder / MARKER, folder / HIDDEN_MARKER)
        faults.point("drop.marker_hidden")


def restore_marker(folder: Path) -> None:
    try:
        if os.path.lexists(folder / HIDDEN_MARKER) and not os.path.lexists(folder / MARKER):
            os.rename(folder / HIDDEN_MARKER, folder / MARKER)
    except OSError:
        pass


def purge_trash(done: Path) -> None:
    """Finish removing ingested drops whose removal a crash interrupted."""
    try:
        names = os.listdir(done)
    except OSError:
        return
    for name in names:
        if name.startswith(".trash-"):
            shutil.rmtree(done / name, ignore_errors=True)


def remove_tree(path: Path) -> None:
    """Remove a file or a whole folder (a temp file, a half-unpacked archive), quietly."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass
