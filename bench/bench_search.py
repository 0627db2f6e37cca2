"""Search, lookups and metric history on a generated store, against the single SQL
statement the index ran before it had a planner (measured in the same run)."""

from __future__ import annotations

import time
from pathlib import Path

from modelyard.store import Store, Version
from modelyard.store.index import search as planner
from modelyard.store.query import compile_query

from .generate import COMMON_WORD, RARE_WORD, model_name
from .measure import Result, Stats, ms, timed

GROUP = "search"
QUERIES = [
    ("rare word", f"{RARE_WORD} order by metrics.acc desc"),
    ("common word (50%)", f"{COMMON_WORD} order by metrics.acc desc"),
    ("metric filter", "metrics.acc > 0.95 order by metrics.acc desc"),
    ("param filter", "params.optimizer.name = 'adam' order by metrics.acc desc"),
    ("metric + param", "metrics.acc > 0.9 and params.lr < 0.001 order by metrics.f1 desc"),
    ("word + metric + param", f"{COMMON_WORD} and metrics.auc > 0.8 and "
                              "params.optimizer.name = 'sgd' order by metrics.acc desc"),
    ("two params, numeric", "params.batch_size = 64 and params.model.depth >= 24 "
                            "order by metrics.val_acc asc"),
    ("common word, newest first", COMMON_WORD),
    ("everything, newest first", ""),
    ("rare metric value", "metrics.acc > 0.999 order by metrics.acc desc"),
]
MEDIAN_MS, WORST_MS, LOOKUP_MS, HISTORY_MS = 20.0, 100.0, 1.0, 5.0


def plain_search(store: Store, query: str, limit: int = 100) -> list[Version]:
    """What `Store.search` ran before the planner: the compiled query as one statement."""
    q = compile_query(query, now_ms=int(time.time() * 1000))
    sql = (f"SELECT v.* FROM versions v {q.joins} WHERE ({q.where}) ORDER BY {q.order_by} "
           "LIMIT ? OFFSET ?")
    rows = store.index.conn.execute(sql, [*q.joins_params, *q.params, *q.order_params, limit, 0])
    return [Version(store, row) for row in rows]


def planned_search(store: Store, query: str, limit: int = 100) -> list[Version]:
    """The planner (store/index/search.py), as `Store.search` calls it."""
    rows = planner.search_rows(store.index.conn, query, limit=limit, offset=0,
                               now_ms=int(time.time() * 1000))
    return [Version(store, row) for row in rows]


def uses_planner(store: Store) -> bool:
    """Whether `Store.search` goes through the planner in this checkout."""
    import inspect

    return "search_rows" in inspect.getsource(type(store).search)


def run(store: Store, size: int, *, repeat: int = 15) -> list[Result]:
    results = []
    wired = uses_planner(store)
    for label, query in QUERIES:
        expected = [v.id for v in plain_search(store, query)]
        got = [v.id for v in planned_search(store, query)]
        if got != expected:
            raise AssertionError(f"planner and plain SQL disagree on {query!r}")
        base = ms(timed(lambda q=query: plain_search(store, q), repeat=max(3, repeat // 3)))
        fast = ms(timed(lambda q=query: planned_search(store, q), repeat=repeat))
        count = ms(timed(lambda q=query: planner.count_rows(store.index.conn, q, now_ms=0),
                         repeat=max(3, repeat // 3)))
        met = fast.median < MEDIAN_MS and fast.max < WORST_MS
        results.append(Result(
            GROUP, f"first 100: {label}", fast, "ms", "plain SQL",
            base.median / fast.median, f"median < {MEDIAN_MS:g}, worst < {WORST_MS:g}", met,
            note=f"`{query or '(empty)'}`; count {count.median:.1f} ms"
                 + ("" if wired else "; Store.search not yet routed to the planner"),
            size=size, extra={"count_ms": count.median, "plain_ms": base.median}))
    model = model_name(3)
    lookup = ms(timed(lambda: store.versions(model), repeat=repeat * 3))
    results.append(Result(GROUP, "a model's versions (Store.versions)", lookup, "ms",
                          target=f"< {LOOKUP_MS:g} ms", met=lookup.median < LOOKUP_MS,
                          size=size, note=f"{len(store.versions(model))} versions"))
    results += history(store, size, repeat=repeat)
    return results


def _version_with_points(store: Store, points: int) -> Version:
    row = store.index.conn.execute("SELECT v.model, v.number FROM metrics m JOIN versions v ON "
                            "v.id = m.version_id WHERE m.key = 'train/loss' AND m.points = ? "
                            "LIMIT 1", (points,)).fetchone()
    if row is None:
        raise LookupError(f"the store has no version with a {points}-point curve")
    return store.get(f"{row[0]}:{row[1]}")


def history(store: Store, size: int, *, repeat: int = 15) -> list[Result]:
    """One metric's full history (10,000 points) read and downsampled to 200 points."""
    version = _version_with_points(store, 10_000)

    def read() -> None:
        fresh = store.get(version.ref)  # a new Version reads its record, like the app does
        frame = fresh.metric_series("train/loss", max_points=200)
        assert 0 < frame.height <= 10_000

    stats = ms(timed(read, repeat=repeat, warmup=2))
    info = version.record["metric_series"]
    points = sum(k["points"] for k in info["keys"].values())
    per_point = info["size"] / points
    return [
        Result(GROUP, "metric history: 10,000 points read + downsampled", stats, "ms",
               target=f"< {HISTORY_MS:g} ms, flat in size", met=stats.median < HISTORY_MS,
               size=size, note=f"{version.ref}, key train/loss"),
        Result(GROUP, "metric points at rest", Stats(per_point, per_point, per_point, 1),
               "bytes/point", "MLflow SQLite (~250 B)", 250 / per_point, "<= 10 bytes",
               per_point <= 10, size=size,
               note=f"{info['size']:,} B Parquet for {points:,} points (5 curves)"),
    ]


def open_store(root: Path, index: Path) -> Store:
    return Store.open(root, index=index)
