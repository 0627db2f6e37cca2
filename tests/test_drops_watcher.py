"""The drop folder and its watcher, with real files and real processes: slow producers,
renamed-in and COMPLETE-marked drops, SIGKILLed watchers, two watchers racing, and
hostile drops that must end in quarantine without anything outside them being read."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from drop_producers import expected_digest

from modelyard.store import Store
from modelyard.store.ingest import drops
from modelyard.store.ingest.drops import ScanState, ingest_ready, recover_claims, scan_ready
from modelyard.store.ingest.watcher import Watcher, run_watch

from helpers import wait_for, write_manifest_folder

PRODUCERS = Path(__file__).with_name("drop_producers.py")
CONTROL = ("\x1b", "\u202e", "\x07")


class Proc:
    """A child process whose stdout lines are collected by a thread as they come."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.popen = subprocess.Popen([sys.executable, "-u", str(PRODUCERS), *args],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, env=env or dict(os.environ))
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, text: str, timeout: float = 20) -> None:
        wait_for(lambda: any(text in line for line in self.lines), timeout,
                 f"{text!r} from the child; it said {self.lines}")

    def wait(self, timeout: float = 30) -> int:
        code = self.popen.wait(timeout)
        self._reader.join(5)
        return code

    def terminate(self, timeout: float = 30) -> int:
        self.popen.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    try:
        yield started
    finally:
        for proc in started:
            proc.kill()


def spawn(procs: list[Proc], *args: str, env: dict[str, str] | None = None) -> Proc:
    proc = Proc(*args, env=env)
    procs.append(proc)
    return proc


def visible(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if not n.startswith(".")) \
        if folder.exists() else []


def ingested(store: Store) -> list[str]:
    return visible(store.layout.drops / ".ingested")


def has_version(root: Path, ref: str) -> bool:
    with Store.open(root) as s:
        try:
            s.get(ref)
        except Exception:  # noqa: BLE001 - not there yet
            return False
        return True


def check_big(store: Store, model: str, size: int) -> None:
    """Exactly one version, holding every byte the producer wrote."""
    store.sync()
    versions = store.versions(model)
    assert len(versions) == 1, versions
    files = {f["path"]: f for f in versions[0].record["files"]}
    assert files["big.bin"]["digest"] == expected_digest(model, size)
    data = versions[0].open("big.bin")
    assert "sha256:" + hashlib.sha256(data).hexdigest() == expected_digest(model, size)


def settle(store: Store) -> None:
    """Nothing left claimed or waiting: every drop ended ingested or quarantined."""
    assert visible(store.layout.drops) == []
    assert os.listdir(store.layout.drops / ".claims") == []


# readiness ---------------------------------------------------------------------------------

def test_quiet_period_follows_fingerprints(store: Store) -> None:
    drop = write_manifest_folder(store.layout.drops / "q")
    state = ScanState()
    assert scan_ready(store, quiet_seconds=1, state=state) == []
    time.sleep(0.3)
    (drop / "more.bin").write_bytes(b"still writing")
    assert scan_ready(store, quiet_seconds=1, state=state) == []
    time.sleep(0.3)
    assert scan_ready(store, quiet_seconds=1, state=state) == []  # 0.3 s since the change
    time.sleep(0.8)
    assert scan_ready(store, quiet_seconds=1, state=state) == [drop]
    (drop / "COMPLETE").write_bytes(b"")
    assert scan_ready(store, quiet_seconds=60, state=ScanState()) == [drop]
    assert scan_ready(store, quiet_seconds=60, moved_in={"q"}) == [drop]


def test_hidden_names_and_fresh_drops_are_left_alone(store: Store) -> None:
    write_manifest_folder(store.layout.drops / ".in-progress")
    write_manifest_folder(store.layout.drops / "fresh")
    assert ingest_ready(store, quiet_seconds=30) == []
    assert visible(store.layout.drops) == ["fresh"]


# producers and one watcher -----------------------------------------------------------------

