"""I/O faults: a full disk (ENOSPC, EDQUOT), a failing one (EIO on write, fsync, close, link,
rename, mkdir, read) and a read-only store, injected with MODELYARD_IO_FAULT at the store's
own system calls. Each must end in one clear line naming the path and what to do, nothing
half-written, no retry loop and no lost drop.

The read-only bind mount for `add` and `alias` is in tests/test_cli.py
(test_read_only_store_is_a_one_line_error); here it is the watcher and the readers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_kit import PRODUCERS, temp_files, visible, wait_for, with_env

from modelyard.app.cli.main import main as cli_main
from modelyard.store import Store
from modelyard.store.errors import DiskFull, StorageError
from modelyard.store.ingest import drops
from modelyard.store.ingest.drops import ScanState, ingest_ready

from helpers import write_manifest_folder

pytestmark = pytest.mark.reliability

FULL, BROKEN, READ_ONLY = "Free space", "filesystem failed", "read-only for you"

# (operation, errno, path part) -> what the one-line error must say
ADD_FAULTS = [
    ("write", "ENOSPC", "_staging", FULL),      # copying a file's bytes into the store
    ("write", "EDQUOT", "/versions/", FULL),    # the version record
    ("close", "ENOSPC", "_staging", FULL),      # NFS reports a full disk at close
    ("mkdir", "ENOSPC", "/versions", FULL),     # the model's first folder
    ("write", "EIO", "/sha256/", BROKEN),       # a small blob (curves, charts)
    ("fsync", "EIO", "_staging", BROKEN),
    ("fsync", "EIO", "/versions/", BROKEN),
    ("close", "EIO", "/versions/", BROKEN),
    ("link", "EIO", "/versions/", BROKEN),      # claiming the version number
    ("rename", "EIO", "/sha256/", BROKEN),      # publishing a blob
    ("open", "EROFS", "", READ_ONLY),
    ("open", "EACCES", "/versions/", READ_ONLY),
]


def _cli(args: list[str], capfd, monkeypatch, fault: str | None = None) -> tuple[int, str, str]:
    if fault:
        monkeypatch.setenv("MODELYARD_IO_FAULT", fault)
    try:
        code = cli_main(args)
    finally:
        monkeypatch.delenv("MODELYARD_IO_FAULT", raising=False)
    out, err = capfd.readouterr()
    return code, out, err


def _one_line(err: str, *needles: str) -> None:
    assert err.count("\n") == 1 and err.startswith("modelyard: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.mark.parametrize(("op", "code", "where", "says"), ADD_FAULTS,
                         ids=[f"{o}-{c}-{w.strip('/') or 'any'}" for o, c, w, _ in ADD_FAULTS])
def test_add_under_a_fault_fails_cleanly_and_a_retry_works(tmp_path: Path, capfd, monkeypatch,
                                                           op: str, code: str, where: str,
                                                           says: str) -> None:
    root = tmp_path / "s"
    Store.init(root).close()
    folder = write_manifest_folder(tmp_path / "d", files=["model.safetensors", "big.bin"])
    (folder / "big.bin").write_bytes(os.urandom(3 << 20))  # several chunks
    args = ["--store", str(root), "add", str(folder)]
    status, _, err = _cli(args, capfd, monkeypatch, f"{op}:{code}:{where}")
    assert status == 1
    _one_line(err, says, f"[{code}]", str(root), "run the command again"
              if says != READ_ONLY else "group write access")
    assert temp_files(root) == []  # nothing half-written, not even a temp file
    with Store.open(root) as store:
        assert store.search("") == [] and store.fsck(read_data=True).clean
    status, out, err = _cli(args, capfd, monkeypatch)  # once the disk is fixed: version 1
    assert status == 0 and out.strip() == "added resnet:1", err


def test_alias_and_export_faults_are_one_line(store: Store, tmp_path: Path, capfd,
                                              monkeypatch) -> None:
    store.add_version("m", files={"w.bin": b"weights" * 1000})
    base = ["--store", str(store.root)]
    status, _, err = _cli([*base, "alias", "m:1", "prod"], capfd, monkeypatch,
                          "write:ENOSPC:/events/")
    assert status == 1
    _one_line(err, FULL, "/events/")
    status, _, err = _cli([*base, "export", "m:1", str(tmp_path / "out")], capfd, monkeypatch,
                          "read:EIO:/sha256/")
    assert status == 1
    _one_line(err, "cannot read", "[EIO]", "nothing was changed")
    assert not list((tmp_path / "out").rglob("w.bin"))
    assert temp_files(store.root) == [] and not os.listdir(store.layout.events_dir("m"))


def test_the_error_reaches_a_real_terminal_as_one_line(tmp_path: Path) -> None:
    root = tmp_path / "s"
    Store.init(root).close()
    folder = write_manifest_folder(tmp_path / "d")
    out = subprocess.run([sys.executable, "-m", "modelyard.app.cli.main", "--store", str(root),
                          "add", str(folder)], capture_output=True, timeout=60,
                         env=with_env(MODELYARD_IO_FAULT="fsync:EIO"))
    assert out.returncode == 1 and out.stdout == b""
    assert out.stderr.count(b"\n") == 1 and b"Traceback" not in out.stderr
    assert b"Input/output error [EIO]" in out.stderr


def test_api_errors_are_named(store: Store, monkeypatch) -> None:
    monkeypatch.setenv("MODELYARD_IO_FAULT", "write:ENOSPC")
    with pytest.raises(DiskFull, match="No space left"):
        store.add_version("m", files={"w": b"x"})
    monkeypatch.setenv("MODELYARD_IO_FAULT", "fsync:EIO")
    with pytest.raises(StorageError, match="EIO"):
        store.add_version("m", params={"a": 1})
    monkeypatch.delenv("MODELYARD_IO_FAULT")
    assert store.add_version("m", params={"a": 1}).number == 1  # no gap was left


# the watcher ---------------------------------------------------------------------------------

def _ready_drop(store: Store, name: str = "d") -> Path:
    folder = write_manifest_folder(store.layout.drops / name)
    (folder / "COMPLETE").write_bytes(b"")
    return folder


def test_a_full_disk_gives_the_drop_back_and_backs_off(store: Store, monkeypatch) -> None:
    folder = _ready_drop(store)
    _ready_drop(store, "e")
    state = ScanState()
    monkeypatch.setenv("MODELYARD_IO_FAULT", "write:ENOSPC:/blobs/")
    [result] = ingest_ready(store, quiet_seconds=0, state=state)  # the pass stops at once
    assert (result.status, result.error, result.transient) == ("skipped", "DiskFull", True)
    assert "No space left" in result.line() and "retried after a pause" in result.line()
    assert result.retry_in == drops.BACKOFF_SECONDS
    assert visible(store.layout.drops) == ["d", "e"] and (folder / "COMPLETE").exists()
    assert visible(store.layout.quarantine) == [] and temp_files(store.root) == []
    [other] = ingest_ready(store, quiet_seconds=0, state=state)  # d waits; e is tried
    assert other.drop == "e" and other.transient
    assert ingest_ready(store, quiet_seconds=0, state=state) == []  # both wait: no loop
    state.retry_at[str(folder)] = 0  # time passes; the disk is still full: twice the pause
    [again] = ingest_ready(store, quiet_seconds=0, state=state)
    assert again.transient and again.retry_in == 2 * drops.BACKOFF_SECONDS
    monkeypatch.delenv("MODELYARD_IO_FAULT")
    state.retry_at.clear()
    done = ingest_ready(store, quiet_seconds=0, state=state)
    assert [r.status for r in done] == ["ingested", "ingested"]
    assert not state.retry_at and not state.failures and not state.storage_failures
    assert store.fsck(read_data=True).clean


def test_a_fault_after_storing_keeps_the_drop_and_the_retry_dedupes(store: Store,
                                                                     monkeypatch) -> None:
    _ready_drop(store)
    state = ScanState()
    monkeypatch.setenv("MODELYARD_IO_FAULT", "rename:EIO:/.ingested/")
    [result] = ingest_ready(store, quiet_seconds=0, state=state)
    assert result.transient and visible(store.layout.drops) == ["d"]
    assert [v.ref for v in store.search("")] == ["resnet:1"]  # stored before the move failed
    monkeypatch.delenv("MODELYARD_IO_FAULT")
    state.retry_at.clear()
    [done] = ingest_ready(store, quiet_seconds=0, state=state)
    assert done.refs == ["resnet:1"] and len(store.search("")) == 1


def test_a_watcher_on_a_failing_disk_does_not_spin(store: Store) -> None:
    _ready_drop(store)
    watcher = subprocess.Popen([sys.executable, "-u", str(PRODUCERS), "watch", str(store.root),
                                "--quiet", "0"], stdout=subprocess.PIPE, text=True,
                               stderr=subprocess.STDOUT,
                               env=with_env(MODELYARD_IO_FAULT="write:EIO:/blobs/"))
    try:
        time.sleep(4)  # ticks every second: a retry loop would try four times
    finally:
        watcher.terminate()
        lines = watcher.communicate(timeout=30)[0].splitlines()
    tries = [line for line in lines if line.startswith("skipped d")]
    assert len(tries) == 1 and "[EIO]" in tries[0] and "given back" in tries[0], lines
    assert visible(store.layout.drops) == ["d"] and visible(store.layout.quarantine) == []
    assert os.listdir(store.layout.drops / ".claims") == []


@pytest.fixture
def read_only_view(store: Store, tmp_path: Path):
    """The store through a read-only bind mount (root only: skipped elsewhere, saying why)."""
    view = tmp_path / "ro"
    view.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(store.root), str(view)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here (needs root): {mounted.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        yield view
    finally:
        subprocess.run(["umount", str(view)], check=True)


def test_a_read_only_store_reads_and_its_watcher_loses_nothing(store: Store, read_only_view,
                                                              capfd, monkeypatch) -> None:
    store.add_version("m", files={"w.bin": b"w" * 100})
    _ready_drop(store)
    base = ["--store", str(read_only_view)]
    status, out, err = _cli([*base, "ls", "--json"], capfd, monkeypatch)
    assert status == 0 and [v["ref"] for v in json.loads(out)] == ["m:1"], err
    status, out, err = _cli([*base, "fsck", "--read-data", "--json"], capfd, monkeypatch)
    assert status == 0 and json.loads(out)["clean"], out + err
    lines: list[str] = []
    with Store.open(read_only_view) as ro:
        state = ScanState()
        [result] = ingest_ready(ro, quiet_seconds=0, state=state, log=lines.append)
        assert result.transient and result.error == "ReadOnlyStore"
        assert ingest_ready(ro, quiet_seconds=0, state=state) == []  # backing off
    assert len(lines) == 1 and "read-only for you" in lines[0] and "\n" not in lines[0]
    assert visible(store.layout.drops) == ["d"]
    wait_for(lambda: ingest_ready(store, quiet_seconds=0), 10, "the writable store to ingest")
