"""The drop-folder protocol: training jobs drop a finished folder, and any number of
watchers on any hosts claim it, ingest it or quarantine it, exactly once.

    drops/<name>/                                  being written, or ready
    drops/.claims/<name>@<host>@<pid>@<epoch>/<name>  held by one watcher (an atomic rename)
    drops/.ingested/<name>-<UTC time>/             done (removed if keep_ingested_drops is off)
    quarantine/<name>-<UTC time>/drop/             rejected; REJECTED.json and .txt beside it

Every move is a rename, so nothing dropped is lost: a crash leaves the drop inside its claim
and `recover_claims` returns it. The drop keeps its own name inside the claim because
detectors use the folder name as the default model name.

On NFS, attribute caching can hide another host's writes for up to `acregmax` (60 s by
default): there, producers should write COMPLETE last or rename the folder in, or the quiet
period should exceed the cache time.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shlex
import shutil
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .. import atomic, faults, manifest
from ..errors import InvalidManifest, InvalidName, ModelyardError
from ..names import unsafe_char

if TYPE_CHECKING:
    from ..api import Store

MARKER = "COMPLETE"
HIDDEN_MARKER = ".modelyard-COMPLETE"  # set aside while ingesting so it is not stored
CLAIMS, INGESTED, LOCAL_QUARANTINE = ".claims", ".ingested", ".quarantine"
REJECTED_FILES = ("REJECTED.json", "REJECTED.txt")
MAX_FILES = 100_000
MAX_DEPTH = 32
CLAIM_TIMEOUT = 600.0
HEARTBEAT_SECONDS = 30.0
MAX_ATTEMPTS = 3  # unexpected failures before a drop is quarantined instead of retried
HOST = socket.gethostname().replace("/", "_").replace("@", "_")[:64] or "host"
Status = Literal["ingested", "rejected", "skipped"]
Log = Callable[[str], None]

_log = logging.getLogger("modelyard.drops")
_active: set[str] = set()  # claim folders this process is working on right now
_active_lock = threading.Lock()


class DropRejected(ModelyardError):
    """A drop no honest training job makes: links, special files, hostile names, huge trees."""

    def __init__(self, reason: str, hint: str) -> None:
        super().__init__(reason)
        self.hint = hint


@dataclass
class Result:
    """What happened to one drop; `line()` is the one log line the watcher prints."""

    drop: str
    status: Status
    refs: list[str] = field(default_factory=list)
    reason: str = ""
    quarantine: Path | None = None
    error: str = ""  # the error type, for rejections and unexpected failures

    def line(self) -> str:
        if self.status == "ingested":
            return f"ingested {escape(self.drop)} as {', '.join(self.refs) or 'nothing'}"
        return f"{self.status} {escape(self.drop)}: {escape(self.reason)}"


@dataclass
class ScanState:
    """What a watcher remembers between scans: each pending drop's fingerprint and since when."""

    seen: dict[str, tuple[str, float]] = field(default_factory=dict)
    moved_in: set[str] = field(default_factory=set)
    failures: dict[str, int] = field(default_factory=dict)

    def forget(self, path: Path) -> None:
        self.seen.pop(str(path), None)
        self.moved_in.discard(str(path))


# names and text ------------------------------------------------------------------------------

def _bad_char(text: str) -> str | None:
    """A control, bidi or undecodable character: such names spoof or break terminals."""
    return unsafe_char(text) or next((c for c in text if 0xD800 <= ord(c) <= 0xDFFF), None)


def escape(text: object) -> str:
    """`text` with control, bidi and undecodable characters shown as visible escapes."""
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return "".join(named.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
                   if _bad_char(c) else c for c in str(text))


def _plain(name: str, limit: int = 120) -> str:
    """A name safe to show and to type: unsafe characters become '_', cut to `limit` bytes."""
    text = "".join("_" if _bad_char(c) or c in "\\" else c for c in name) or "_"
    return text.encode()[:limit].decode(errors="ignore") or "_"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def _free(parent: Path, base: str) -> Path:
    """`parent/base`, or `base-2`, `-3`… when taken (a rename must never replace anything)."""
    path, n = parent / base, 1
    while os.path.lexists(path):
        n += 1
        path = parent / f"{base}-{n}"
    return path


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


# readiness ---------------------------------------------------------------------------------

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


def _has_marker(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode) and os.path.lexists(path / MARKER)
    except OSError:
        return False


