"""The drop-folder protocol: training jobs drop a finished folder (or an archive of one), and
any number of watchers on any hosts claim it, ingest it or quarantine it, exactly once.

    drops/<name>/                                  being written, or ready
    drops/.claims/<name>@<host>@<pid>@<epoch>/<name>  held by one watcher (an atomic rename)
    drops/.ingested/<name>-<UTC time>/             done (removed if keep_ingested_drops is off)
    quarantine/<name>-<UTC time>/drop/             rejected; REJECTED.json and .txt beside it

Every move is a rename, so nothing dropped is lost: a crash leaves the drop inside its claim
and `recover_claims` returns it. When the store's storage fails (disk full, read-only, EIO)
the drop is not at fault: it is given back and retried after a growing pause, never
quarantined and never hammered. The pieces: readiness.py (when), claims.py (who),
inspection.py (what is refused), archives.py (unpacking), quarantine.py (rejections) and
drop_text.py (names shown safely); this module ties them together.

On NFS, attribute caching can hide another host's writes for up to `acregmax` (60 s by
default): there, producers should write COMPLETE last or rename the folder in, or the quiet
period should exceed the cache time.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from modelyard.store.disk import atomic, drop_limits, dropfs, faults
from modelyard.store.errors import (
    DropRejected,
    InvalidManifest,
    InvalidName,
    ModelyardError,
    ReadOnlyStore,
    StorageError,
)
from modelyard.store.ingest import archives, batch, inspection, manifest, writer
from modelyard.store.ingest.claims import (
    CLAIM_TIMEOUT,
    CLAIMS,
    HEARTBEAT_SECONDS,
    HIDDEN_MARKER,
    HOST,
    INGESTED,
    REJECTED_FILES,
    Claim,
    claim,
    claim_lost,
    deactivate,
    give_back,
    heartbeat,
    hide_marker,
    parse_claim,
    recover_claims,
    release_dir,
    remove_tree,
    restore_marker,
)
from modelyard.store.ingest.drop_text import escape, free_path, plain, stamp
from modelyard.store.ingest.quarantine import LOCAL_QUARANTINE, reject
from modelyard.store.ingest.readiness import (
    MARKER,
    ScanState,
    drop_dirs,
    fingerprint,
    quiet_period,
    scan_ready,
    walk,
)

if TYPE_CHECKING:
    from modelyard.store.api import Store

__all__ = [
    "CLAIMS", "CLAIM_TIMEOUT", "HEARTBEAT_SECONDS", "HIDDEN_MARKER", "HOST", "INGESTED",
    "LOCAL_QUARANTINE", "MARKER", "MAX_ATTEMPTS", "MAX_DEPTH", "MAX_FILES", "REJECTED_FILES",
    "Claim", "DropRejected", "Result", "ScanState", "claim", "drop_dirs", "escape",
    "fingerprint", "give_back", "ingest_drop", "ingest_drops", "ingest_ready", "inspect_drop",
    "parse_claim", "recover_claims", "scan_ready", "walk",
]

MAX_FILES = drop_limits.MAX_FILES  # module attributes: tests lower them
MAX_DEPTH = drop_limits.MAX_DEPTH
MAX_ATTEMPTS = 3  # unexpected failures before a drop is quarantined instead of retried
BACKOFF_SECONDS = 5.0  # first pause after the storage failed; doubles up to MAX_BACKOFF
MAX_BACKOFF = 300.0
STORAGE_TROUBLE = (StorageError, ReadOnlyStore)
Status = Literal["ingested", "rejected", "skipped"]
Log = Callable[[str], None]

_log = logging.getLogger("modelyard.drops")


@dataclass
class Result:
    """What happened to one drop; `line()` is the one log line the watcher prints.

    `transient` marks a drop given back because the store's storage failed: it is retried
    after `retry_in` seconds.
    """

    drop: str
    status: Status
    refs: list[str] = field(default_factory=list)
    reason: str = ""
    quarantine: Path | None = None
    error: str = ""  # the error type, for rejections and unexpected failures
    transient: bool = False
    retry_in: float = 0.0

    def line(self) -> str:
        if self.status == "ingested":
            return f"ingested {escape(self.drop)} as {', '.join(self.refs) or 'nothing'}"
        return f"{self.status} {escape(self.drop)}: {escape(self.reason)}"


# inspection --------------------------------------------------------------------------------

def inspect_drop(path: Path) -> bool:
    """Refuse hostile drops before any file is opened (see inspection.py), within this
    module's MAX_FILES and MAX_DEPTH; True when a file must be copied, not linked."""
    return inspection.inspect_drop(path, max_files=MAX_FILES, max_depth=MAX_DEPTH)


