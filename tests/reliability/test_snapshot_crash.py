"""Index snapshots under crashes and races: a publisher or a restoring host SIGKILLed at each
snapshot stage of store/disk/faults.py leaves nothing half-written under a final name; two
publishers at once both succeed (or one yields to the same bytes), and a reader copying
snapshots meanwhile never gets a partial one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.index import snapshots
from modelyard.store.index.snapshot_restore import Rejected, copy_checked

pytestmark = pytest.mark.reliability

SNAPSHOT_STAGES = ["snapshot.temp_written", "snapshot.linked", "snapshot.copied"]


def _store(root: Path, versions: int = 30) -> Path:
    with Store.init(root) as store:
        for i in range(versions):
            store.add_version(f"m{i % 3}", files={"w.bin": f"w{i}".encode()},
                              metrics={"acc": i / versions}, params={"i": i})
        store.set_alias("m0:2", "champion")
    return root


def _cli(root: Path, cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = dict(os.environ, MODELYARD_CACHE_DIR=str(cache), MODELYARD_SNAPSHOT_VERIFY="off",
                   **env)
    return subprocess.run([sys.executable, "-m", "modelyard.app.cli.main", "--store",
                           str(root), *args], capture_output=True, text=True, env=environ,
                          timeout=120)


def _final_names(root: Path) -> list[str]:
    folder = snapshots.folder(root)
    return sorted(n for n in os.listdir(folder) if not n.startswith(".")) \
        if folder.exists() else []


def _temps(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob(".tmp-*")) if folder.exists() else []


@pytest.mark.parametrize("stage", ["snapshot.temp_written", "snapshot.linked"])
def test_publisher_killed(tmp_path: Path, stage: str) -> None:
    root = _store(tmp_path / "store")
    killed = _cli(root, tmp_path / "publisher", "index", "publish", MODELYARD_CRASH_AT=stage)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    names = _final_names(root)
    if stage == "snapshot.temp_written":
        assert names == [] and snapshots.listing(root) == []  # only the temp file
        assert _temps(snapshots.folder(root))
    else:  # linked: the whole snapshot, its sidecar first
        [snap] = snapshots.listing(root)
        assert names == [snap.name, snap.name + ".json"]
        (tmp_path / "check").mkdir()
        copy_checked(snap, tmp_path / "check" / "index.sqlite").unlink()
    again = _cli(root, tmp_path / "publisher", "index", "publish", "--json")
    assert again.returncode == 0, again.stderr
    assert _temps(snapshots.folder(root)) == []  # the dead publisher's temp file is gone
    new_host = tmp_path / "new-host"
    ls = _cli(root, new_host, "ls", "--json", "--limit", "0")
    assert ls.returncode == 0 and ls.stderr == "", ls.stderr
    assert ls.stdout.count('"ref"') == 30


def test_restore_killed_while_copying(tmp_path: Path) -> None:
    root = _store(tmp_path / "store")
    assert _cli(root, tmp_path / "publisher", "index", "publish").returncode == 0
    new_host = tmp_path / "new-host"
    killed = _cli(root, new_host, "ls", MODELYARD_CRASH_AT="snapshot.copied")
    assert killed.returncode == -signal.SIGKILL
    index_dir = new_host / "index"
    assert [p.name for p in index_dir.iterdir() if not p.name.startswith(".")] == []
    assert _temps(index_dir)  # the local copy, never under the index's name
    ls = _cli(root, new_host, "ls", "--json", "--limit", "0")
    assert ls.returncode == 0 and ls.stdout.count('"ref"') == 30, ls.stderr
    assert _temps(index_dir) == []
    status = _cli(root, new_host, "index", "status", "--json")
    assert '"source": "snapshot ' in status.stdout


def test_two_publishers_at_once_and_a_reader(tmp_path: Path) -> None:
    """Two hosts (and two processes of one host) publish at the same moment while a reader
    copies every snapshot it lists: all exit 0, every snapshot listed is whole."""
    root = _store(tmp_path / "store", versions=120)
    for cache in ("a", "b"):
        assert _cli(root, tmp_path / cache, "index").returncode == 0  # each has an index
    stop, seen, bad = threading.Event(), set(), []

    def reader() -> None:
        n = 0
        while not stop.is_set():
            for snap in snapshots.listing(root):
                n += 1
                try:
                    copy_checked(snap, tmp_path / "reader" / f"i{n}.sqlite").unlink()
                    seen.add(snap.name)
                except Rejected as exc:
                    bad.append((snap.name, str(exc)))

    (tmp_path / "reader").mkdir()
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        env = dict(os.environ, MODELYARD_SNAPSHOT_VERIFY="off")
        procs = [subprocess.Popen(
            [sys.executable, "-m", "modelyard.app.cli.main", "--store", str(root), "index",
             "publish", "--json"], env=dict(env, MODELYARD_CACHE_DIR=str(tmp_path / cache)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for cache in ("a", "b", "a")]
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        stop.set()
        thread.join(60)
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert bad == []
    listed = snapshots.listing(root)
    assert 1 <= len(listed) <= 3 and seen
    for snap in listed:
        copy_checked(snap, tmp_path / "reader" / "last.sqlite").unlink()
    assert _temps(snapshots.folder(root)) == []