def test_slow_copy_is_ingested_once_after_the_quiet_period(store: Store, procs) -> None:
    watcher = spawn(procs, "watch", str(store.root), "--quiet", "1.5")
    watcher.wait_line("watching")
    producer = spawn(procs, "slow", str(store.layout.drops), "slowpoke", "8")
    assert producer.wait(60) == 0
    wait_for(lambda: ingested(store), 30, "the slow drop to be ingested")
    assert watcher.terminate() == 0
    assert [line for line in watcher.lines if "slowpoke" in line] == \
        ["ingested slowpoke as slowpoke:1"]
    check_big(store, "slowpoke", 8 << 20)
    settle(store)
    assert store.fsck(read_data=True).clean


def test_renamed_in_and_complete_marker_skip_the_quiet_period(store: Store, procs) -> None:
    watcher = spawn(procs, "watch", str(store.root), "--quiet", "600")
    watcher.wait_line("watching")
    renamer = spawn(procs, "rename", str(store.layout.drops), "renamed")
    marker = spawn(procs, "complete", str(store.layout.drops), "marked")
    assert renamer.wait(60) == 0 and marker.wait(60) == 0
    wait_for(lambda: len(ingested(store)) == 2, 30, "both drops to be ingested")
    assert watcher.terminate() == 0
    for model in ("renamed", "marked"):
        check_big(store, model, 1 << 20)
    assert sum("ingested" in line for line in watcher.lines) == 2
    settle(store)


# crashes -----------------------------------------------------------------------------------

def _drop_set(store: Store) -> None:
    for i in range(3):
        folder = write_manifest_folder(store.layout.drops / f"good{i}", model=f"good{i}",
                                       files=["model.safetensors", "big.bin"])
        (folder / "big.bin").write_bytes(f"payload {i}".encode() * 10_000)
        (folder / "COMPLETE").write_bytes(b"")
    bad = write_manifest_folder(store.layout.drops / "bad", files=["../../etc/passwd"])
    (bad / "COMPLETE").write_bytes(b"")


@pytest.mark.parametrize("stage", ["drop.claimed", "blob.renamed:2", "record.linked",
                                   "rejected.linked", "drop.moved", "drop.moved:2"])
def test_watcher_killed_mid_ingest_loses_nothing(store: Store, procs, stage: str) -> None:
    _drop_set(store)
    crashing = spawn(procs, "watch", str(store.root), "--once",
                     env=dict(os.environ, MODELYARD_CRASH_AT=stage))
    assert crashing.wait(60) == -signal.SIGKILL
    restarted = spawn(procs, "watch", str(store.root), "--once")
    assert restarted.wait(60) == 0, restarted.lines
    store.sync()
    for i in range(3):
        versions = store.versions(f"good{i}")
        assert len(versions) == 1
        assert versions[0].open("big.bin") == f"payload {i}".encode() * 10_000
        assert "COMPLETE" not in {f["path"] for f in versions[0].record["files"]}
    assert len(ingested(store)) == 3
    quarantined = visible(store.layout.quarantine)
    assert len(quarantined) == 1
    assert sorted(os.listdir(store.layout.quarantine / quarantined[0])) == \
        ["REJECTED.json", "REJECTED.txt", "drop"]
    settle(store)
    assert store.fsck(read_data=True).clean


def test_recovery_returns_only_stale_claims(store: Store) -> None:
    claims = store.layout.drops / ".claims"
    claims.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    now = time.time()
    made = {
        f"mine@{drops.HOST}@{dead.pid}@{now:.3f}": "mine",         # this host, pid gone
        f"old@elsewhere@1@{now - 3600:.3f}": "old",                # other host, timed out
        f"busy@elsewhere@1@{now:.3f}": "busy",                     # other host, fresh
        f"long-name@elsewhere@1@{now - 3600:.3f}": "drop",         # mid-rejection
    }
    for cname, inner in made.items():
        write_manifest_folder(claims / cname / inner)
    (claims / f"long-name@elsewhere@1@{now - 3600:.3f}" / "REJECTED.json").write_text(
        json.dumps({"drop": "the-real-name"}))
    for cname in made:
        os.utime(claims / cname, (now - 3600, now - 3600) if "busy" not in cname else None)
    back = recover_claims(store, timeout=600)
    assert sorted(p.name for p in back) == ["mine", "old", "the-real-name"]
    assert visible(store.layout.drops) == ["mine", "old", "the-real-name"]
    assert os.listdir(claims) == [f"busy@elsewhere@1@{now:.3f}"]