# ingestion ---------------------------------------------------------------------------------

def _read_drop(folder: Path) -> list[manifest.FolderVersion]:
    """Every version a drop describes (native, Hugging Face, MLflow…) via the detectors."""
    try:
        from modelyard.store.ingest.detect import read_drop
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
                on_error: Literal["release", "quarantine"] = "release",
                quiet_seconds: float | None = None) -> Result:
    """Claim one drop, then store its versions and set their aliases, or quarantine it.

    Unexpected failures (bugs, I/O errors) never lose the drop: it is given back to the
    drop folder for a retry, or quarantined with the reason when `on_error="quarantine"`.
    A failing store (StorageError, ReadOnlyStore) always gives it back: the drop is fine.
    A drop without COMPLETE on a network filesystem must also look quiet for `quiet_seconds`
    (default: the store's) through fresh opens, or it is given back (see `_still_quiet`).
    """
    return ingest_drops(store, [(Path(path), on_error)], log=log,
                        quiet_seconds=quiet_seconds)[0]


BATCH_DROPS = 64  # ready drops whose versions are recorded in one group commit
BATCH_SECONDS = 1.0  # or fewer: those prepared within this long (a big drop commits alone)


def ingest_drops(store: Store, paths: list[tuple[Path, Literal["release", "quarantine"]]],
                 *, log: Log | None = None, quiet_seconds: float | None = None
                 ) -> list[Result]:
    """`ingest_drop` of several drops, their versions recorded together (batch.commit: one
    group commit, one catch-up and one policy pass per model): each drop is claimed and its
    versions prepared (checked, blobs stored) in turn, then all are committed, then each
    drop's aliases are set and it leaves its claim; drops that take longer than
    BATCH_SECONDS to prepare are committed as they come. Each drop still ends on its own:
    one rejected does not hold back the others. When the store's storage fails on a drop, the
    drops after it are left alone (they would meet the same disk): the results are those
    of the drops tried, in order."""
    owner = not atomic.deferring()
    quiet = quiet_period(store) if quiet_seconds is None else float(quiet_seconds)
    drops: list[_Drop] = []
    with atomic.deferred_dir_syncs():
        try:
            waiting, since = [], time.monotonic()
            for path, on_error in paths:
                drops.append(_claim_and_prepare(store, path, on_error, quiet))
                waiting.append(drops[-1])
                if drops[-1].result is not None and drops[-1].result.transient:
                    break
                if time.monotonic() - since >= BATCH_SECONDS:  # big drops: don't keep
                    _commit(store, waiting)  # the first waiting for the last
                    waiting, since = [], time.monotonic()
            _commit(store, waiting)
        finally:
            for drop in drops:
                drop.release()
        if owner:
            _sync_moves()
    results = []
    for drop in drops:
        result = drop.result
        assert result is not None  # every drop ends in _claim_and_prepare or _commit
        if result.error or result.status != "skipped":
            _log.info(result.line())
            if log is not None:
                log(result.line())
        results.append(result)
    return results


def _sync_moves() -> None:
    """Make the last moves of drops durable. Their versions already are (a drop leaves its
    claim only after they are synced), so a failure here only means a power cut could put
    a drop back in its claim, to be ingested again as the same versions (deduplicated)."""
    try:
        atomic.sync_deferred()
    except STORAGE_TROUBLE as exc:
        _log.warning("could not sync the drop folders: %s", exc)


