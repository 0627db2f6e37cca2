"""The explorer on a large store, in its own process: start to first frame, a search from
the last keypress to updated rows, a page of scrolling, a 1,000,000-point curve, peak RSS."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from .measure import Result, Stats, process_env

GROUP = "app"
REPO = Path(__file__).resolve().parent.parent
CURVE_MODEL, CURVE_POINTS = "curve-1m", 1_000_000
FIRST_FRAME_MS, SEARCH_MS, SCROLL_MS, CURVE_MS, RSS_MB = 500.0, 100.0, 50.0, 200.0, 400.0
QUERY = "metrics.acc > 0.9 order by metrics.acc desc"


def curve_version(root: Path, index: Path) -> str:
    """A version with a 1,000,000-point curve (added once; adding it again changes nothing)."""
    import math

    from modelyard.store import Store

    with Store.open(root, index=index) as store:
        steps = list(range(CURVE_POINTS))
        values = [2.0 * math.exp(-i / 200_000) + 0.01 * math.sin(i / 50) for i in steps]
        # The description names the format: a store generated before curves had overviews
        # holds this curve without one, and the same content would be deduplicated to it.
        v = store.add_version(CURVE_MODEL, description="a very long training run (overview)",
                              metric_series={"train/loss": {"steps": steps, "values": values}})
        assert v.record["metric_series"].get("overview"), "stored without its overview"
        return v.ref


def _once(root: Path, index: Path, ref: str, workdir: Path) -> dict:
    env = process_env(MODELYARD_CACHE_DIR=str(workdir / "cache"), BENCH_T0=repr(time.time()))
    out = subprocess.run([sys.executable, "-m", "bench.app_worker", str(root), str(index),
                          QUERY, ref], cwd=REPO, capture_output=True, text=True, env=env,
                         timeout=600)
    for line in out.stdout.splitlines():
        if line.startswith("APP-RESULT "):
            return json.loads(line.removeprefix("APP-RESULT "))
    raise AssertionError(f"the app worker failed: {(out.stderr or out.stdout)[-1500:]}")


def run(root: Path, index: Path, size: int, workdir: Path, *, repeat: int = 3) -> list[Result]:
    ref = curve_version(root, index)
    runs = [_once(root, index, ref, workdir) for _ in range(repeat)]

    def stats(key: str) -> Stats:
        return Stats.of([r[key] for r in runs])

    noop = Stats.of([r["noop_press_ms"] for r in runs]).median
    scrolls = Stats.of([s for r in runs for s in r["scroll_ms"]])
    idle = Stats.of([s for r in runs for s in r["scroll_idle_ms"]])
    first = runs[0]
    return [
        Result(GROUP, "process start to first frame", stats("first_frame_ms"), "ms",
               target=f"< {FIRST_FRAME_MS:g} ms", met=stats("first_frame_ms").median
               < FIRST_FRAME_MS, size=size,
               note=f"python {first['python_ms']:.0f} ms, imports {first['import_ms']:.0f} "
                    f"ms, Store.open {first['store_open_ms']:.0f} ms; first rows at "
                    f"{stats('first_rows_ms').median:.0f} ms"),
        Result(GROUP, "search: last keypress to updated rows", stats("search_ms"), "ms",
               target=f"< {SEARCH_MS:g} ms", met=stats("search_ms").median < SEARCH_MS,
               size=size, note=f"`{QUERY}` ({first['search_total']:,} matches), typed key "
                               "by key; includes the search bar's 35 ms debounce"),
        Result(GROUP, "scroll one page (pagedown to the frame showing every row)", scrolls,
               "ms", target=f"< {SCROLL_MS:g} ms", met=scrolls.max < SCROLL_MS, size=size,
               note=f"{scrolls.runs} page downs, from the key event to the rendered frame whose "
                    "rows are all filled; the worst one counts. The test driver's wait for an "
                    f"idle CPU after each key (median {idle.median:.0f}, max {idle.max:.0f} ms; "
                    f"{noop:.0f} ms for a key bound to nothing) also covers the next page's "
                    "prefetch in the background"),
        Result(GROUP, "open a version, draw its 1,000,000-point curve (first card)",
               stats("curve_ms"), "ms", target=f"< {CURVE_MS:g} ms",
               met=stats("curve_ms").median < CURVE_MS, size=size,
               note=f"{ref}: card opened, Metrics tab, loss curve drawn; the first card of the "
                    "process, typed straight after scrolling, so it also imports the card's "
                    "code, plotext and polars (the app does that once the user pauses 1.5 s)"),
        Result(GROUP, "open a version, draw its 1,000,000-point curve (again)",
               stats("curve_again_ms"), "ms", target=f"< {CURVE_MS:g} ms",
               met=stats("curve_again_ms").median < CURVE_MS, size=size,
               note="the same, after going back to the table: the blob is read, verified, "
                    "decoded and downsampled again, the code is loaded"),
        Result(GROUP, "peak RSS of the app", stats("peak_rss_mb"), "MB",
               target=f"< {RSS_MB:g} MB", met=stats("peak_rss_mb").max < RSS_MB, size=size,
               note="after start, a search, 30 page downs and the 1M-point curve"),
    ]