def test_unexpected_errors_give_the_drop_back_then_quarantine_it(store: Store,
                                                                 monkeypatch) -> None:
    write_manifest_folder(store.layout.drops / "flaky")
    monkeypatch.setenv("MODELYARD_IO_FAULT", "read:EIO:modelyard.yaml")  # the drop's disk
    state = ScanState()
    for _attempt in (1, 2):
        [result] = ingest_ready(store, quiet_seconds=0, state=state)
        assert (result.status, result.error) == ("skipped", "OSError")
        assert visible(store.layout.drops) == ["flaky"] and state.failures
    [result] = ingest_ready(store, quiet_seconds=0, state=state)
    assert result.status == "rejected" and "unexpected OSError" in result.reason
    assert (result.quarantine / "drop" / "modelyard.yaml").is_file()
    settle(store)


# two watchers ------------------------------------------------------------------------------

def test_two_watchers_ingest_twenty_drops_exactly_once(store: Store, procs) -> None:
    watchers = [spawn(procs, "watch", str(store.root), "--quiet", "0.5") for _ in range(2)]
    for w in watchers:
        w.wait_line("watching")
    for i in range(20):
        hidden = write_manifest_folder(store.layout.drops / f".tmp{i}", model=f"m{i}",
                                       params={"i": i})
        os.rename(hidden, store.layout.drops / f"d{i}")
    wait_for(lambda: len(ingested(store)) == 20, 45, "twenty drops to be ingested")
    assert [w.terminate() for w in watchers] == [0, 0]
    lines = [line for w in watchers for line in w.lines if line.startswith("ingested")]
    assert sorted(lines) == sorted(f"ingested d{i} as m{i}:1" for i in range(20))
    store.sync()
    assert sorted(m.name for m in store.models()) == sorted(f"m{i}" for i in range(20))
    assert all(m.versions == 1 for m in store.models())
    settle(store)


def test_sigterm_finishes_the_current_drop_and_leaves_the_rest(store: Store, procs) -> None:
    for i in range(20):
        folder = write_manifest_folder(store.layout.drops / f"t{i}", model=f"t{i}")
        (folder / "COMPLETE").write_bytes(b"")
    watcher = spawn(procs, "watch", str(store.root), "--quiet", "600")
    watcher.wait_line("ingested")
    assert watcher.terminate() == 0
    done = [line for line in watcher.lines if line.startswith("ingested")]
    assert 1 <= len(done) and len(done) + len(visible(store.layout.drops)) == 20
    assert len(ingested(store)) == len(done)
    assert os.listdir(store.layout.drops / ".claims") == []
    for name in visible(store.layout.drops):  # untouched, marker and all
        assert (store.layout.drops / name / "COMPLETE").exists()


# hostile drops -----------------------------------------------------------------------------

