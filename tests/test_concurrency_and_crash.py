"""Real processes: concurrent writers never collide, and a SIGKILL at any stage of a write
leaves the store fsck-clean with the version wholly there or wholly absent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard.store import Store

WRITER = Path(__file__).with_name("writer_process.py")


def spawn(store: Path, model: str, count: int, tag: str, env: dict | None = None):
    return subprocess.Popen([sys.executable, str(WRITER), str(store), model, str(count), tag],
                            env=env or dict(os.environ), stderr=subprocess.PIPE)


def test_two_processes_adding_fifty_versions_each(store: Store) -> None:
    procs = [spawn(store.root, "racer", 50, tag) for tag in ("a", "b")]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    store.sync()
    versions = store.versions("racer")
    assert sorted(v.number for v in versions) == list(range(1, 101))
    seen = {(v.params["writer"], v.params["i"]) for v in versions}
    assert seen == {(t, i) for t in "ab" for i in range(50)}
    assert store.fsck(read_data=True).clean
    fresh = Store.open(store.root, index=store.root.parent / "other-index.sqlite")
    assert sorted(v.number for v in fresh.versions("racer")) == list(range(1, 101))


def test_concurrent_alias_moves_end_on_the_last_event(store: Store) -> None:
    for i in range(4):
        store.add_version("m", params={"i": i})
    script = ("import sys; from modelyard.store import Store; s = Store.open(sys.argv[1]);"
              "[s.set_alias(f'm:{n}', 'champion') for n in [int(x) for x in sys.argv[2:]]]")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(store.root), *nums])
             for nums in (["1", "2"] * 10, ["3", "4"] * 10)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    store.sync()
    events = sorted(store.layout.events_dir("m").iterdir(), key=lambda p: int(p.stem))
    assert [int(p.stem) for p in events] == list(range(1, 41))
    last = json.loads(events[-1].read_text())
    assert store.get("m@champion").number == last["version"]


STAGES = ["blob.temp_written", "blob.renamed", "record.temp_written", "record.linked",
          "index.updated"]


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_during_a_write_leaves_a_clean_store(store: Store, stage: str) -> None:
    env = dict(os.environ, MODELYARD_CRASH_AT=stage)
    proc = spawn(store.root, "crashy", 1, "k", env)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    reopened = Store.open(store.root)
    report = reopened.fsck(read_data=True, temp_age=0)
    assert report.clean, report.to_dict()
    numbers = [int(p.stem) for p in reopened.layout.versions_dir("crashy").glob("*.json")] \
        if reopened.layout.versions_dir("crashy").exists() else []
    if stage in ("record.linked", "index.updated"):
        assert numbers == [1]
        v = reopened.get("crashy:1")
        assert v.open("weights.bin") == b"k-0" * 100
        assert v.metric_series("loss").height == 50
    else:
        assert numbers == []
    leftovers = [p for p in reopened.root.rglob(".tmp-*")]
    assert leftovers == []
    finish = spawn(store.root, "crashy", 1, "k")  # a restart finishes the work
    assert finish.wait(timeout=120) == 0
    reopened.sync()
    assert [v.number for v in reopened.versions("crashy")] == [1]
    assert reopened.fsck(read_data=True).clean