@dataclass
class _Drop:
    """A drop on its way through `ingest_drops`: claimed, its versions prepared, then
    committed; `result` is set once it has ended (ingested, rejected or given back)."""

    on_error: str
    held: Claim | None = None
    versions: list[tuple[manifest.FolderVersion, batch.Prepared]] = field(default_factory=list)
    result: Result | None = None
    beating: ExitStack = field(default_factory=ExitStack)

    def release(self) -> None:
        """Stop the claim's heartbeat; the claim itself is gone or given back by now."""
        self.beating.close()
        if self.held is not None:
            deactivate(self.held.dir)


def _claim_and_prepare(store: Store, path: Path, on_error: str, quiet: float) -> _Drop:
    drop = _Drop(on_error)
    try:
        drop.held = claim(path)
    except STORAGE_TROUBLE as exc:
        drop.result = Result(path.name, "skipped", reason=f"cannot claim it: {exc}",
                             error=type(exc).__name__, transient=True)
        return drop
    except (OSError, ModelyardError) as exc:  # e.g. no write access to the drop folder
        drop.result = Result(path.name, "skipped", reason=f"cannot claim it: {exc}",
                             error=type(exc).__name__)
        return drop
    if drop.held is None:
        drop.result = Result(path.name, "skipped", reason="claimed by another watcher")
        return drop
    drop.beating.enter_context(heartbeat(drop.held.dir))
    try:
        drop.versions = _prepare(store, drop.held, quiet)
    except Exception as exc:  # noqa: BLE001 - the watcher must outlive any bad drop
        drop.result = _failed(store, drop.held, exc, on_error, [])
    return drop


def _prepare(store: Store, held: Claim, quiet: float
             ) -> list[tuple[manifest.FolderVersion, batch.Prepared]]:
    """Inspect the claimed drop and prepare each version it holds: checked, and its files
    stored as blobs while the drop is anchored (no link can lead out of it)."""
    shared = inspect_drop(held.folder)
    folder = held.folder
    if not os.path.isdir(folder):
        folder = archives.unpack(held)
        shared = inspect_drop(folder)
    marked = os.path.lexists(folder / MARKER)
    hide_marker(folder)
    limits = drop_limits.ByteLimits.of(store.config["settings"])
    _check_bytes(folder, limits)
    faults.point("drop.inspected")
    out = []
    with dropfs.anchored(folder, limits, base=held.dir) as anchor:  # no link from here
        if not marked and folder == held.folder:
            _still_quiet(anchor, held, quiet)
        for fv in _read_drop(folder):
            token = writer.BEFORE_LINK.set(lambda: _still_held(held))
            try:
                out.append((fv, batch.prepare(store, fv.model, files=fv.files,
                                              metric_series=fv.metric_series,
                                              source=fv.source, consume=not shared,
                                              **fv.card)))
            finally:
                writer.BEFORE_LINK.reset(token)
    return out


def _commit(store: Store, drops: list[_Drop]) -> None:
    """Record the versions of every prepared drop at once, then set each drop's aliases and
    move it out of its claim."""
    ready = [d for d in drops if d.result is None]
    if not ready:
        return
    try:
        outcomes = store.commit_prepared([p for d in ready for _, p in d.versions])
    except Exception as exc:  # noqa: BLE001 - the watcher must outlive any bad drop
        if len(ready) > 1 and not isinstance(exc, STORAGE_TROUBLE):
            for drop in ready:  # each alone, so only the drop at fault fails (what the
                _commit(store, [drop])  # batch linked before failing is deduplicated)
            return
        for drop in ready:  # the storage failed: every drop is given back
            assert drop.held is not None
            drop.result = _failed(store, drop.held, exc, drop.on_error, [])
        return
    at = 0
    for drop in ready:
        assert drop.held is not None
        mine = outcomes[at:at + len(drop.versions)]
        at += len(drop.versions)
        refs: list[str] = []
        try:
            for (fv, _prepared), version in zip(drop.versions, mine, strict=True):
                if isinstance(version, Exception):
                    raise version
                refs.append(version.ref)
                for alias in fv.aliases:
                    if alias not in version.aliases:
                        store.set_alias(version.ref, alias)
            remove_tree(drop.held.dir / archives.UNPACKED)
            _finish(store, drop.held)
            drop.result = Result(drop.held.name, "ingested", refs)
        except Exception as exc:  # noqa: BLE001 - one drop's failure ends only that drop
            drop.result = _failed(store, drop.held, exc, drop.on_error, refs)


