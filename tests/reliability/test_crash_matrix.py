"""Crashes: a real writer or ingester process SIGKILLs itself (MODELYARD_CRASH_AT) at every
stage store/disk/faults.py names. After each: fsck is clean (the dead writer's temp files are
removed at once, not after an hour), the version is wholly there or wholly absent, every
drop is still there or correctly moved, and a restart finishes the work.

Existing tests cover parts of this and stay where they are: tests/test_concurrency_and_crash.py
(five writer stages, one write each) and tests/test_drops_watcher.py (six watcher stages).
This matrix is the systematic one: every stage, several passes of the repeated ones, and
`test_every_stage_has_a_crash_test` fails when a new stage is added without one.
"""

from __future__ import annotations

import os
import signal
import tarfile
from pathlib import Path

import pytest
from reliability_kit import PRODUCERS, actor, run, tar_bytes, temp_files, visible, with_env

from modelyard.store import Store
from modelyard.store.disk import faults
from modelyard.store.ingest import archives

from helpers import write_manifest_folder

pytestmark = pytest.mark.reliability

# One `actor.py write`: blobs series(1) charts(2) extra/config.json(3) weights.bin(4)
# diff(5), the record, the index, then the @champion event and the index again.
WRITER_STAGES = [
    "blob.temp_written", "blob.temp_written:3", "blob.temp_written:5",
    "blob.renamed", "blob.renamed:3", "blob.renamed:5",
    "record.temp_written", "record.linked", "index.updated",
    "event.temp_written", "event.linked", "index.updated:2",
]
RECORDED = {"record.linked", "index.updated", "event.temp_written", "event.linked",
            "index.updated:2"}
ALIASED = {"event.linked", "index.updated:2"}

# One `watch --once` over a-good/ (folder), b-packed.tar.gz (archive), c-bad/ (rejected).
INGEST_STAGES = [
    "drop.claimed", "drop.marker_hidden", "blob.temp_written", "blob.renamed",
    "record.temp_written", "record.linked", "index.updated", "drop.moved",
    "drop.claimed:2", "archive.extracted", "record.linked:2", "drop.moved:2",
    "drop.claimed:3", "rejected.temp_written", "rejected.linked", "rejected.linked:2",
    "drop.moved:3",
]
CONFIG_STAGES = ["config.temp_written", "config.linked"]


def test_every_stage_has_a_crash_test() -> None:
    from test_snapshot_crash import SNAPSHOT_STAGES  # publishing and copying index snapshots

    covered = {s.partition(":")[0] for s in WRITER_STAGES + INGEST_STAGES + CONFIG_STAGES
               + SNAPSHOT_STAGES}
    assert covered == set(faults.STAGES)


def _killed(proc) -> None:
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize("stage", WRITER_STAGES)
def test_writer_killed_at_each_stage(tmp_path: Path, stage: str) -> None:
    root = tmp_path / "store"
    Store.init(root).close()
    _killed(actor("write", root, "crashy", "t1", env=with_env(MODELYARD_CRASH_AT=stage)))
    left = temp_files(root)
    assert bool(left) == stage.partition(":")[0].endswith("temp_written"), left
    with Store.open(root) as store:
        report = store.fsck(read_data=True)  # default age: the dead writer's temps go now
        assert report.clean, report.to_dict()
        assert report.stale_temps_removed == left and temp_files(root) == []
        recorded = stage in RECORDED
        numbers = [v.number for v in store.search("model:crashy")]
        assert numbers == ([1] if recorded else [])
        if recorded:  # wholly there: every blob it names reads back verified
            _check_whole(store.get("crashy:1"))
        assert ("champion" in store.get("crashy:1").aliases) == (stage in ALIASED) \
            if recorded else True
    finish = actor("write", root, "crashy", "t1")  # the restart finishes the work
    assert finish.returncode == 0, finish.stderr
    with Store.open(root) as store:
        assert [v.number for v in store.versions("crashy")] == [1]
        assert store.get("crashy@champion").number == 1
        assert store.fsck(read_data=True).clean
        events = sorted(int(p.stem) for p in store.layout.events_dir("crashy").glob("*.json"))
        assert events == list(range(1, len(events) + 1))


def _check_whole(version) -> None:
    from actor import payload

    for rel, data in payload("t1").items():
        assert version.open(rel) == data
    assert version.metric_series("loss").height == 40
    assert version.charts["roc"]["auc"] == 0.8
    assert "+t1" in version.source_diff()


def _drops(root: Path) -> None:
    drops = root / "drops"
    good = write_manifest_folder(drops / "a-good", model="good",
                                 files=["model.safetensors", "big.bin"])
    (good / "big.bin").write_bytes(b"good bytes " * 20_000)
    (good / "COMPLETE").write_bytes(b"")
    packed = write_manifest_folder(root.parent / "b-packed", model="packed",
                                   files=["model.safetensors", "weights.bin"])
    (packed / "weights.bin").write_bytes(b"packed bytes " * 20_000)
    (drops / "b-packed.tar.gz").write_bytes(tar_bytes(
        [(f"b-packed/{p.name}", p.read_bytes()) for p in sorted(packed.iterdir())]))
    bad = write_manifest_folder(drops / "c-bad", files=["../../etc/passwd"])
    (bad / "COMPLETE").write_bytes(b"")


