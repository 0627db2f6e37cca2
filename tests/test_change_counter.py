"""The store's change counter (store/disk/changes.py): a reader skips probing every model when
nothing was written since its last look, and never misses a write for long when a writer
was killed before counting it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.disk import changes
from modelyard.store.index import sync as index_sync
from modelyard.store.ingest import writer


@pytest.fixture
def probes(monkeypatch) -> list[str]:
    """Every model folder a catch-up probes for new files."""
    seen: list[str] = []
    real = index_sync._has_news

    def counting(folder: str, *args) -> bool:
        seen.append(os.path.basename(folder))
        return real(folder, *args)

    monkeypatch.setattr(index_sync, "_has_news", counting)
    return seen


def reader_of(store: Store, tmp_path: Path, name: str = "reader") -> Store:
    """Another host's view: the same store, its own index."""
    return Store.open(store.root, index=tmp_path / f"{name}.sqlite")


def uncounted_record(store: Store, model: str, text: str) -> int:
    """A record written the way a writer killed before its last count leaves it."""
    record = writer.prepare_record(store.layout, store.blobs, model,
                                   {"description": text}, files={"w.bin": text.encode()})
    return writer.claim_version(store.layout, record)["version"]


def test_nothing_written_means_nothing_probed(store, tmp_path, probes) -> None:
    for name in ("a", "b", "c"):
        store.add_version(name, files={"w.bin": name.encode()})
    reader = reader_of(store, tmp_path)
    probes.clear()
    assert reader.sync().versions == 0
    assert probes == []
    again = reader_of(store, tmp_path)  # a new process with the same index: still no probe
    assert probes == [] and {v.ref for v in again.search("")} == {"a:1", "b:1", "c:1"}


def test_a_write_from_elsewhere_is_seen_at_once(store, tmp_path, probes) -> None:
    store.add_version("a", files={"w.bin": b"1"})
    reader = reader_of(store, tmp_path)
    store.add_version("a", files={"w.bin": b"2"})
    store.tag("a:1", "stage", "prod")
    report = reader.sync()
    assert (report.versions, report.events) == (1, 1)
    assert reader.get("a:1").tags == {"stage": "prod"}
    assert probes == []  # the log named the model: no other model was probed


def test_an_uncounted_record_shows_after_the_next_write_anywhere(store, tmp_path) -> None:
    """A writer logs its model, the reader looks (nothing there yet), the writer links its
    record and is killed before its second line: the next write anywhere shows it."""
    store.add_version("a", files={"w.bin": b"1"})
    reader = reader_of(store, tmp_path)
    changes.note(store.layout.models, "a")  # the killed writer's first line
    assert reader.sync().versions == 0  # looked in the window: nothing to see yet
    number = uncounted_record(store, "a", "written by a killed writer")
    assert reader.sync().versions == 0  # the rare miss: nothing told the reader
    store.add_version("b", files={"w.bin": b"other model"})
    assert reader.sync().versions == 2
    assert reader.get(f"a:{number}").description == "written by a killed writer"


def test_an_uncounted_record_shows_after_the_full_probe_interval(store, tmp_path,
                                                                 monkeypatch) -> None:
    store.add_version("a", files={"w.bin": b"1"})
    reader = reader_of(store, tmp_path)
    uncounted_record(store, "a", "late")
    monkeypatch.setattr(changes, "FULL_PROBE_SECONDS", 0.0)
    assert reader.sync().versions == 1


def test_deduplication_sees_an_uncounted_record(store, tmp_path) -> None:
    store.add_version("a", files={"w.bin": b"1"})
    reader = reader_of(store, tmp_path)
    number = uncounted_record(store, "a", "same content")
    again = reader.add_version("a", files={"w.bin": b"same content"},
                               description="same content")
    assert again.deduplicated and again.number == number
    assert len(reader.versions("a")) == 2


def test_reindex_and_a_new_index_never_rely_on_the_counter(store, tmp_path) -> None:
    store.add_version("a", files={"w.bin": b"1"})
    reader = reader_of(store, tmp_path)
    uncounted_record(store, "a", "x")
    assert reader.reindex().versions == 2
    assert len(reader_of(store, tmp_path, "fresh").versions("a")) == 2


def test_the_counter_is_as_writable_as_the_models_folder(store) -> None:
    models = store.layout.models
    os.chmod(models, 0o2775)
    (models / changes.NAME).unlink(missing_ok=True)
    old = os.umask(0o022)
    try:
        changes.note(models, "m")
    finally:
        os.umask(old)
    assert stat.S_IMODE((models / changes.NAME).stat().st_mode) == 0o664
    assert changes.counter(models) == 2  # "m\n"


def test_a_broken_counter_never_means_unchanged(store, tmp_path, probes) -> None:
    assert changes.counter(tmp_path / "nowhere") == 0
    store.add_version("a", files={"w.bin": b"1"})
    reader = reader_of(store, tmp_path)
    marker = store.layout.models / changes.NAME
    marker.unlink()
    marker.mkdir()  # not a file: writers cannot count, readers cannot read it
    store.add_version("a", files={"w.bin": b"2"})  # never fails the write it follows
    assert changes.counter(store.layout.models) == -1
    probes.clear()
    assert reader.sync().versions == 1 and probes == ["a"]
