"""A first build of the index, reported as it goes: records read of total, rate, time left.
Over sshfs a first build of 100,000 versions takes two minutes; the app shows itself at
once and says how far the build is instead of leaving the terminal blank."""

from __future__ import annotations

import time
from collections.abc import Callable

EVERY_S = 0.25  # at most this often: the callback runs once per chunk of records


class IndexProgress:
    """The `progress(read, total)` callback for `Store.sync`; `show(line)` gets the text
    (called from the sync thread: `show` must hand it to the event loop itself)."""

    def __init__(self, show: Callable[[str], None]) -> None:
        self.show = show
        self.started: float | None = None
        self.read = self.total = 0
        self._shown_at = 0.0

    def __call__(self, read: int, total: int) -> None:
        now = time.monotonic()
        if self.started is None:
            self.started = now
        self.read, self.total = read, total
        if read < total and now - self._shown_at < EVERY_S and read:
            return
        self._shown_at = now
        self.show(self.line(now))

    def line(self, now: float) -> str:
        elapsed = now - (self.started or now)
        rate = self.read / elapsed if elapsed > 0 else 0.0
        text = (f"Indexing this store for the first time: {self.read:,} of {self.total:,} "
                "records read")
        if rate > 0:
            left = (self.total - self.read) / rate
            text += f" · {rate:,.0f}/s · about {_duration(left)} left"
        return text + " (rows show when it ends)"

    def done(self) -> str:
        elapsed = time.monotonic() - (self.started or time.monotonic())
        return f"Indexed {self.read:,} records in {_duration(elapsed)}"


def snapshot_line(check: dict) -> str | None:
    """The status line's word on an index copied from a shared snapshot (Store.snapshot_check),
    or None when there is nothing to say (built from the records, or checked and true)."""
    state = check.get("state")
    done, total = int(check.get("models_checked") or 0), int(check.get("models_total") or 0)
    if state == "verifying":
        return f"checking snapshot index: {done:,}/{total:,} models"
    if state == "pending":
        return "snapshot index not checked yet"
    if state == "stopped":
        return f"snapshot index check stopped at {done:,}/{total:,} (index verify)"
    if state == "differs":
        return "a snapshot differed from the records: index rebuilt (index status)"
    return None


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes < 60 else \
        f"{minutes // 60} h {minutes % 60:02d} min"