def _where(root: Path) -> dict[str, list[str]]:
    """Where each drop is now: waiting, claimed, ingested or quarantined (one place each)."""
    drops = root / "drops"
    places = {"waiting": visible(drops), "claimed": [], "ingested": [], "quarantined": []}
    for claim in visible(drops / ".claims") + [p for p in os.listdir(drops / ".claims")
                                              if p.startswith(".")] \
            if (drops / ".claims").exists() else []:
        places["claimed"] += [n for n in os.listdir(drops / ".claims" / claim)
                              if not n.startswith((".", "REJECTED"))]
    places["ingested"] = visible(drops / ".ingested")
    places["quarantined"] = visible(root / "quarantine")
    return places


@pytest.mark.parametrize("stage", INGEST_STAGES)
def test_ingester_killed_at_each_stage(tmp_path: Path, stage: str) -> None:
    root = tmp_path / "store"
    Store.init(root).close()
    _drops(root)
    _killed(run(PRODUCERS, "watch", root, "--once", "--quiet", "0",
                env=with_env(MODELYARD_CRASH_AT=stage)))
    places = _where(root)
    assert sum(len(v) for v in places.values()) == 3, places  # nothing lost, nothing doubled
    with Store.open(root) as store:
        report = store.fsck(read_data=True)
        assert report.clean, report.to_dict()
        assert temp_files(root) == []
        for model in ("good", "packed"):  # wholly there or wholly absent
            for v in store.search(f"model:{model}"):
                for f in v.files:
                    v.open(f["path"])
    restart = run(PRODUCERS, "watch", root, "--once", "--quiet", "0")
    assert restart.returncode == 0, restart.stdout + restart.stderr
    with Store.open(root) as store:
        for model, name, data in (("good", "big.bin", b"good bytes " * 20_000),
                                  ("packed", "weights.bin", b"packed bytes " * 20_000)):
            [version] = store.versions(model)
            assert version.open(name) == data
            assert "COMPLETE" not in {f["path"] for f in version.files}
        assert store.search("model:resnet") == []  # the bad drop stored nothing
        assert store.fsck(read_data=True).clean
    places = _where(root)
    assert places["waiting"] == [] and places["claimed"] == []
    assert len(places["ingested"]) == 2 and len(places["quarantined"]) == 1
    qdir = root / "quarantine" / places["quarantined"][0]
    assert sorted(os.listdir(qdir)) == ["REJECTED.json", "REJECTED.txt", "drop"]
    assert os.listdir(root / "drops" / ".claims") == []
    archived = [n for n in places["ingested"] if n.startswith("b-packed")]
    assert len(archived) == 1 and tarfile.is_tarfile(root / "drops/.ingested" / archived[0])
    assert not list((root / "drops").rglob(archives.UNPACKED))


@pytest.mark.parametrize("stage", ["record.temp_written:3", "record.linked:2",
                                   "record.linked:4", "drop.moved:2"])
def test_ingester_killed_inside_a_batch_of_drops(tmp_path: Path, stage: str) -> None:
    """Four ready drops of one model are committed as one batch (drops.ingest_drops): a kill
    anywhere in it loses no drop and, after a restart, doubles no version."""
    root = tmp_path / "store"
    Store.init(root).close()
    for i in range(4):
        folder = write_manifest_folder(root / "drops" / f"run-{i}", model="sweep",
                                       params={"i": i}, parents=[])
        (folder / "COMPLETE").write_bytes(b"")
    _killed(run(PRODUCERS, "watch", root, "--once", "--quiet", "0",
                env=with_env(MODELYARD_CRASH_AT=stage)))
    assert sum(len(v) for v in _where(root).values()) == 4  # nothing lost, nothing doubled
    with Store.open(root) as store:
        assert store.fsck(read_data=True).clean
        assert temp_files(root) == []
    restart = run(PRODUCERS, "watch", root, "--once", "--quiet", "0")
    assert restart.returncode == 0, restart.stdout + restart.stderr
    with Store.open(root) as store:
        versions = sorted(store.versions("sweep"), key=lambda v: v.number)
        assert [v.number for v in versions] == [1, 2, 3, 4]
        assert sorted(v.params["i"] for v in versions) == [0, 1, 2, 3]
        assert store.fsck(read_data=True).clean
    places = _where(root)
    assert places["waiting"] == [] and places["claimed"] == [] and places["quarantined"] == []
    assert len(places["ingested"]) == 4


@pytest.mark.parametrize("stage", CONFIG_STAGES)
def test_init_killed_at_each_stage(tmp_path: Path, stage: str) -> None:
    root = tmp_path / "store"
    _killed(actor("init", root, env=with_env(MODELYARD_CRASH_AT=stage)))
    if stage == "config.linked":
        Store.open(root).close()  # the settings file is whole: the store is usable
    else:
        assert not (root / "modelyard.json").exists()
        assert actor("init", root).returncode == 0  # a restart finishes the work
    with Store.open(root) as store:
        assert store.fsck().clean and temp_files(root) == []
        store.add_version("m", params={"ok": 1})
