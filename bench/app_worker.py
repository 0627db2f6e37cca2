"""One explorer process, headless (`run_test`), timing what a person waits for. Started by
bench_app with BENCH_T0 (the parent's clock just before it started this process); prints
one JSON line of milliseconds.

    python -m bench.app_worker STORE INDEX QUERY CURVE_REF
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import sys
import time

T0 = float(os.environ.get("BENCH_T0", time.time()))
WALL = time.time  # one clock shared with the parent process


def peak_rss_mb() -> float:
    """This process's own peak: VmHWM. (`ru_maxrss` survives exec on Linux, so a worker
    started by a big bench process would report the bench's peak, not its own.)"""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def since(t: float) -> float:
    return (WALL() - t) * 1000


async def _until(pilot, ready, timeout: float = 60.0) -> None:
    deadline = WALL() + timeout
    while not ready():
        if WALL() > deadline:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.001)


async def main(root: str, index: str, query: str, curve_ref: str) -> dict:
    out: dict = {"python_ms": since(T0)}
    from modelyard.app.explorer import make_app
    from modelyard.app.widgets.search_bar import SearchBar
    from modelyard.app.widgets.versions_table import VersionsTable
    from modelyard.store import Store

    out["import_ms"] = since(T0) - out["python_ms"]
    opening = WALL()
    store = Store.open(root, index=index)
    out["store_open_ms"] = since(opening)
    app = make_app(store, live=False)
    async with app.run_test(headless=True, size=(140, 42)) as pilot:
        out["first_frame_ms"] = since(T0)
        table = app.screen.query_one(VersionsTable)
        await _until(pilot, lambda: table.total and table._pages.get(0) is not None)
        out["first_rows_ms"] = since(T0)
        await pilot.pause(0.3)  # let the start-up workers (models, vocabulary) finish
        noop = []
        for _ in range(10):
            start = WALL()
            await pilot.press("f12")  # bound to nothing: what a press costs the test driver
            noop.append(since(start))
        out["noop_press_ms"] = statistics.median(noop)
        loads: dict[int, str] = {}
        shown: list[float] = []
        load, arrived = VersionsTable.load, VersionsTable._arrived

        def record_load(self, text, total=None, **kw):
            load(self, text, total, **kw)
            loads[self._generation] = text

        def record_arrival(self, page, generation, rows):
            arrived(self, page, generation, rows)
            if page == 0 and generation == self._generation and loads.get(generation) == query:
                shown.append(WALL())

        VersionsTable.load, VersionsTable._arrived = record_load, record_arrival
        typed: list[float] = []  # when the input held the whole query: the last keypress
        changed = SearchBar.on_input_changed

        def record_change(self, event):
            if event.value == query and not typed:
                typed.append(WALL())
            changed(self, event)

        SearchBar.on_input_changed = record_change
        await pilot.press("slash")
        await pilot.press(*query)
        await _until(pilot, lambda: bool(shown))
        await pilot.pause(0)
        out["search_ms"] = (shown[0] - typed[0]) * 1000
        out["search_total"] = table.total
        await pilot.press("escape")
        scrolls, idle = [], []
        painted: list[float] = []
        before = {"cursor": 0}
        render_line = VersionsTable.render_line

        def record_paint(self, y):
            strip = render_line(self, y)
            top = int(self.scroll_offset.y)
            last = self.size.height - 1
            if not painted and y == last and self.cursor != before["cursor"] and all(
                    self.row(i) is not None for i in range(top, min(self.total, top + last))):
                painted.append(WALL())  # the frame that shows the new page, every row filled
            return strip

        VersionsTable.render_line = record_paint
        for _ in range(30):
            if table.cursor >= table.total - 1:  # a small store's last page: start again
                await pilot.press("home")
                await _until(pilot, lambda: table.cursor == 0 and all(
                    table.row(i) is not None for i in range(min(table.total,
                                                               table.size.height - 1))))
                await pilot.pause(0)
            before["cursor"] = table.cursor
            painted.clear()
            start = WALL()
            await pilot.press("pagedown")
            top = int(table.scroll_offset.y)
            visible = range(top, min(table.total, top + table.size.height - 1))
            await _until(pilot, lambda v=visible: all(table.row(i) is not None for i in v))
            await _until(pilot, lambda: bool(painted))
            await pilot.pause(0)
            idle.append(since(start))  # what the test driver waited: until the CPU is idle
            scrolls.append((painted[0] - start) * 1000)
        VersionsTable.render_line = render_line
        out["scroll_idle_ms"] = idle
        out["scroll_ms"] = scrolls
        from modelyard.app.widgets.card.metrics import MetricsPane  # as the app does: late

        drawn: list[float] = []
        original = MetricsPane._draw

        def record(self, lines, note):
            original(self, lines, note)
            if lines and any(len(xs) for _, xs, _ in lines):
                drawn.append(WALL())

        MetricsPane._draw = record
        from modelyard.app.messages import OpenVersion

        for name in ("curve_ms", "curve_again_ms"):  # the first card also imports its code
            drawn.clear()
            opened = WALL()
            app.post_message(OpenVersion(curve_ref))
            await _until(pilot, lambda: app.screen.__class__.__name__ == "VersionScreen")
            await pilot.press("3")
            await _until(pilot, lambda: bool(drawn))
            await pilot.pause(0)
            out[name] = (drawn[0] - opened) * 1000
            await pilot.press("escape")
            await _until(pilot, lambda: app.screen.__class__.__name__ == "BrowseScreen")
            await pilot.pause(0.2)
    out["peak_rss_mb"] = peak_rss_mb()
    out["scroll_median_ms"] = statistics.median(scrolls)
    return out


if __name__ == "__main__":
    result = asyncio.run(main(*sys.argv[1:5]))
    print("APP-RESULT " + json.dumps(result))
