"""A catch-up never moves past an event it could not apply: an event seen before the record
it names (another host's files becoming visible out of order, as on a network filesystem)
waits for that record; an event naming a version that never comes stops waiting after
WAIT_FOR_RECORD_SECONDS and is reported. Files are written the way a second host would."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.disk import changes
from modelyard.store.disk.events import append_event
from modelyard.store.index import sync as index_sync
from modelyard.store.ingest import writer


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.init(tmp_path / "store")
    s.add_version("m", files={"w.bin": b"1"})
    yield s
    s.close()


def _elsewhere_event(store: Store, version: int, alias: str) -> None:
    """An alias event another host wrote, with its log lines."""
    changes.note(store.layout.models, "m")
    append_event(store.layout, "m", "alias.set", version, {"alias": alias})
    changes.note(store.layout.models, "m")


def _elsewhere_record(store: Store, text: str) -> int:
    record = writer.prepare_record(store.layout, store.blobs, "m", {"description": text},
                                   files={"w.bin": text.encode()})
    number = writer.claim_version(store.layout, record)["version"]
    changes.note(store.layout.models, "m")
    return number


def test_an_event_seen_before_its_record_waits_for_it(store: Store, tmp_path: Path) -> None:
    reader = Store.open(store.root, index=tmp_path / "reader.sqlite")
    _elsewhere_event(store, 2, "champion")  # visible here before version 2's record
    reader.sync()
    assert reader.model("m").aliases == {}
    assert "m" in index_sync.changes_seen.waiting(reader.index.conn)
    _elsewhere_event(store, 1, "staging")  # after the waiting one: waits too, in order
    reader.sync()
    assert reader.model("m").aliases == {}
    assert _elsewhere_record(store, "two") == 2
    reader.sync()
    assert reader.model("m").aliases == {"champion": 2, "staging": 1}
    assert "m" not in index_sync.changes_seen.waiting(reader.index.conn)
    assert reader.problems() == []


def test_an_event_naming_a_version_that_never_comes_stops_waiting(store: Store, tmp_path: Path,
                                                                   monkeypatch) -> None:
    reader = Store.open(store.root, index=tmp_path / "reader.sqlite")
    _elsewhere_event(store, 99, "champion")
    _elsewhere_event(store, 1, "staging")
    reader.sync()
    assert reader.model("m").aliases == {}
    monkeypatch.setattr(index_sync, "WAIT_FOR_RECORD_SECONDS", 0.0)
    reader.sync()
    assert reader.model("m").aliases == {"staging": 1}
    (problem,) = reader.problems()
    assert "m:99" in problem[1] and "missing" in problem[1]


def test_a_new_version_takes_a_number_above_every_event_named_one(store: Store) -> None:
    _elsewhere_event(store, 7, "champion")  # names a version whose record is gone
    assert store.add_version("m", files={"w.bin": b"new"}).number == 8


def test_a_torn_log_makes_the_reader_probe_every_model(store: Store, tmp_path: Path) -> None:
    reader = Store.open(store.root, index=tmp_path / "reader.sqlite")
    store.add_version("other", files={"w.bin": b"o"})
    with open(changes.marker_path(store.layout.models), "ab") as log:
        log.write(b"\x00garbage\n")  # two NFS clients' appends landed on the same bytes
    assert reader.sync().versions == 1
    assert {m.name for m in reader.models()} == {"m", "other"}


def test_fsck_finds_an_event_written_by_hand_without_a_log_line(store: Store,
                                                                 tmp_path: Path) -> None:
    """A group member writes an alias event by hand and does not touch the change log:
    `fsck` lists every folder, folds it, and judges it against the gates like any other."""
    reader = Store.open(store.root, index=tmp_path / "reader.sqlite")
    reader.sync()
    append_event(store.layout, "m", "alias.set", 1, {"alias": "production"})
    reader.sync()
    assert reader.model("m").aliases == {}  # not logged: an ordinary look misses it
    reader.fsck()
    assert reader.model("m").aliases == {"production": 1}


def test_a_host_clock_ahead_does_not_sort_its_version_above_newer_ones(store: Store,
                                                                       tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from modelyard.store.disk.clock import frozen_at

    with frozen_at(datetime.now(UTC) + timedelta(days=1)):  # this writer's clock: a day ahead
        store.add_version("ahead", files={"w.bin": b"a"})
    time.sleep(1.1)  # mtimes count in whole seconds (sshfs reports no finer)
    newer = store.add_version("later", files={"w.bin": b"b"})
    assert [v.ref for v in store.search("")][:2] == [newer.ref, "ahead:1"]
    reader = Store.open(store.root, index=tmp_path / "reader.sqlite")  # the same on a rebuild
    assert [v.ref for v in reader.search("")][:2] == [newer.ref, "ahead:1"]
    history = [e.type for e in store.history("m")]
    assert history == ["version.created"]


def test_history_is_in_number_order_whatever_the_clocks(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from modelyard.store.disk.clock import frozen_at

    two = store.add_version("m", files={"w.bin": b"2"})
    with frozen_at(datetime.now(UTC) + timedelta(days=1)):
        store.set_alias("m:1", "champion")  # a host a day ahead moves it first
    with frozen_at(datetime.now(UTC) - timedelta(days=1)):
        store.set_alias(two.ref, "champion")  # then a host a day behind moves it on
    moves = [(e.type, e.version) for e in store.history("m")]
    assert moves == [("version.created", 1), ("version.created", 2), ("alias.set", 1),
                     ("alias.set", 2)]
    assert store.model("m").aliases == {"champion": 2}