def _pending(folder: Path) -> list[Path]:
    try:
        return [folder / n for n in sorted(os.listdir(folder)) if not n.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []


def scan_ready(store: Store, *, quiet_seconds: float | None = None,
               moved_in: Iterable[str] = (), state: ScanState | None = None) -> list[Path]:
    """Drops that may be ingested now, oldest name first.

    Ready means: a `COMPLETE` file inside; or renamed in from a hidden name (`moved_in`: names
    or paths the watcher saw); or quiet: nothing under it changed for `quiet_seconds`, by
    fingerprints compared across calls with the same `state`, or on first sight when every
    entry's mtime and ctime is already that old. Everything else is left alone.
    """
    quiet = float(store.config["settings"].get("drop_quiet_seconds", 10)
                  if quiet_seconds is None else quiet_seconds)
    state = ScanState() if state is None else state
    moved = set(moved_in)
    mono, wall = time.monotonic(), time.time()
    present: set[str] = set()
    ready: list[Path] = []
    for folder in drop_dirs(store):
        for path in _pending(folder):
            key = str(path)
            present.add(key)
            if key in moved or path.name in moved:
                state.moved_in.add(key)
            if key in state.moved_in or _has_marker(path):
                ready.append(path)
                continue
            try:
                fp, newest = fingerprint(path)
            except OSError:  # vanished (claimed by another watcher) or unreadable for now
                continue
            before = state.seen.get(key)
            if before is not None and before[0] == fp:
                if mono - before[1] >= quiet:
                    ready.append(path)
                continue
            state.seen[key] = (fp, mono)
            if quiet <= 0 or (before is None and wall - newest >= quiet):
                ready.append(path)
    for table in (state.seen, state.failures):
        for key in [k for k in table if k not in present]:
            del table[key]
    state.moved_in &= present
    return ready


# claims ------------------------------------------------------------------------------------

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
    """Take a drop by renaming it into a fresh claim folder; None when another watcher won.

    rename() is atomic on local filesystems and NFS alike: the loser gets ENOENT.
    """
    drop_dir, name = path.parent, path.name
    atomic.ensure_dir(drop_dir / CLAIMS)
    for _ in range(5):
        cdir = drop_dir / CLAIMS / _claim_dirname(name)
        with _active_lock:  # before mkdir: recovery in another thread must not take it
            _active.add(str(cdir))
        try:
            os.mkdir(cdir)
            break
        except FileExistsError:
            _deactivate(cdir)
            time.sleep(0.002)
        except BaseException:
            _deactivate(cdir)
            raise
    else:
        raise FileExistsError(f"cannot make a unique claim folder for {escape(name)}")
    try:
        os.rename(path, cdir / name)
    except FileNotFoundError:
        if not os.path.lexists(cdir / name):  # NFS may lose the reply of a rename it did
            _release_dir(cdir)
            return None
    except BaseException:
        _release_dir(cdir)
        raise
    for folder in (drop_dir, cdir):
        try:
            atomic.fsync_dir(folder)
        except OSError:
            _log.warning("could not fsync %s", escape(folder))
    faults.point("drop.claimed")
    return Claim(cdir, cdir / name, drop_dir, name)


def _deactivate(cdir: Path) -> None:
    with _active_lock:
        _active.discard(str(cdir))


def _release_dir(cdir: Path) -> None:
    try:
        os.rmdir(cdir)
    except OSError:
        pass
    _deactivate(cdir)


@contextmanager
def _heartbeat(cdir: Path) -> Iterator[None]:
    """Touch the claim while a long ingest runs, so other hosts do not think it crashed."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            try:
                os.utime(cdir)
            except OSError:
                return

    thread = threading.Thread(target=beat, name="modelyard-claim-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped is a zombie: as good as dead
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _stale(cdir: Path, timeout: float) -> bool:
    with _active_lock:
        if str(cdir) in _active:
            return False
    parsed = parse_claim(cdir.name)
    if parsed and parsed[1] == HOST and (parsed[2] == os.getpid() or not _alive(parsed[2])):
        return True
    try:
        touched = os.lstat(cdir).st_mtime
    except OSError:
        return False
    return time.time() - max(parsed[3] if parsed else 0.0, touched) >= timeout


def recover_claims(store: Store, *, timeout: float = CLAIM_TIMEOUT) -> list[Path]:
    """Return drops held by crashed watchers to their drop folder; the paths they now have.

    A claim is stale when its heartbeat is older than `timeout`, or at once when it was
    made on this host by a process that is gone.
    """
    returned: list[Path] = []
    for drop_dir in drop_dirs(store):
        _purge_trash(drop_dir / INGESTED)
        try:
            names = sorted(os.listdir(drop_dir / CLAIMS))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for cname in names:
            cdir = drop_dir / CLAIMS / cname
            if not cname.startswith(".") and _stale(cdir, timeout):
                returned += give_back(cdir, drop_dir)
    return returned


def give_back(cdir: Path, drop_dir: Path) -> list[Path]:
    """Rename what a claim folder holds back into `drop_dir` and remove the claim.

    Works at every stage: just claimed (`<name>`), or mid-rejection (`drop` plus REJECTED.*,
    whose JSON remembers the name).
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
            _unlink(cdir / entry)
    _release_dir(cdir)
    return returned


def _rejected_name(cdir: Path) -> str | None:
    try:
        name = json.loads((cdir / REJECTED_FILES[0]).read_text(encoding="utf-8"))["drop"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) and name and "/" not in name else None


def _return(src: Path, drop_dir: Path, name: str) -> Path | None:
    _restore_marker(src)
    target = drop_dir / name
    if os.path.lexists(target):
        target = _free(drop_dir, f"{name}-returned-{_stamp()}")
    try:
        os.rename(src, target)
    except FileNotFoundError:  # another recoverer was faster
        return None
    atomic.fsync_dir(drop_dir)
    _log.info("returned %s to %s", escape(name), escape(drop_dir))
    return target


def _hide_marker(folder: Path) -> None:
    if _has_marker(folder) and not os.path.lexists(folder / HIDDEN_MARKER):
        os.rename(folder / MARKER, folder / HIDDEN_MARKER)


def _restore_marker(folder: Path) -> None:
    try:
        if os.path.lexists(folder / HIDDEN_MARKER) and not os.path.lexists(folder / MARKER):
            os.rename(folder / HIDDEN_MARKER, folder / MARKER)
    except OSError:
        pass


def _purge_trash(done: Path) -> None:
    """Finish removing ingested drops whose removal a crash interrupted."""
    try:
        names = os.listdir(done)
    except OSError:
        return
    for name in names:
        if name.startswith(".trash-"):
            shutil.rmtree(done / name, ignore_errors=True)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# inspection --------------------------------------------------------------------------------

_KINDS = {stat.S_IFLNK: "symbolic link", stat.S_IFIFO: "FIFO (named pipe)",
          stat.S_IFSOCK: "socket", stat.S_IFCHR: "character device",
          stat.S_IFBLK: "block device", stat.S_IFREG: "regular file", stat.S_IFDIR: "folder"}


def inspect_drop(path: Path) -> bool:
    """Refuse hostile drops before any file is opened; True when a file has other hard links
    (it must then be copied, not linked, or a change elsewhere would corrupt the blob)."""
    shown = escape(path.name)
    st = os.lstat(path)
    kind = _KINDS.get(stat.S_IFMT(st.st_mode), "special file")
    if stat.S_ISLNK(st.st_mode):
        raise DropRejected(f"the drop {shown} is a symbolic link, not a folder",
                           "move the real folder into the drop folder, not a link to it")
    if not stat.S_ISDIR(st.st_mode):
        raise DropRejected(f"a drop must be a folder; {shown} is a {kind}",
                           "put the file in a folder with a modelyard.yaml manifest and "
                           "drop the folder")
    bad = _bad_char(path.name)
    if bad:
        raise DropRejected(f"the drop's name {shown} holds the character U+{ord(bad):04X}",
                           "give the folder a plain printable name")
    shared = False
    try:
        for rel, s in walk(path):
            kind = _KINDS.get(stat.S_IFMT(s.st_mode), "special file")
            if kind not in ("folder", "regular file"):
                raise DropRejected(f"{escape(rel)} in the drop is a {kind}",
                                   "copy real files into the drop; links and special files "
                                   "could read data from outside it")
            bad = _bad_char(rel)
            if bad:
                raise DropRejected(f"{escape(rel)} in the drop has U+{ord(bad):04X} in its "
                                   "name", "rename it to plain printable text")
            shared = shared or (kind == "regular file" and s.st_nlink > 1)
    except OSError as exc:
        raise DropRejected(f"part of the drop cannot be read: {exc.strerror} "
                           f"({escape(exc.filename)})",
                           "make every file readable by the watcher's user") from None
    return shared


# ingestion ---------------------------------------------------------------------------------

def _read_drop(folder: Path) -> list[manifest.FolderVersion]:
    """Every version a drop describes (native, Hugging Face, MLflow…) via the detectors."""
    try:
        from .detect import read_drop
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.detect":
            raise
        return [manifest.read_folder(folder)]
    return read_drop(folder)


def _hint(exc: Exception) -> str:
    if isinstance(exc, DropRejected):
        return exc.hint
    if isinstance(exc, InvalidName):
        return "use a printable model name without ':' or '@' (the manifest's `model`)"
    if isinstance(exc, InvalidManifest):
        return "fix the manifest as the reason says (see the README's manifest section)"
    if isinstance(exc, ModelyardError):
        return "fix what the reason says"
    return "this looks like a modelyard bug or a storage problem; report it with this file"


def ingest_drop(store: Store, path: Path, *, log: Log | None = None,
                on_error: Literal["release", "quarantine"] = "release") -> Result:
    """Claim one drop, then store its versions and set their aliases, or quarantine it.

    Unexpected failures (bugs, I/O errors) never lose the drop: it is given back to the
    drop folder for a retry, or quarantined with the reason when `on_error="quarantine"`.
    """
    path = Path(path)
    try:
        held = claim(path)
    except (OSError, ModelyardError) as exc:  # e.g. no write access to the drop folder
        result = Result(path.name, "skipped", reason=f"cannot claim it: {exc}",
                        error=type(exc).__name__)
        held = None
    else:
        if held is None:
            return Result(path.name, "skipped", reason="claimed by another watcher")
    if held is not None:
        try:
            with _heartbeat(held.dir):
                result = _ingest(store, held)
        except Exception as exc:  # noqa: BLE001 - the watcher must outlive any bad drop
            _log.exception("unexpected error ingesting %s", escape(held.name))
            result = _unexpected(store, held, exc, on_error)
        finally:
            _deactivate(held.dir)
    if result.error or result.status != "skipped":
        _log.info(result.line())
        if log is not None:
            log(result.line())
    return result


def _ingest(store: Store, held: Claim) -> Result:
    refs: list[str] = []
    try:
        shared = inspect_drop(held.folder)
        _hide_marker(held.folder)
        for fv in _read_drop(held.folder):
            version = store.add_version(fv.model, files=fv.files, metric_series=fv.metric_series,
                                        source=fv.source, consume=not shared, **fv.card)
            refs.append(version.ref)
            for alias in fv.aliases:
                if alias not in version.aliases:
                    store.set_alias(version.ref, alias)
    except ModelyardError as exc:  # name the drop where people put it, not its claim
        reason = str(exc).replace(str(held.folder), str(held.drop_dir / held.name))
        return _reject(store, held, reason, exc, refs)
    _finish(store, held)
    return Result(held.name, "ingested", refs)


def _finish(store: Store, held: Claim) -> Path | None:
    """Move the consumed drop to .ingested/ (or remove it), then drop the empty claim."""
    _restore_marker(held.folder)
    done = held.drop_dir / INGESTED
    atomic.ensure_dir(done)
    keep = bool(store.config["settings"].get("keep_ingested_drops", True))
    base = f"{_plain(held.name)}-{_stamp()}"
    target = _free(done, base if keep else f".trash-{base}")
    os.rename(held.folder, target)
    atomic.fsync_dir(done)
    faults.point("drop.moved")
    _release_dir(held.dir)
    if keep:
        return target
    shutil.rmtree(target, ignore_errors=True)  # a crash here is finished by recover_claims
    return None


def _unexpected(store: Store, held: Claim, exc: Exception, on_error: str) -> Result:
    reason = f"unexpected {type(exc).__name__}: {exc}"
    if on_error == "quarantine":
        try:
            return _reject(store, held, f"{reason} (failed {MAX_ATTEMPTS} times)", exc, [])
        except Exception:  # noqa: BLE001 - fall back to giving it back
            _log.exception("could not quarantine %s", escape(held.name))
    try:
        give_back(held.dir, held.drop_dir)
        where = "given back to the drop folder for a retry"
    except Exception:  # noqa: BLE001 - recover_claims returns it later
        _log.exception("could not give back %s", escape(held.name))
        where = f"left in {held.dir}; recovery returns it"
    return Result(held.name, "skipped", reason=f"{reason}; {where}", error=type(exc).__name__)


# quarantine --------------------------------------------------------------------------------

def _reject(store: Store, held: Claim, reason: str, exc: Exception, refs: list[str]) -> Result:
    """Write REJECTED.json/.txt beside the drop inside its claim, then move the whole claim
    folder into quarantine with one rename: a crash at any point leaves it recoverable."""
    _restore_marker(held.folder)
    if held.name != "drop" and os.path.lexists(held.folder):  # not on a second try
        os.rename(held.folder, held.dir / "drop")
    back = held.drop_dir / _plain(held.name)
    info = {
        "schema": "modelyard.rejected/1", "drop": held.name, "drop_shown": escape(held.name),
        "drop_dir": str(held.drop_dir), "folder": "drop",
        "reason": reason, "error": type(exc).__name__, "hint": _hint(exc),
        "rejected_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "host": HOST, "pid": os.getpid(), "stored_before_rejection": refs,
        "retry": f"fix the folder `drop` beside this file, then from this folder run: "
                 f"mv drop {shlex.quote(escape(back))}",
    }
    body = json.dumps(info, indent=2, sort_keys=True, ensure_ascii=True).encode() + b"\n"
    atomic.write_exclusive(held.dir / REJECTED_FILES[0], body, stage="rejected")
    atomic.write_exclusive(held.dir / REJECTED_FILES[1], _human(info).encode(), stage="rejected")
    qdir = _into_quarantine(store, held)
    faults.point("drop.moved")
    _deactivate(held.dir)
    return Result(held.name, "rejected", refs, reason, qdir, type(exc).__name__)


def _into_quarantine(store: Store, held: Claim) -> Path:
    """One rename of the whole claim folder; beside the drops when the store's quarantine
    is on another filesystem (renames cannot cross mounts, and copying could lose bytes)."""
    base = f"{_plain(held.name)}-{_stamp()}"
    for home in (store.layout.quarantine, held.drop_dir / LOCAL_QUARANTINE):
        atomic.ensure_dir(home)
        qdir = _free(home, base)
        try:
            os.rename(held.dir, qdir)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            continue
        atomic.fsync_dir(home)
        atomic.fsync_dir(held.dir.parent)
        return qdir
    raise OSError(errno.EXDEV, "no quarantine folder on the drop folder's filesystem")


def _human(info: dict) -> str:
    stored = ", ".join(info["stored_before_rejection"])
    renamed = ("" if info["drop_shown"] == _plain(info["drop"]) else
               f"\nIts name was {info['drop_shown']}; the command gives it a plain name.")
    return (
        "modelyard rejected this drop and moved it here unchanged; nothing in it was lost.\n\n"
        f"Drop:     {info['drop_shown']} (from {escape(info['drop_dir'])})\n"
        f"When:     {info['rejected_at']} on {escape(info['host'])}\n"
        f"Problem:  {escape(info['reason'])} [{info['error']}]\n"
        + (f"Stored before the problem was found: {stored}\n" if stored else "")
        + f"\nHow to fix: {info['hint']}.\n"
        "How to retry: fix the folder `drop` beside this file, then move it back into the\n"
        f"drop folder; from this folder:\n    {escape(info['retry'].split('run: ')[-1])}"
        f"{renamed}\n"
        f"Add an empty file named {MARKER} to it to skip the quiet period.\n")


def ingest_ready(store: Store, *, quiet_seconds: float | None = None,
                 moved_in: Iterable[str] = (), state: ScanState | None = None,
                 log: Log | None = None, should_stop: Callable[[], bool] | None = None,
                 on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Ingest every ready drop (see `scan_ready`); a drop that keeps failing unexpectedly is
    retried after a quiet period and quarantined at its MAX_ATTEMPTS-th failure."""
    state = ScanState() if state is None else state
    results = []
    for path in scan_ready(store, quiet_seconds=quiet_seconds, moved_in=moved_in, state=state):
        if should_stop is not None and should_stop():
            break
        key = str(path)
        tries = state.failures.get(key, 0) + 1
        result = ingest_drop(store, path, log=log,
                             on_error="quarantine" if tries >= MAX_ATTEMPTS else "release")
        state.forget(path)
        if result.status == "skipped" and result.error:
            state.failures[key] = tries
        else:
            state.failures.pop(key, None)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
