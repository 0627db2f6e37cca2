"""Corruption: flipped bits, truncated blobs, blobs whose bytes are another blob's, missing
blobs, garbage record and event files, a damaged or deleted index. fsck reports each with
the versions it affects; a read raises instead of returning bad bytes; the damage is
remembered for the app (store/check/integrity.py); the index rebuilds.

tests/test_cli.py (test_fsck_names_a_flipped_blob_and_its_versions) and
tests/test_store_api.py (test_reading_a_corrupt_blob_raises) cover one flipped blob each.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.check import integrity
from modelyard.store.errors import BlobCorrupt, BlobMissing, StoreCorrupt

pytestmark = pytest.mark.reliability

WEIGHTS = b"shared weights " * 4000


@pytest.fixture
def two(store: Store) -> Store:
    """Two versions sharing one weights blob, each with curves, charts and a diff."""
    for i in (1, 2):
        store.add_version("m", files={"w.bin": WEIGHTS, "own.txt": f"v{i}".encode()},
                          params={"i": i}, metric_series={"loss": [1.0, 0.5, 0.25 * i]},
                          charts={"roc": {"fpr": [0, 1], "tpr": [0, 1]}},
                          source={"diff": f"+{i}\n"})
    store.set_alias("m:2", "champion")
    return store


def _blob(store: Store, digest: str) -> Path:
    path = store.blobs.path(digest)
    os.chmod(path, 0o644)
    return path


def _digest(store: Store, ref: str, rel: str) -> str:
    return next(f["digest"] for f in store.get(ref).files if f["path"] == rel)


def _problems(report) -> dict[str, list[str]]:
    return {p.kind: p.versions for p in report.problems}


def test_a_flipped_bit_is_found_and_never_read(two: Store, tmp_path: Path) -> None:
    path = _blob(two, _digest(two, "m:1", "w.bin"))
    data = bytearray(path.read_bytes())
    data[12345] ^= 0x10
    path.write_bytes(bytes(data))
    assert two.fsck().clean  # same size: only re-hashing can tell
    report = two.fsck(read_data=True)
    assert _problems(report) == {"corrupt-blob": ["m:1", "m:2"]}
    with pytest.raises(BlobCorrupt) as raised:
        two.get("m:2").open("w.bin")
    assert raised.value.digest == _digest(two, "m:2", "w.bin")
    with pytest.raises(BlobCorrupt):
        two.export("m:1", tmp_path / "out")
    assert not (tmp_path / "out" / "w.bin").exists()
    assert sorted(integrity.corrupt_refs(two.index)) == ["m:1", "m:2"]  # what the app marks
    assert [p.kind for p in integrity.verify_version(two.get("m:1"), two.blobs)] == ["corrupt-blob"]


def test_a_truncated_blob_is_found_without_reading_data(two: Store) -> None:
    path = _blob(two, _digest(two, "m:1", "own.txt"))
    path.write_bytes(b"v")
    report = two.fsck()
    assert _problems(report) == {"corrupt-blob": ["m:1"]}
    assert "truncated" in report.problems[0].message
    with pytest.raises(BlobCorrupt):
        two.get("m:1").open("own.txt")
    assert two.get("m:2").open("own.txt") == b"v2"  # the other version is untouched


def test_a_blob_holding_another_blobs_bytes(two: Store) -> None:
    one, other = _digest(two, "m:1", "own.txt"), _digest(two, "m:2", "own.txt")
    _blob(two, one).write_bytes(two.blobs.path(other).read_bytes())  # same size, wrong name
    report = two.fsck(read_data=True)
    assert _problems(report) == {"corrupt-blob": ["m:1"]}
    assert other[7:] in report.problems[0].message  # says what the bytes hash to
    with pytest.raises(BlobCorrupt):
        two.get("m:1").open("own.txt")


@pytest.mark.parametrize("part", ["series", "charts", "diff"])
def test_every_kind_of_blob_is_verified_on_read(two: Store, part: str) -> None:
    record = two.get("m:1").record
    digest = {"series": record["metric_series"]["digest"], "charts": record["charts"]["digest"],
              "diff": record["source"]["diff"]["digest"]}[part]
    path = _blob(two, digest)
    path.write_bytes(path.read_bytes()[:-1] + b"\0")
    read = {"series": lambda v: v.metric_series("loss"), "charts": lambda v: v.charts,
            "diff": lambda v: v.source_diff()}[part]
    with pytest.raises(BlobCorrupt):
        read(two.get("m:1"))
    assert "corrupt-blob" in _problems(two.fsck(read_data=True))


def test_a_missing_blob_names_its_versions_and_reads_raise(two: Store) -> None:
    digest = _digest(two, "m:1", "w.bin")
    two.blobs.path(digest).unlink()
    assert _problems(two.fsck()) == {"missing-blob": ["m:1", "m:2"]}
    with pytest.raises(BlobMissing) as raised:
        two.get("m:1").open("w.bin")
    assert integrity.note_read_error(two.index, raised.value) == ["m:1", "m:2"]


def test_a_read_marks_versions_before_any_fsck(two: Store) -> None:
    path = _blob(two, _digest(two, "m:2", "own.txt"))
    path.write_bytes(b"v9")
    with pytest.raises(BlobCorrupt) as raised:
        two.get("m:2").open("own.txt")
    assert integrity.note_read_error(two.index, raised.value) == ["m:2"]
    assert list(integrity.corrupt_refs(two.index)) == ["m:2"]
    path.write_bytes(b"v2")  # restored from a backup: the next full check unmarks it
    assert two.fsck(read_data=True).clean and integrity.corrupt_refs(two.index) == {}


@pytest.mark.parametrize("garbage", [b"\x00\xff garbage", b"[]", b'{"schema": "x"}',
                                     b"", "claims another"])
def test_a_garbage_record_is_reported_with_its_version(two: Store, garbage) -> None:
    path = two.layout.record_path("m", 1)
    if garbage == "claims another":
        garbage = two.layout.record_path("m", 2).read_bytes()
    os.chmod(path, 0o644)
    path.write_bytes(garbage)
    report = two.fsck()
    kinds = _problems(report)
    assert kinds["bad-record"] == ["m:1"], report.to_dict()
    assert kinds.get("index") == ["m:1"]  # the index still listed it: rebuilt without it
    assert [v.ref for v in two.search("model:m")] == ["m:2"]
    assert two.get("m@champion").ref == "m:2" and two.get("m:2").open("w.bin") == WEIGHTS
    fresh = Store.open(two.root, index=two.root.parent / "fresh.sqlite")
    assert [v.ref for v in fresh.search("")] == ["m:2"]
    assert any("m/versions/1.json" in p for p, _ in fresh.problems())
    assert _problems(two.fsck()) == {"bad-record": ["m:1"]}  # the index is fine now


def test_a_garbage_event_is_reported_and_skipped(two: Store) -> None:
    path = two.layout.event_path("m", 1)
    os.chmod(path, 0o644)
    path.write_bytes(b"{not json")
    report = two.fsck()
    assert [p.kind for p in report.problems][:1] == ["bad-event"]
    assert "event 1 of m" in report.problems[0].message
    two.reindex()
    assert two.get("m:2").aliases == []  # the damaged alias event is not applied
    two.set_alias("m:1", "champion")  # and the history goes on after it
    assert sorted(int(p.stem) for p in two.layout.events_dir("m").glob("*.json")) == [1, 2]


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "deleted":
        path.unlink()
    elif how == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif how == "pages":
        # The back half of the file: table pages a check reads, not the schema and meta
        # pages every open reads (damage there is found, and rebuilt, at open).
        damaged, rng = bytearray(data), random.Random(7)
        for _ in range(40):
            at = rng.randrange(len(damaged) // 2, len(damaged) - 64)
            damaged[at:at + 64] = os.urandom(64)
        path.write_bytes(bytes(damaged))
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("how", ["deleted", "garbage", "truncated", "pages"])
def test_a_damaged_index_is_found_and_rebuilt(tmp_path: Path, how: str) -> None:
    store = Store.init(tmp_path / "s")
    for i in range(120):
        store.add_version(f"m{i % 3}", params={"i": i, "pad": "x" * 300},
                          description="d" * 400, tags={"t": str(i)})
    store.set_alias("m1:7", "champion")
    before = [v.summary_dict() for v in store.search("", limit=None)]
    index = store.index_path
    store.close()
    _damage(index, how)
    reopened = Store.open(tmp_path / "s")  # garbage and deleted files are rebuilt at open
    report = reopened.fsck()  # page damage only a check finds: rebuilt from the files
    assert all(p.kind == "index" for p in report.problems), report.to_dict()
    assert bool(report.problems) == (how == "pages"), report.to_dict()
    assert [v.summary_dict() for v in reopened.search("", limit=None)] == before
    assert reopened.get("m1@champion").number == 7
    assert reopened.fsck().clean
    reopened.close()


def test_stale_temps_are_cleaned_but_peoples_files_are_not(store: Store) -> None:
    store.add_version("m", params={})
    old = store.layout.versions_dir("m") / ".tmp-2.json.otherhost.1.abcd"
    old.write_bytes(b"{}")
    os.utime(old, (0, 0))
    fresh = store.layout.versions_dir("m") / ".tmp-3.json.otherhost.1.abcd"
    fresh.write_bytes(b"{}")  # another host's writer may still be filling it
    theirs = store.layout.drops / "job" / ".tmp-checkpoint"
    theirs.parent.mkdir()
    theirs.write_bytes(b"a producer's own file")
    os.utime(theirs, (0, 0))
    report = store.fsck()
    assert report.clean and report.stale_temps_removed == ["models/m/versions/" + old.name]
    assert fresh.exists() and theirs.exists()


def test_records_and_blobs_are_strict_json(store: Store) -> None:
    v = store.add_version("m", metrics={"a": float("nan"), "b": float("inf")},
                          metric_series={"loss": [1.0, float("nan"), float("inf")]},
                          charts={"roc": {"fpr": [0, 1], "tpr": [0, 1], "auc": float("nan")}})

    def refuse(token: str) -> None:
        raise AssertionError(f"{token} is not JSON")

    json.loads(store.layout.record_path("m", 1).read_bytes(), parse_constant=refuse)
    json.loads(store.blobs.read_bytes(v.record["charts"]["digest"]), parse_constant=refuse)
    with pytest.raises(StoreCorrupt):
        store.blobs.path("sha256:../../etc/passwd")


def _break_versions_table(store: Store) -> None:
    """Garble the page holding the index's versions table: the file still opens, every
    listing then fails with 'database disk image is malformed'."""
    root = store.index.conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'versions'"
                             ).fetchone()[0]
    size = store.index.conn.execute("PRAGMA page_size").fetchone()[0]
    store.index.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path = store.index_path
    store.close()
    data = bytearray(path.read_bytes())
    data[(root - 1) * size:root * size] = os.urandom(size)
    path.write_bytes(bytes(data))


def test_fsck_repairs_an_index_whose_tables_are_garbled(two: Store) -> None:
    _break_versions_table(two)
    with Store.open(two.root) as store:
        assert [p.kind for p in store.fsck().problems] == ["index"]
        assert [v.ref for v in store.search("")] == ["m:2", "m:1"]


def test_the_cli_on_a_garbled_index_says_so_and_reindex_repairs(two: Store, tmp_path: Path,
                                                                 capfd) -> None:
    from modelyard.app.cli.main import main

    _break_versions_table(two)
    assert main(["--store", str(two.root), "ls"]) == 1
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "reindex" in err
    assert main(["--store", str(two.root), "reindex"]) == 0
    capfd.readouterr()
    assert main(["--store", str(two.root), "ls", "--json"]) == 0
    assert len(json.loads(capfd.readouterr().out)) == 2


def _foreign_files(store: Store) -> None:
    """A record and an event that parse, as an older or foreign writer could leave them,
    but that the index cannot take in (a list where a mapping belongs, a 1329-bit integer,
    an alias event without its alias)."""
    from modelyard.store.disk import atomic

    record = json.loads(store.layout.record_path("m", 1).read_bytes())
    record.update(version=2, origin=["not", "a", "mapping"], params={"x": 10**400},
                  content_digest="sha256:" + "0" * 64)
    atomic.write_exclusive(store.layout.record_path("m", 2), json.dumps(record).encode())
    event = {"seq": 1, "type": "alias.set", "model": "m", "version": 1,
             "at": "2026-01-01T00:00:00Z", "data": {}}
    atomic.write_exclusive(store.layout.event_path("m", 1), json.dumps(event).encode())


def test_fsck_names_files_the_index_cannot_take_in(store: Store) -> None:
    store.add_version("m", params={"ok": 1})
    _foreign_files(store)
    report = store.fsck()
    kinds = {p.kind: p for p in report.problems}
    assert "lacks 'alias'" in kinds["bad-event"].message and "index" in kinds


def test_files_the_index_cannot_hold_do_not_brick_the_store(store: Store) -> None:
    store.add_version("m", params={"ok": 1})
    _foreign_files(store)
    store.sync()  # this host's index catching up with what another host wrote
    assert [v.ref for v in store.search("")] == ["m:1"]
    assert sorted(Path(p).name for p, _ in store.problems()) == ["1.json", "2.json"]
    fresh = Store.open(store.root, index=store.root.parent / "fresh.sqlite")
    assert [v.ref for v in fresh.search("")] == ["m:1"]
