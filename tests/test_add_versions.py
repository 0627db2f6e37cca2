"""`Store.add_versions`: many versions in one group commit, each as crash-safe as one
added alone (real processes killed at real stages, a real concurrent writer)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.errors import InvalidManifest

from .writer_process import item

WRITER = Path(__file__).with_name("writer_process.py")


def _spawn(root: Path, model: str, count: int, tag: str, env: dict | None = None,
           ) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WRITER), str(root), model, str(count), tag,
                             "--batch"], env=env or dict(os.environ), stderr=subprocess.PIPE)


def _numbers(store: Store, model: str) -> list[int]:
    folder = store.layout.versions_dir(model)
    return sorted(int(p.stem) for p in folder.glob("*.json")) if folder.exists() else []


def _facts(store: Store, ref: str) -> tuple:
    v = store.get(ref)
    return (v.ref, v.params, v.metrics, v.tags, [(f["path"], f["digest"]) for f in v.files],
            v.record["content_digest"], v.metric_series("loss")["value"].to_list())


def test_a_batch_records_what_one_at_a_time_records(tmp_path: Path) -> None:
    items = [item("alpha", "a", i) for i in range(3)] + [item("beta", "b", 0)] + \
        [item("alpha", "a", 3)]
    batched = Store.init(tmp_path / "batched")
    versions = batched.add_versions(items)
    assert [v.ref for v in versions] == ["alpha:1", "alpha:2", "alpha:3", "beta:1", "alpha:4"]
    assert not any(v.deduplicated for v in versions)
    single = Store.init(tmp_path / "single")
    for fields in items:
        fields = dict(fields)
        single.add_version(fields.pop("model"), **fields)
    refs = ["alpha:1", "alpha:2", "alpha:3", "alpha:4", "beta:1"]
    assert [_facts(batched, r) for r in refs] == [_facts(single, r) for r in refs]
    for query in ("params.i >= 1", "tag.writer = 'b'", "metrics.loss < 1", "model:alpha"):
        assert sorted(v.ref for v in batched.search(query, limit=None)) == \
            sorted(v.ref for v in single.search(query, limit=None))  # ties: created at once
    fresh = Store.open(batched.root, index=tmp_path / "fresh.sqlite")  # another host's view
    assert sorted(v.ref for v in fresh.search(limit=None)) == sorted(refs)
    assert batched.fsck(read_data=True).clean


def test_an_invalid_item_is_named_and_nothing_is_recorded(store: Store) -> None:
    items = [item("m", "a", 0), {"model": "m", "files": {"../escape": b"x"}},
             item("m", "a", 1)]
    with pytest.raises(InvalidManifest, match=r"item 1 \('m'\)"):
        store.add_versions(items)
    assert _numbers(store, "m") == []
    with pytest.raises(TypeError, match="item 0 must be a mapping with a 'model'"):
        store.add_versions([{"params": {"a": 1}}])
    with pytest.raises(TypeError, match="unknown fields: colour"):
        store.add_versions([{"model": "m", "colour": "red"}])
    assert _numbers(store, "m") == []


def test_the_same_content_twice_is_one_version(store: Store) -> None:
    first = store.add_versions([item("m", "a", 0), item("m", "a", 1), item("m", "a", 0)])
    assert [(v.number, v.deduplicated) for v in first] == [(1, False), (2, False), (1, True)]
    again = store.add_versions([item("m", "a", 1), item("m", "a", 2)])
    assert [(v.number, v.deduplicated) for v in again] == [(2, True), (3, False)]
    assert _numbers(store, "m") == [1, 2, 3]
    kept = store.add_versions([item("m", "a", 2)], dedupe=False)
    assert [(v.number, v.deduplicated) for v in kept] == [(4, False)]


@pytest.mark.parametrize(("stage", "survivors"), [
    ("blob.renamed:3", []), ("record.temp_written:1", []), ("record.temp_written:4", []),
    ("record.linked:1", [1]), ("record.linked:3", [1, 2, 3]), ("index.updated", [1, 2, 3, 4]),
])
def test_a_killed_batch_leaves_whole_versions_or_none(store: Store, stage: str,
                                                      survivors: list[int]) -> None:
    proc = _spawn(store.root, "crashy", 4, "k", dict(os.environ, MODELYARD_CRASH_AT=stage))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    reopened = Store.open(store.root)
    report = reopened.fsck(read_data=True, temp_age=0)  # removes the batch's temp files
    assert report.clean, report.to_dict()
    assert _numbers(reopened, "crashy") == survivors
    for number in survivors:
        v = reopened.get(f"crashy:{number}")
        assert v.open("weights.bin") == f"k-{number - 1}".encode() * 100
        assert v.metric_series("loss").height == 50
    assert list(reopened.root.rglob(".tmp-*")) == []
    finish = _spawn(store.root, "crashy", 4, "k")  # the same batch again finishes the work
    _, err = finish.communicate(timeout=120)
    assert finish.returncode == 0, err.decode()
    reopened.sync()
    versions = sorted(reopened.versions("crashy"), key=lambda v: v.number)
    assert [(v.number, v.params["i"]) for v in versions] == [(1, 0), (2, 1), (3, 2), (4, 3)]
    assert reopened.fsck(read_data=True).clean


def test_a_writer_taking_a_number_meanwhile_moves_the_batch_up(store: Store,
                                                                tmp_path: Path) -> None:
    pauses = tmp_path / "pauses"
    pauses.mkdir()
    env = dict(os.environ, MODELYARD_PAUSE_AT="record.temp_written",
               MODELYARD_PAUSE_DIR=str(pauses))
    proc = _spawn(store.root, "race", 3, "batch", env)
    flag = pauses / "record.temp_written.paused"
    deadline = time.monotonic() + 60
    while not flag.exists():  # the batch's records are written, none linked yet
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    other = store.add_version("race", params={"writer": "other"})
    assert other.number == 1
    flag.unlink()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    store.sync()
    versions = sorted(store.versions("race"), key=lambda v: v.number)
    assert [(v.number, v.params["writer"], v.params.get("i")) for v in versions] == [
        (1, "other", None), (2, "batch", 0), (3, "batch", 1), (4, "batch", 2)]
    assert list(store.root.rglob(".tmp-*")) == []
    assert store.fsck(read_data=True).clean


POLICY = {"rules": {"good": {"thresholds": ["metrics.auc >= 0.6"]}}}


def test_a_batch_is_one_policy_pass_with_one_event_per_model(store: Store) -> None:
    store.add_version("m", metrics={"auc": 0.5})
    store.set_policy(POLICY)
    def written(model: str) -> list:  # the event files (history also lists the versions)
        return [e for e in store.history(model) if e.type != "version.created"]

    before = len(written("m"))
    store.add_versions([{"model": "m", "metrics": {"auc": 0.9}}, {"model": "m"},
                        {"model": "n", "metrics": {"auc": 0.7}}])
    new = written("m")[before:]
    assert [e.type for e in new] == ["policy.checked"]
    assert sorted(new[0].data["versions"]) == ["2", "3"]
    assert [e.type for e in written("n")] == ["policy.checked"]
    assert sorted(v.ref for v in store.search("policy:failing", limit=None)) == ["m:1", "m:3"]
    assert sorted(v.ref for v in store.search("policy:passing", limit=None)) == ["m:2", "n:1"]


def test_a_record_whose_link_check_fails_leaves_no_gap(store: Store) -> None:
    """A drop's ingester checks that it still holds the drop right before each record is
    linked (writer.BEFORE_LINK); when that fails for one version of a batch, the versions
    after it take the numbers in turn: fsck finds no gap."""
    from modelyard.store.ingest import batch

    class Lost(Exception):
        pass

    def lost() -> None:
        raise Lost("claim taken back")

    prepared = [batch.prepare(store, "m", params={"i": i}) for i in range(4)]
    prepared[1].check = lost
    results = store.commit_prepared(prepared)
    assert isinstance(results[1], Lost)
    assert [r.ref for r in results if not isinstance(r, Exception)] == ["m:1", "m:2", "m:3"]
    assert [v.params["i"] for v in sorted(store.versions("m"), key=lambda v: v.number)] == \
        [0, 2, 3]
    assert _numbers(store, "m") == [1, 2, 3] and list(store.root.rglob(".tmp-*")) == []
    assert store.fsck(read_data=True).clean