def _failed(store: Store, held: Claim, exc: Exception, on_error: str, refs: list[str]
            ) -> Result:
    """How a drop ends after `exc`: given back when it is still being written or the store's
    storage failed, skipped when another watcher took it back, rejected (quarantined with
    the reason) when it is at fault, and otherwise given back for a retry or quarantined
    (`on_error`) as an unexpected failure."""
    if isinstance(exc, dropfs.StillWriting):  # not the drop's fault, nor a failure: wait
        return _give_back(held, str(exc), exc, False)
    if isinstance(exc, ModelyardError) and not isinstance(exc, STORAGE_TROUBLE):
        remove_tree(held.dir / archives.UNPACKED)  # name the drop where people put it
        reason = str(exc).replace(str(held.folder), str(held.drop_dir / held.name))
        qdir = reject(store, held, reason, type(exc).__name__, _hint(exc), refs)
        return Result(held.name, "rejected", refs, reason, qdir, type(exc).__name__)
    if lost := claim_lost(held):  # not a disk failure: another watcher took it back
        return Result(held.name, "skipped", reason=lost, error="ClaimLost")
    if isinstance(exc, STORAGE_TROUBLE):
        result = _give_back(held, f"the store's storage failed: {exc}", exc, True)
        result.reason += " and retried after a pause"
        return result
    _log.error("unexpected error ingesting %s", escape(held.name), exc_info=exc)
    return _unexpected(store, held, exc, on_error)


class ClaimLost(Exception):
    """This watcher's claim was taken back by another (see claims.claim_lost)."""


def _still_held(held: Claim) -> None:
    """Right before a version's record is linked: this watcher still holds the drop."""
    if claim_lost(held):
        raise ClaimLost(held.name)


def _still_quiet(anchor: dropfs.Anchor, held: Claim, quiet: float) -> None:
    """On a network filesystem, see a copy-style drop (no COMPLETE) quiet through fresh
    opens before storing it: the scan that found it quiet may have read cached attributes
    (sshfs: 20 s) while a slow copy was still writing. Costs one open per file and a
    FRESH_AFTER pause per drop, on network filesystems only."""
    from modelyard.store.disk.fskind import is_network_fs

    if quiet <= 0 or not is_network_fs(held.folder):
        return
    time.sleep(dropfs.FRESH_AFTER)
    dropfs.check_quiet(anchor, quiet, dropfs.server_now_ns(held.dir))


def _check_bytes(folder: Path, limits: drop_limits.ByteLimits) -> None:
    """Refuse an oversized drop before hashing any of it (apparent sizes, so a sparse file
    counts whole: it would become a blob that big). Storing checks again, file by file."""
    total = 0
    for rel, st in walk(folder, max_files=MAX_FILES, max_depth=MAX_DEPTH):
        if stat.S_ISREG(st.st_mode):
            limits.check_file(st.st_size, escape(rel))
            total += st.st_size
    limits.check_drop(total, "the drop")


def _finish(store: Store, held: Claim) -> Path | None:
    """Move the consumed drop to .ingested/ (or remove it), then drop the empty claim."""
    restore_marker(held.folder)
    done = held.drop_dir / INGESTED
    atomic.ensure_dir(done)
    keep = bool(store.config["settings"].get("keep_ingested_drops", True))
    base = f"{plain(held.name)}-{stamp()}"
    target = free_path(done, base if keep else f".trash-{base}")
    atomic.sync_deferred()  # the versions first: a drop leaves its claim once they last
    try:
        faults.io("rename", target)
        os.rename(held.folder, target)
    except OSError as exc:
        raise atomic.storage_error(exc, target, "move the ingested drop to",
                                   "its versions are stored; it is retried") from exc
    atomic.fsync_dir(done)
    faults.point("drop.moved")
    release_dir(held.dir)
    if keep:
        return target
    atomic.sync_deferred()
    shutil.rmtree(target, ignore_errors=True)  # a crash here is finished by recover_claims
    return None


