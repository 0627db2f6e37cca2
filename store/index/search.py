"""Search a large index fast: pick, per query, how to find its first page of results.

No single SQL statement does well for every query on a million versions. A rare word is
answered by starting from its few matches; a word in half the versions, sorted by a
metric, by walking that metric's index from the top and stopping at the hundredth version
that matches. So the planner first counts each condition's matches, up to a cap, from the
indexes (cheap), then:

1. drives from the most selective condition when its matches are few, testing the others
   on each of them (`EXISTS` over that version's rows, never a set of every match);
2. else walks the index of the order's first term (a metric's values, or creation time)
   and tests each version, which stops as soon as the page is full;
3. else runs the query as one plain statement.

A walk is bounded by a value of the sort key, never by a count, so the page is exact: a
version outside the bound sorts after every version inside it.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass

from modelyard.store.query.compiler import (
    DEFAULT_ORDER,
    WORD_TEST,
    Conjunct,
    QueryParts,
    compile_parts,
)

DRIVE_CAP = 2_000  # a condition with at most this many matches is always driven from
ESTIMATE_CAP = 50_000  # counting matches further costs more than it tells
FIRST_WINDOW = 4_000  # sort-index entries a first, optimistic walk visits
WALK_CAP = 50_000  # sort-index entries one walk may visit before the planner gives up on it
COUNT_DRIVE_CAP = 5_000  # a count tests each match of a condition this selective, one by one
WORD_TEST_COST = 6  # testing a bare word on one version, against 1 for other conditions


@dataclass
class _Query:
    parts: QueryParts
    conjuncts: list[Conjunct]
    model: str | None = None

    @property
    def tests(self) -> list[Conjunct]:
        """Cheap tests first: SQLite stops at the first false one."""
        return sorted(self.conjuncts, key=lambda c: c.test == WORD_TEST)

    @property
    def where(self) -> str:
        return " AND ".join(f"({c.test})" for c in self.tests) or "1"

    @property
    def params(self) -> list[object]:
        return [p for c in self.tests for p in c.params]

    @property
    def walk(self) -> tuple[str, str, bool]:
        """(kind, key, descending) of the sort index to walk: asked only of an order that
        has one (`parts.walk` is not None)."""
        if self.parts.walk is None:
            raise ValueError("this query's order has no index to walk")
        return self.parts.walk


def _prepare(text: str, model: str | None, now_ms: int) -> _Query:
    parts = compile_parts(text, now_ms=now_ms)
    conjuncts = list(parts.conjuncts)
    if model is not None:
        conjuncts.append(Conjunct("v.model = ?", [model],
                                  "SELECT v.id FROM versions v WHERE v.model = ?", [model]))
    return _Query(parts, conjuncts, model)


def search_rows(conn: sqlite3.Connection, text: str, *, limit: int | None, offset: int = 0,
                model: str | None = None, now_ms: int) -> list[sqlite3.Row]:
    """The `versions` rows matching the query, in its order, `limit` from `offset`."""
    q = _prepare(text, model, now_ms)
    if limit is None or not q.conjuncts and q.parts.walk is None:
        return _plain(conn, q, limit, offset)
    wanted = offset + limit
    counts = _counts(conn, q.conjuncts, DRIVE_CAP + 1)
    smallest = min(counts, key=lambda c: c[0]) if counts else None
    if smallest is not None and smallest[0] <= DRIVE_CAP:
        return _driven(conn, q, smallest[1], limit, offset)
    if q.parts.walk is not None:
        rows = _walk_or_drive(conn, q, counts, wanted)
        if rows is not None:
            return rows[offset:]
    if smallest is not None:
        return _driven(conn, q, smallest[1], limit, offset)
    return _plain(conn, q, limit, offset)


def _walk_or_drive(conn: sqlite3.Connection, q: _Query, counts: list[tuple[int, Conjunct]],
                   wanted: int) -> list[sqlite3.Row] | None:
    """The page by walking the sort index, or None when driving should be cheaper.

    Broad conditions usually fill the page within a short first walk. When they do not,
    that walk measured their combined share of versions, in the order's own sequence
    (conditions are seldom independent), which tells how far a second walk must go; it is
    taken when it costs less than testing every match of the most selective condition."""
    first = _first_run(conn, q, ESTIMATE_CAP)
    window = max(FIRST_WINDOW, 20 * wanted)
    if first < window:
        rows, complete = _walked(conn, q, wanted, window)
        if complete:
            return rows
        share = len(rows) / window
    elif first >= ESTIMATE_CAP:  # so many equal sort values that a walk must sort them all
        return None
    else:
        share = _independent_share(conn, q, counts)
    reach = max(first, 2 * wanted / share) if share > 0 else math.inf
    if reach > WALK_CAP:
        return None
    drivers: list[tuple[float, Conjunct | None]] = [
        *_counts(conn, [c for _, c in counts], ESTIMATE_CAP)]
    drive_rows, driver = min(drivers or [(math.inf, None)], key=lambda c: c[0])
    tests = {id(c): WORD_TEST_COST if c.test == WORD_TEST else 1 for c in q.conjuncts}
    walk_cost = reach * (1 + sum(tests.values()))
    drive_cost = drive_rows * (1 + sum(tests.values()) - tests.get(id(driver), 0))
    if walk_cost >= drive_cost:
        return None
    rows, complete = _walked(conn, q, wanted, max(window, int(reach)))
    return rows if complete else None


def _independent_share(conn: sqlite3.Connection, q: _Query,
                       counts: list[tuple[int, Conjunct]]) -> float:
    """The share of versions matching, from each condition's count (capped: a lower bound)
    as if they were independent; conditions without an index count for one half."""
    precise = _counts(conn, [c for _, c in counts], ESTIMATE_CAP)
    total = max(1, _total(conn))
    return math.prod(n / total for n, _ in precise) * 0.5 ** (len(q.conjuncts) - len(precise))


def count_rows(conn: sqlite3.Connection, text: str, *, model: str | None = None,
               now_ms: int) -> int:
    """How many versions match: from the one condition's index when there is only one,
    else by testing each match of the most selective condition."""
    q = _prepare(text, model, now_ms)
    if not q.conjuncts:
        return int(conn.execute("SELECT count(*) FROM versions").fetchone()[0])
    if len(q.conjuncts) == 1 and q.conjuncts[0].driver:
        only = q.conjuncts[0]
        rows = only.driver if only.distinct else f"SELECT DISTINCT * FROM ({only.driver})"
        return int(conn.execute(f"SELECT count(*) FROM ({rows})",
                                only.driver_params).fetchone()[0])
    counts = _counts(conn, q.conjuncts, COUNT_DRIVE_CAP + 1)
    if counts and min(n for n, _ in counts) <= COUNT_DRIVE_CAP:
        best = min(counts, key=lambda c: c[0])[1]
        rest = _Query(q.parts, [c for c in q.conjuncts if c is not best])
        sql = (f"SELECT count(*) FROM versions v NOT INDEXED WHERE v.id IN ({best.driver}) "
               f"AND {rest.where}")
        return int(conn.execute(sql, [*best.driver_params, *rest.params]).fetchone()[0])
    where, params = q.parts.where, list(q.parts.params)
    if model is not None:
        where, params = f"({where}) AND v.model = ?", [*params, model]
    return int(conn.execute(f"SELECT count(*) FROM versions v WHERE {where}",
                            params).fetchone()[0])


def _counts(conn: sqlite3.Connection, conjuncts: list[Conjunct],
            cap: int) -> list[tuple[int, Conjunct]]:
    """(matches, counted up to `cap`) of every condition that has an index to count from."""
    out = []
    for c in conjuncts:
        if not c.driver:
            continue
        if c.floor:  # a cheaper subset: when it alone reaches the cap, so does the driver
            n = _bounded(conn, c.floor, c.floor_params, cap)
            if n >= cap:
                out.append((n, c))
                continue
        out.append((_bounded(conn, c.driver, c.driver_params, cap), c))
    return out


def _bounded(conn: sqlite3.Connection, sql: str, params: list[object], cap: int) -> int:
    return int(conn.execute(f"SELECT count(*) FROM ({sql} LIMIT ?)",
                            [*params, cap]).fetchone()[0])


def _first_run(conn: sqlite3.Connection, q: _Query, cap: int) -> int:
    """How many versions share the first value of the sort key (up to `cap`): a walk must
    visit all of them, since they are sorted by the order's other terms."""
    kind, key, descending = q.walk
    if kind not in _WALKS:
        return 0
    table, column = _WALKS[kind]
    pick = "max" if descending else "min"
    sql = (f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE key = ? AND {column} = "
           f"(SELECT {pick}({column}) FROM {table} WHERE key = ?) LIMIT ?)")
    return int(conn.execute(sql, [key, key, cap]).fetchone()[0])


