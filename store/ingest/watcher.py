"""The drop watcher: ingests drops as they arrive, forever, and never dies on a bad one.

A watchdog observer only tells the loop *when* to look (and which drops were renamed in
from a hidden name); the loop itself lists the drop folders every second, so a missed or
overflowed event delays nothing by more than a tick. Inotify is used on local disks; on
network filesystems other hosts' writes raise no inotify events, so a PollingObserver is.

    Watcher("/shared/models", log=print).run()            # blocks; SIGTERM-safe via run_watch
    w = Watcher(root, on_result=post); w.start(); ...; w.stop()   # inside another program
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from modelyard.store.api import Store
from modelyard.store.disk import atomic
from modelyard.store.disk.fskind import is_network_fs
from modelyard.store.errors import ModelyardError
from modelyard.store.ingest.drops import (
    CLAIM_TIMEOUT,
    Result,
    ScanState,
    drop_dirs,
    escape,
    ingest_ready,
    recover_claims,
)
from modelyard.store.ingest.readiness import Waiting, pending

DEFAULT_POLL = 2.0
TICK = 1.0  # how often quiet drops are re-checked without any event
MIN_GAP = 0.2  # at most five scans a second however many events arrive
_log = logging.getLogger("modelyard.watcher")


def _quiet_shutdown_race(record: logging.LogRecord) -> bool:
    """watchdog logs an ERROR when inotify reads race observer.stop(); it is harmless, and
    inside a terminal app a stray stderr line would break the screen."""
    return "called when the thread is inactive" not in record.getMessage()


logging.getLogger("watchdog.observers.inotify").addFilter(_quiet_shutdown_race)


class DropEvents(FileSystemEventHandler):
    """Bookkeeping only (it runs on watchdog's thread): wake the loop, and remember drops
    renamed in from a hidden name, which are complete the moment they appear."""

    def __init__(self) -> None:
        self.wake = threading.Event()
        self._lock = threading.Lock()
        self._moved_in: set[str] = set()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type == "moved":
            src, dest = os.fsdecode(event.src_path), os.fsdecode(event.dest_path)
            if (os.path.dirname(src) == os.path.dirname(dest)
                    and os.path.basename(src).startswith(".")
                    and not os.path.basename(dest).startswith(".")):
                with self._lock:
                    self._moved_in.add(dest)
        self.wake.set()

    def take_moved_in(self) -> set[str]:
        with self._lock:
            taken, self._moved_in = self._moved_in, set()
        return taken


class Watcher:
    """Watch a store's drop folders and ingest what becomes ready.

    `poll` forces a PollingObserver with that interval; `quiet_seconds` overrides the
    store's `drop_quiet_seconds`; every `rescan_every` seconds stale claims are recovered.
    `log` gets one line per drop, `on_result` each Result (both on the watcher's thread).
    """

    def __init__(self, store_root: str | Path, *, poll: float | None = None,
                 quiet_seconds: float | None = None, rescan_every: float = 30.0,
                 claim_timeout: float = CLAIM_TIMEOUT, log: Callable[[str], None] | None = None,
                 on_result: Callable[[Result], None] | None = None) -> None:
        self.store_root = Path(store_root)
        self.poll = poll
        self.quiet_seconds = quiet_seconds
        self.rescan_every = rescan_every
        self.claim_timeout = claim_timeout
        self.log = log or _log.info
        self.on_result = on_result
        self.polling: bool | None = None  # which observer run() chose, once it has
        self.error: BaseException | None = None  # what ended a start()ed watcher, if anything
        self._stop = threading.Event()
        self._events = DropEvents()
        self._thread: threading.Thread | None = None
        self.left: list[Waiting] = []  # drops run_once left in place, with the reason

    # one pass, for cron ------------------------------------------------------------------
    def run_once(self) -> list[Result]:
        """Recover stale claims, ingest what is ready now (old enough or marked), return.
        Drops left in place, and why, are in `self.left` afterwards."""
        state = ScanState()
        with Store.open(self.store_root) as store:
            recover_claims(store, timeout=self.claim_timeout)
            results = ingest_ready(store, quiet_seconds=self.quiet_seconds, log=self.log,
                                   on_result=self.on_result, state=state)
            self.left = state.left + _not_tried(store, results, state.left)
        return results

    # forever -----------------------------------------------------------------------------
    def run(self) -> None:
        """Block until stop(): the drop being ingested when stop() comes is finished first."""
        with Store.open(self.store_root) as store:
            folders = drop_dirs(store)
            for folder in folders:
                try:
                    atomic.ensure_dir(folder)
                except (OSError, ModelyardError) as exc:
                    self.log(f"cannot use drop folder {escape(folder)}: {escape(exc)}")
            observer = self._observe([f for f in folders if f.is_dir()])
            try:
                self._loop(store)
            finally:
                if observer is not None:
                    observer.stop()
                    observer.join(timeout=5)

    def _loop(self, store: Store) -> None:
        state = ScanState()
        last_rescan = -float("inf")
        from modelyard.store.index.snapshot_auto import AutoPublisher

        snapshots = AutoPublisher(self.log)  # index snapshots for new hosts, when due
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if started - last_rescan >= self.rescan_every:
                    recover_claims(store, timeout=self.claim_timeout)
                    last_rescan = started
                ingest_ready(store, quiet_seconds=self.quiet_seconds,
                             moved_in=self._events.take_moved_in(), state=state,
                             log=self.log, should_stop=self._stop.is_set,
                             on_result=self._deliver)
                snapshots.tick(store)
            except Exception as exc:  # noqa: BLE001 - e.g. the NFS server went away: wait
                _log.exception("watcher pass failed")
                self.log(f"watcher pass failed ({type(exc).__name__}: {escape(exc)}); "
                         "retrying")
                self._stop.wait(5 * TICK)
            self._events.wake.wait(TICK)
            self._events.wake.clear()
            self._stop.wait(max(0.0, MIN_GAP - (time.monotonic() - started)))

    def _deliver(self, result: Result) -> None:
        if self.on_result is None:
            return
        try:
            self.on_result(result)
        except Exception:  # noqa: BLE001 - a failing callback must not stop ingestion
            _log.exception("on_result callback failed")

    def _observe(self, folders: list[Path]) -> BaseObserver | None:
        """Inotify on local disks; polling on network filesystems or when asked to poll."""
        self.polling = self.poll is not None or any(is_network_fs(f) for f in folders)
        for attempt in ("chosen", "polling fallback"):
            observer: BaseObserver = (PollingObserver(timeout=self.poll or DEFAULT_POLL)
                                      if self.polling else Observer())
            try:
                for folder in folders:
                    observer.schedule(self._events, str(folder), recursive=False)
                observer.start()
            except OSError as exc:  # inotify watch or instance limits reached
                self.log(f"{attempt} observer failed ({escape(exc)}); polling instead")
                self.polling = True
                continue
            kind = f"polling every {self.poll or DEFAULT_POLL:g}s" if self.polling else "inotify"
            self.log(f"watching {', '.join(escape(f) for f in folders)} ({kind})")
            return observer
        self.log("no observer could start; scanning every second without events")
        return None

    # inside another program --------------------------------------------------------------
    def start(self) -> None:
        """Run in a daemon thread (the app's way); stop() ends it."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run_guarded, name="modelyard-watcher",
                                        daemon=True)
        self._thread.start()

    def _run_guarded(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # noqa: BLE001 - keep it for the owner to read
            self.error = exc
            self.log(f"watcher stopped: {type(exc).__name__}: {escape(exc)}")

    def stop(self, *, wait: bool = True, timeout: float | None = 60.0) -> None:
        """Ask the loop to end after the current drop; with `wait`, join a start()ed thread."""
        self._stop.set()
        self._events.wake.set()
        thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def _not_tried(store: Store, results: list[Result], left: list[Waiting]) -> list[Waiting]:
    """Ready drops the pass did not reach (it stops when the storage fails)."""
    seen = {r.drop for r in results} | {w.drop for w in left}
    return [Waiting(path.name, "ready, but this pass stopped before it (the store's storage "
                    "failed on another drop); the next pass takes it")
            for folder in drop_dirs(store) for path in pending(folder)
            if path.name not in seen]


@contextmanager
def _stop_on_signals(watcher: Watcher) -> Iterator[None]:
    """SIGTERM and SIGINT finish the current drop and exit cleanly (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        watcher.stop(wait=False)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_watch(store_root: str | Path, *, poll: float | None = None, once: bool = False,
              log: Callable[[str], None] = print, quiet_seconds: float | None = None,
              claim_timeout: float = CLAIM_TIMEOUT,
              report: Callable[[dict], None] | None = None) -> int:
    """The `watch` command: 0 when it ended normally (or after a signal), 1 when the store
    cannot be opened. `once=True` recovers, ingests what is ready now and returns (cron),
    logging a `waiting: …` line for each drop it left; with `report`, it also gets the whole
    pass as one dict (see `once_report`), for `watch --once --json`."""
    watcher = Watcher(store_root, poll=poll, quiet_seconds=quiet_seconds, log=log,
                      claim_timeout=claim_timeout)
    try:
        if once:
            results = watcher.run_once()
            for waiting in watcher.left:
                log(waiting.line())
            if report is not None:
                report(once_report(results, watcher.left))
        else:
            with _stop_on_signals(watcher):
                watcher.run()
    except (ModelyardError, OSError) as exc:  # no store there, or it cannot be read
        log(f"error: {escape(exc)}")
        return 1
    return 0


def once_report(results: list[Result], left: list[Waiting]) -> dict[str, list[dict]]:
    """One pass as JSON-ready data: ingested, rejected and skipped drops, and those waiting
    ({drop, reason, ready_in_seconds})."""
    out: dict[str, list[dict]] = {"ingested": [], "rejected": [], "skipped": [], "waiting": []}
    for r in results:
        item: dict = {"drop": r.drop}
        if r.status == "ingested":
            item["refs"] = list(r.refs)
        else:
            item.update(reason=r.reason, error=r.error)
            if r.quarantine is not None:
                item["quarantine"] = str(r.quarantine)
            if r.transient:
                item["retry_in_seconds"] = r.retry_in
        out[r.status].append(item)
    out["waiting"] = [w.as_dict() for w in left]
    return out