def _hostile(store: Store, outside: Path, pwned: Path) -> dict[str, str]:
    """Each hostile drop by name, with a word its rejection reason must hold."""
    d = store.layout.drops
    cases = {}
    link = write_manifest_folder(d / "inner-link", files=["model.safetensors", "passwd"])
    os.symlink("/etc/passwd", link / "passwd")
    cases["inner-link"] = "symbolic link"
    write_manifest_folder(d / "dotdot", files=["../../../secret.txt"])
    cases["dotdot"] = "leaves the folder"
    write_manifest_folder(d / "absolute", files=[str(outside)])
    cases["absolute"] = "not a relative path"
    write_manifest_folder(d / "url", files=["file:///etc/passwd"])
    cases["url"] = "not a relative path"
    os.mkfifo(write_manifest_folder(d / "fifo") / "pipe")
    cases["fifo"] = "FIFO"
    (d / "pyyaml").mkdir()
    (d / "pyyaml" / "modelyard.yaml").write_text(
        f"model: evil\ndescription: !!python/object/apply:os.system ['touch {pwned}']\n")
    cases["pyyaml"] = "YAML"
    (d / "bomb").mkdir()
    rows = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    rows += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]"
             for i in range(8)]
    (d / "bomb" / "modelyard.yaml").write_text("model: bomb\nparams:\n  "
                                               + "\n  ".join(rows) + "\n")
    cases["bomb"] = "aliases"
    (d / "huge").mkdir()
    with open(d / "huge" / "modelyard.yaml", "wb") as f:
        f.truncate(101 << 20)  # sparse: instant, no disk used
    cases["huge"] = "limited to"
    (d / "deepjson").mkdir()
    (d / "deepjson" / "modelyard.json").write_text(
        '{"model": "deep", "params": ' + "[" * 100_000 + "]" * 100_000 + "}")
    cases["deepjson"] = "nested"
    for name in ("new\nline", "esc\x1b[31mred", "bidi\u202eevil"):
        write_manifest_folder(d / name)
        cases[name] = "holds the character"
    (d / "surrogate").mkdir()  # JSON can spell a lone surrogate; no file name can hold it
    (d / "surrogate" / "modelyard.json").write_text(
        '{"model": "surrogate", "files": ["w\\ud800.bin"]}')
    cases["surrogate"] = "not valid Unicode"
    os.symlink(write_manifest_folder(outside.parent / "elsewhere"), d / "linked-drop")
    cases["linked-drop"] = "symbolic link"
    (d / "loose.bin").write_bytes(b"weights")
    cases["loose.bin"] = "a drop must be a folder"
    deep = d / "deepdirs"
    write_manifest_folder(deep)
    (deep / "/".join(["n"] * 40)).mkdir(parents=True)
    cases["deepdirs"] = "deeper than 32"
    many = write_manifest_folder(d / "many")
    for i in range(60):
        (many / f"f{i}").write_bytes(b"")
    cases["many"] = "more than 50 files"
    return cases


def test_hostile_drops_are_quarantined_with_reasons(store: Store, tmp_path: Path,
                                                    monkeypatch) -> None:
    monkeypatch.setattr(drops, "MAX_FILES", 50)
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"TOP SECRET outside the drop " * 20)
    pwned = tmp_path / "pwned"
    cases = _hostile(store, outside, pwned)
    lines: list[str] = []
    results = {r.drop: r for r in ingest_ready(store, quiet_seconds=0, log=lines.append)}
    assert sorted(results) == sorted(cases)
    for name, word in cases.items():
        result = results[name]
        assert result.status == "rejected", (name, result)
        assert word in result.reason, (name, result.reason)
        info = json.loads((result.quarantine / "REJECTED.json").read_text())
        assert info["drop"] == name and info["reason"] and info["error"]
        assert (result.quarantine / "drop").exists() or (result.quarantine / "drop").is_symlink()
        text = (result.quarantine / "REJECTED.txt").read_text()
        assert "How to retry" in text and not any(c in text for c in CONTROL)
        assert "new\nline" not in text
    assert len(lines) == len(cases) and all(line.startswith("rejected ") for line in lines)
    assert not any(c in line for line in lines for c in (*CONTROL, "\n"))
    assert not pwned.exists()
    secrets = [Path("/etc/passwd").read_bytes()[:64], b"TOP SECRET"]
    for blob in store.layout.blobs.rglob("*"):
        if blob.is_file():
            assert not any(s in blob.read_bytes() for s in secrets), blob
    assert store.search("") == []
    settle(store)


# the ways to run it ------------------------------------------------------------------------

