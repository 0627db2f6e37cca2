"""Store.interrupt: the app stops a search the user typed over instead of waiting for it."""

from __future__ import annotations

import sqlite3
import threading
import time


def test_interrupt_stops_the_query_of_that_thread_only(store) -> None:
    store.add_version("m", files={"w.bin": b"1"})
    started, outcome = threading.Event(), {}

    def endless() -> None:
        conn = store.index.conn  # this thread's own connection
        started.set()
        try:
            conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                         "SELECT count(*) FROM c").fetchone()
        except sqlite3.OperationalError as exc:
            outcome["error"] = str(exc)

    worker = threading.Thread(target=endless)
    worker.start()
    started.wait(5)
    time.sleep(0.05)
    store.interrupt(worker.ident)
    worker.join(5)
    assert not worker.is_alive() and outcome["error"] == "interrupted"
    assert [v.ref for v in store.search("")] == ["m:1"]  # other connections unaffected


def test_interrupting_a_thread_without_a_connection_does_nothing(store) -> None:
    store.interrupt(threading.get_ident() + 1)
    assert store.count("") == 0


def test_interrupt_between_queries_does_not_fail_the_next_one(store) -> None:
    store.add_version("m", files={"w.bin": b"1"})
    done = {}

    def later() -> None:
        store.index.conn.execute("SELECT 1").fetchone()  # opens this thread's connection
        store.interrupt(threading.get_ident())  # nothing running: a no-op
        done["count"] = store.count("")

    worker = threading.Thread(target=later)
    worker.start()
    worker.join(5)
    assert done["count"] == 1
