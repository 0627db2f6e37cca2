"""Concurrency: at once, three processes add versions to one model, two move one alias over
it, and two watchers ingest drops (some for that same model) renamed into one drop folder.
Within a bounded time every version exists exactly once with contiguous numbers, the alias
ends where the highest-numbered event put it, and the event history is complete.

tests/test_concurrency_and_crash.py races two writers and two alias movers separately, and
tests/test_drops_watcher.py two watchers; this runs them all together.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_kit import ACTOR, PRODUCERS, temp_files, visible, wait_for

from modelyard.store import Store

from helpers import write_manifest_folder

pytestmark = pytest.mark.reliability

WRITERS, PER_WRITER = ("wa", "wb", "wc"), 12
SETTERS, PER_SETTER = (11, 22), 15
DROPS = 10  # the even ones add a version of the shared model
BUDGET = 90.0  # seconds for everything; it takes about ten


def _start(script: Path, *args: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-u", str(script), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_writers_alias_movers_and_two_watchers_at_once(store: Store) -> None:
    started = time.monotonic()
    for i in range(4):
        store.add_version("shared", params={"seed": i})
    watchers = [_start(PRODUCERS, "watch", store.root, "--quiet", "0.5") for _ in range(2)]
    writers = [_start(ACTOR, "add", store.root, "shared", PER_WRITER, tag) for tag in WRITERS]
    setters = [_start(ACTOR, "alias", store.root, "shared", "champion", seed, PER_SETTER)
               for seed in SETTERS]
    try:
        for i in range(DROPS):
            model = "shared" if i % 2 == 0 else f"solo{i}"
            hidden = write_manifest_folder(store.layout.drops / f".d{i}.partial", model=model,
                                           params={"drop": i})
            os.rename(hidden, store.layout.drops / f"d{i}")
            time.sleep(0.1)
        outputs = {}
        for proc in writers + setters:
            out, _ = proc.communicate(timeout=BUDGET)
            assert proc.returncode == 0, out
            outputs[proc] = out
        wait_for(lambda: len(visible(store.layout.drops / ".ingested")) == DROPS,
                 BUDGET - (time.monotonic() - started), "every drop to be ingested")
    finally:
        for proc in watchers + writers + setters:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        lines = [line for w in watchers for line in w.communicate(timeout=60)[0].splitlines()]
    assert time.monotonic() - started < BUDGET

    store.sync()
    versions = store.versions("shared")
    total = 4 + len(WRITERS) * PER_WRITER + (DROPS + 1) // 2
    assert sorted(v.number for v in versions) == list(range(1, total + 1))  # contiguous
    made = [(v.params.get("writer"), v.params.get("i"), v.params.get("drop"), v.params.get("seed"))
            for v in versions]
    assert len(set(made)) == len(made) == total  # each exactly once
    assert {(w, i) for w, i, _, _ in made if w} == {(w, i) for w in WRITERS
                                                    for i in range(PER_WRITER)}
    ingested = [line for line in lines if line.startswith("ingested ")]
    assert sorted(ingested) == sorted(
        f"ingested d{i} as {'shared' if i % 2 == 0 else f'solo{i}'}:"
        f"{next(v.number for v in versions if v.params.get('drop') == i) if i % 2 == 0 else 1}"
        for i in range(DROPS))

    events = [json.loads(line) for proc in setters for line in outputs[proc].splitlines()]
    assert len(events) == len(SETTERS) * PER_SETTER
    seqs = sorted(e["seq"] for e in events)
    assert seqs == list(range(1, len(events) + 1))  # no event lost or overwritten
    on_disk = {int(p.stem): json.loads(p.read_text())
               for p in store.layout.events_dir("shared").glob("*.json")}
    assert sorted(on_disk) == seqs
    assert all(on_disk[e["seq"]]["version"] == e["version"] for e in events)
    last = max(events, key=lambda e: e["seq"])
    assert store.get("shared@champion").number == last["version"]
    history = store.history("shared")
    assert len([h for h in history if h.type == "alias.set"]) == len(events)
    assert len([h for h in history if h.type == "version.created"]) == total

    assert visible(store.layout.drops) == [] and os.listdir(store.layout.drops / ".claims") == []
    assert temp_files(store.root) == []
    assert store.fsck(read_data=True).clean