def test_run_watch_once_ingests_what_is_ready_and_leaves_the_rest(store: Store,
                                                                 tmp_path: Path) -> None:
    write_manifest_folder(store.layout.drops / "old", model="old")
    marked = write_manifest_folder(store.layout.drops / "marked", model="marked")
    (marked / "COMPLETE").write_bytes(b"")
    time.sleep(1.2)
    write_manifest_folder(store.layout.drops / "fresh", model="fresh")
    lines: list[str] = []
    assert run_watch(store.root, once=True, quiet_seconds=1, log=lines.append) == 0
    assert sorted(lines)[:2] == ["ingested marked as marked:1", "ingested old as old:1"]
    assert len(lines) == 3 and lines[2].startswith("waiting: fresh (changed ")  # issue 11.9
    assert visible(store.layout.drops) == ["fresh"]
    assert run_watch(tmp_path / "nowhere", once=True, log=lines.append) == 1
    assert "no store" in lines[-1]


def test_reingesting_a_drop_gives_the_same_version_and_marker_is_not_stored(
        store: Store) -> None:
    folder = store.layout.drops / "plain"
    folder.mkdir()
    (folder / "modelyard.yaml").write_text("model: plain\nparams: {lr: 0.1}\n")
    (folder / "weights.bin").write_bytes(b"w" * 1000)
    (folder / "COMPLETE").write_bytes(b"")
    [first] = ingest_ready(store)
    [done] = ingested(store)
    assert sorted(os.listdir(store.layout.drops / ".ingested" / done)) == \
        ["COMPLETE", "modelyard.yaml", "weights.bin"]
    os.rename(store.layout.drops / ".ingested" / done, folder)
    [again] = ingest_ready(store)
    assert first.refs == again.refs == ["plain:1"]
    assert [f["path"] for f in store.get("plain:1").record["files"]] == ["weights.bin"]


def test_ingested_drops_are_removed_when_not_kept(store: Store) -> None:
    config = json.loads(store.layout.config_path.read_text())
    config["settings"]["keep_ingested_drops"] = False
    store.layout.config_path.write_text(json.dumps(config))
    reopened = Store.open(store.root)
    (write_manifest_folder(reopened.layout.drops / "gone") / "COMPLETE").write_bytes(b"")
    [result] = ingest_ready(reopened)
    assert result.status == "ingested" and os.listdir(reopened.layout.drops / ".ingested") == []
    assert reopened.get("resnet:1").open("model.safetensors")
    reopened.close()


def _rename_in(drops_dir: Path, name: str, model: str, pause: float = 0.0) -> None:
    hidden = write_manifest_folder(drops_dir / f".{name}.tmp", model=model)
    time.sleep(pause)
    os.rename(hidden, drops_dir / name)


def test_forced_polling_watcher_ingests_a_drop(store: Store) -> None:
    results = []
    watcher = Watcher(store.root, poll=0.2, quiet_seconds=2, on_result=results.append,
                      log=lambda line: None)
    watcher.start()
    try:
        wait_for(lambda: watcher.polling is not None, 10, "the observer to start")
        assert watcher.polling is True
        _rename_in(store.layout.drops, "polled", "polled", pause=0.5)
        wait_for(lambda: results, 20, "the polled drop")
    finally:
        watcher.stop()
    assert not watcher.running and watcher.error is None
    assert [r.refs for r in results] == [["polled:1"]]


def test_renamed_in_drop_is_searchable_within_seconds(store: Store) -> None:
    watcher = Watcher(store.root, quiet_seconds=600, log=lambda line: None)
    watcher.start()
    try:
        wait_for(lambda: watcher.polling is not None, 10, "the observer to start")
        assert watcher.polling is False
        started = time.monotonic()
        _rename_in(store.layout.drops, "fast", "latency")
        wait_for(lambda: has_version(store.root, "latency:1"), 20, "the drop to be searchable")
        took = time.monotonic() - started
    finally:
        watcher.stop()
    store.sync()
    assert [v.ref for v in store.search("latency")] == ["latency:1"]
    print(f"renamed-in drop searchable after {took:.2f}s")