def _total(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM versions").fetchone()[0])


def _run(conn: sqlite3.Connection, sql: str, params: list[object]) -> list[sqlite3.Row]:
    cursor = conn.execute(sql, params)
    cursor.row_factory = sqlite3.Row
    return cursor.fetchall()


def _plain(conn: sqlite3.Connection, q: _Query, limit: int | None,
           offset: int) -> list[sqlite3.Row]:
    """One statement, conditions as sets: right when every version has to be looked at."""
    where, params = q.parts.where, [*q.parts.joins_params, *q.parts.params]
    if q.model is not None:
        where, params = f"({where}) AND v.model = ?", [*params, q.model]
    sql = f"SELECT v.* FROM versions v {q.parts.joins} WHERE {where} ORDER BY {q.parts.order_by}"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return _run(conn, sql, params)


def _driven(conn: sqlite3.Connection, q: _Query, driver: Conjunct, limit: int,
            offset: int) -> list[sqlite3.Row]:
    """Start from `driver`'s matches (looked up by row id), test the rest on each."""
    rest = _Query(q.parts, [c for c in q.conjuncts if c is not driver])
    sql = (f"SELECT v.* FROM versions v NOT INDEXED {q.parts.joins} "
           f"WHERE v.id IN ({driver.driver}) AND {rest.where} "
           f"ORDER BY {q.parts.order_by} LIMIT ? OFFSET ?")
    return _run(conn, sql, [*q.parts.joins_params, *driver.driver_params, *rest.params,
                            limit, offset])


_WALKS = {"metric": ("metrics", "value"), "param": ("params", "num")}


def _walked(conn: sqlite3.Connection, q: _Query, wanted: int,
            window: int) -> tuple[list[sqlite3.Row], bool]:
    """Walk about `window` entries of the sort index (more when values tie): the matching
    rows found, and whether they are the first `wanted` of the whole query."""
    kind, key, descending = q.walk
    direction, reach = ("DESC", ">=") if descending else ("ASC", "<=")
    rest = q.parts.order_terms[1:]
    if kind in _WALKS:
        table, column = _WALKS[kind]
        keyed = f"FROM {table} WHERE key = ? AND {column} IS NOT NULL"
        bound = conn.execute(f"SELECT {column} {keyed} ORDER BY {column} {direction} "
                             "LIMIT 1 OFFSET ?", [key, window - 1]).fetchone()
        within = f" AND w.{column} {reach} ?" if bound else ""
        sql = (f"SELECT v.* FROM {table} w CROSS JOIN versions v {q.parts.joins} "
               f"WHERE w.key = ? AND w.{column} IS NOT NULL{within} AND v.id = w.version_id "
               f"AND {q.where} ORDER BY {', '.join([f'w.{column} {direction}', *rest])} "
               "LIMIT ?")
        params = [*q.parts.joins_params, key, *(bound or []), *q.params, wanted]
    else:
        bound = conn.execute(f"SELECT created_ms FROM versions ORDER BY created_ms {direction} "
                             "LIMIT 1 OFFSET ?", [window - 1]).fetchone()
        within = f" AND v.created_ms {reach} ?" if bound else ""
        sql = (f"SELECT v.* FROM versions v INDEXED BY versions_created {q.parts.joins} "
               f"WHERE 1{within} AND {q.where} "
               f"ORDER BY {', '.join([f'v.created_ms {direction}', *rest])} LIMIT ?")
        params = [*q.parts.joins_params, *(bound or []), *q.params, wanted]
    try:
        rows = _run(conn, sql, params)
    except sqlite3.OperationalError:  # the index is being rebuilt by another process
        return [], False
    if len(rows) >= wanted or bound is None and kind == "created":
        return rows, True
    if bound is not None:
        return rows, False
    # every version with a value was seen: the rest have none (or NaN, or text) and sort
    # after them, in the order's other terms
    # (in creation order when the order has no other term: walk that index too)
    created = " INDEXED BY versions_created" if rest == DEFAULT_ORDER.split(", ") else ""
    missing = (f"SELECT v.* FROM versions v{created} {q.parts.joins} WHERE v.id NOT IN "
               f"(SELECT version_id {keyed}) AND {q.where} ORDER BY {q.parts.order_by} LIMIT ?")
    more = _run(conn, missing, [*q.parts.joins_params, key, *q.params, wanted - len(rows)])
    return rows + more, True