def _give_back(held: Claim, reason: str, exc: Exception, transient: bool) -> Result:
    try:
        give_back(held.dir, held.drop_dir)
        where = "given back to the drop folder"
    except Exception:  # noqa: BLE001 - recover_claims returns it later
        _log.exception("could not give back %s", escape(held.name))
        where = f"left in {held.dir}; recovery returns it"
    return Result(held.name, "skipped", reason=f"{reason}; {where}", error=type(exc).__name__,
                  transient=transient)


def _unexpected(store: Store, held: Claim, exc: Exception, on_error: str) -> Result:
    reason = f"unexpected {type(exc).__name__}: {exc}"
    if on_error == "quarantine":
        try:
            remove_tree(held.dir / archives.UNPACKED)
            full = f"{reason} (failed {MAX_ATTEMPTS} times)"
            qdir = reject(store, held, full, type(exc).__name__, _hint(exc), [])
            return Result(held.name, "rejected", [], full, qdir, type(exc).__name__)
        except Exception:  # noqa: BLE001 - fall back to giving it back
            _log.exception("could not quarantine %s", escape(held.name))
    return _give_back(held, f"{reason}; for a retry", exc, False)


def ingest_ready(store: Store, *, quiet_seconds: float | None = None,
                 moved_in: Iterable[str] = (), state: ScanState | None = None,
                 log: Log | None = None, should_stop: Callable[[], bool] | None = None,
                 on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Ingest every ready drop (see `scan_ready`); a drop that keeps failing unexpectedly is
    retried after a quiet period and quarantined at its MAX_ATTEMPTS-th failure. When the
    storage fails, the pass stops (the next drop would meet the same disk) and that drop
    waits BACKOFF_SECONDS, doubling each time up to MAX_BACKOFF: no retry loop."""
    state = ScanState() if state is None else state
    results: list[Result] = []
    with atomic.deferred_dir_syncs():  # one folder sync serves a drop's move and the next
        try:
            _ingest_each(store, quiet_seconds, moved_in, state, log, should_stop, on_result,
                         results)
        finally:
            _sync_moves()
    return results


def _ingest_each(store: Store, quiet_seconds: float | None, moved_in: Iterable[str],
                 state: ScanState, log: Log | None, should_stop: Callable[[], bool] | None,
                 on_result: Callable[[Result], None] | None, results: list[Result]) -> None:
    ready = scan_ready(store, quiet_seconds=quiet_seconds, moved_in=moved_in, state=state)
    for start in range(0, len(ready), BATCH_DROPS):
        if should_stop is not None and should_stop():
            break
        group = ready[start:start + BATCH_DROPS]
        tries = {str(path): state.failures.get(str(path), 0) + 1 for path in group}
        outcomes = ingest_drops(
            store, [(path, "quarantine" if tries[str(path)] >= MAX_ATTEMPTS else "release")
                    for path in group], log=log, quiet_seconds=quiet_seconds)
        for path, result in zip(group, outcomes, strict=False):  # fewer: the storage failed
            _note(state, path, tries[str(path)], result)
            results.append(result)
            if on_result is not None:
                on_result(result)
        if any(result.transient for result in outcomes):
            break


def _note(state: ScanState, path: Path, tries: int, result: Result) -> None:
    """Remember how the drop's attempt ended: when to retry it, or that it is done."""
    key = str(path)
    state.forget(path)
    if result.transient:
        pauses = state.storage_failures.get(key, 0) + 1
        state.storage_failures[key] = pauses
        result.retry_in = min(MAX_BACKOFF, BACKOFF_SECONDS * 2 ** (pauses - 1))
        state.retry_at[key] = time.monotonic() + result.retry_in
    elif result.status == "skipped" and result.error and result.error != "StillWriting":
        state.failures[key] = tries
    else:
        for table in (state.failures, state.storage_failures, state.retry_at):
            table.pop(key, None)
