"""Shared index snapshots (store/index/snapshots.py): a new host (a fresh cache folder) starts
from the newest snapshot and answers exactly as a full `reindex` does, including what was
written after the snapshot; a snapshot that lies, is truncated, damaged or of a newer schema
is detected, reported and replaced. Every host is a real `modelyard` process."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelyard.store import StorageError, Store
from modelyard.store.disk import atomic
from modelyard.store.index import schema, snapshots


def _populate(store: Store, models: tuple[str, ...] = ("bert", "resnet", "gpt"), n: int = 6
              ) -> None:
    for m, model in enumerate(models):
        for i in range(n):
            store.add_version(model, files={"w.bin": f"{model}-{i}".encode()},
                              params={"lr": 0.001 * (i + 1), "opt": {"name": "adam"}},
                              metrics={"acc": (i + m) / 10, "loss": 1 / (i + 1)},
                              tags={"team": "vision"} if i % 2 else {},
                              description=f"{model} run {i}")
        store.set_alias(f"{model}:2", "champion")
        store.tag(f"{model}:1", "stage", "dev")
    store.deprecate("bert:1", reason="old")


def host(root: Path, cache: Path, *args: str, verify: str = "off", **env: str):
    """One command on a 'host' whose index lives in `cache`."""
    environ = dict(os.environ, MODELYARD_CACHE_DIR=str(cache), PYTHONIOENCODING="utf-8",
                   MODELYARD_SNAPSHOT_VERIFY=verify, **env)
    return subprocess.run([sys.executable, "-m", "modelyard.app.cli.main", "--store",
                           str(root), *args], capture_output=True, text=True, env=environ,
                          timeout=120)


def answers(root: Path, cache: Path, **env: str) -> tuple[list, list]:
    ls = host(root, cache, "ls", "--json", "--limit", "0", **env)
    models = host(root, cache, "models", "--json", **env)
    assert ls.returncode == 0 and models.returncode == 0, (ls.stderr, models.stderr)
    return json.loads(ls.stdout), json.loads(models.stdout)


def truth(root: Path, tmp: Path) -> tuple[list, list]:
    cache = tmp / f"truth-{time.monotonic_ns()}"
    assert host(root, cache, "reindex", MODELYARD_SNAPSHOT_RESTORE="0").returncode == 0
    return answers(root, cache, MODELYARD_SNAPSHOT_RESTORE="0")


@pytest.fixture
def published(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    with Store.init(root) as store:
        _populate(store)
    done = host(root, tmp_path / "publisher", "index", "publish", "--json")
    assert done.returncode == 0, done.stderr
    return root


def _status(root: Path, cache: Path) -> dict:
    out = host(root, cache, "index", "status", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_new_host_from_snapshot_answers_as_reindex(published: Path, tmp_path: Path) -> None:
    root = published
    with Store.open(root, index=tmp_path / "writer.sqlite") as store:  # after the snapshot
        store.add_version("bert", files={"w.bin": b"late"}, metrics={"acc": 0.99})
        store.add_version("late-model", files={"w.bin": b"new"}, params={"lr": 0.5})
        store.set_alias("resnet:5", "champion")
        store.describe("gpt:3", "changed after the snapshot")
    new_host = tmp_path / "new-host"
    got = answers(root, new_host)
    assert got == truth(root, tmp_path)
    refs = {v["ref"] for v in got[0]}
    assert {"bert:7", "late-model:1"} <= refs
    status = _status(root, new_host)
    assert status["source"].startswith(f"snapshot {schema.SCHEMA_VERSION}-")
    assert status["behind_bytes"] == 0 and status["publishable"] is False
    verified = host(root, new_host, "index", "verify", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["state"] == "verified"
    status = _status(root, new_host)
    assert status["verify"]["state"] == "verified" and status["publishable"] is True
    # a verified index may be published in turn: it covers the later writes
    again = host(root, new_host, "index", "publish", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["versions"] == 20


def _lie(root: Path, change: str) -> Path:
    """Rewrite the newest snapshot with `change` applied, published under a name whose
    digest is right (a hostile member can compute it), and remove the honest one."""
    honest = snapshots.listing(root)[0]
    raw = root.parent / "lie.sqlite"
    raw.write_bytes(gzip.decompress(honest.path.read_bytes()))
    conn = sqlite3.connect(raw)
    conn.executescript(change)
    conn.commit()
    conn.close()
    data = gzip.compress(raw.read_bytes())
    digest = hashlib.sha256(data).hexdigest()
    lie = honest.path.parent / f"{honest.schema}-{honest.position}-{digest}.sqlite.gz"
    lie.write_bytes(data)
    os.chmod(honest.path, 0o644)
    honest.path.unlink()
    return lie


ALIAS_LIE = ("UPDATE aliases SET version_id = (SELECT id FROM versions WHERE model = 'resnet'"
             " AND number = 6) WHERE alias = 'champion' AND model_id = (SELECT id FROM models"
             " WHERE name = 'resnet');")
METRIC_LIE = ("UPDATE metrics SET value = 0.999 WHERE key = 'acc' AND version_id = (SELECT id "
              "FROM versions WHERE model = 'gpt' AND number = 4);")


def test_snapshot_with_a_moved_alias_is_found_reported_and_replaced(published: Path,
                                                                   tmp_path: Path) -> None:
    root = published
    lie = _lie(root, ALIAS_LIE)
    new_host = tmp_path / "new-host"
    lied = host(root, new_host, "ls", "--json", "@champion")
    assert "resnet:6" in lied.stdout  # it answers from the snapshot, lie and all
    out = host(root, new_host, "index", "verify", "--json")
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["state"] == "differs" and report["rebuilt"] is True
    [problem] = report["problems"]
    assert problem["kind"] == "snapshot-lie" and problem["path"] == str(lie)
    assert "resnet:2" in problem["versions"] and "resnet:6" in problem["versions"]
    assert answers(root, new_host) == truth(root, tmp_path)
    status = _status(root, new_host)
    assert status["source"] == "records" and status["publishable"] is True
    # this host never uses it again, even for a fresh index
    for suffix in ("", "-wal", "-shm"):
        Path(f"{status['index']}{suffix}").unlink(missing_ok=True)
    again = host(root, new_host, "ls", "--json")
    assert "differs from the records before" in again.stderr
    assert _status(root, new_host)["source"] == "records"


def test_snapshot_with_a_changed_metric_is_found_in_the_background(published: Path,
                                                                  tmp_path: Path) -> None:
    """The restore starts a low-priority verifier process by itself."""
    root = published
    _lie(root, METRIC_LIE)
    new_host = tmp_path / "new-host"
    lied = host(root, new_host, "ls", "--json", "metrics.acc > 0.95", verify="background")
    assert "gpt:4" in lied.stdout
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = _status(root, new_host)
        if status["verify"].get("rebuilt") and status["source"] == "records":
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the background verifier did not finish: {status}")
    [problem] = status["verify"]["problems"]
    assert problem["versions"] == ["gpt:4"] and "metrics" in problem["message"]
    assert answers(root, new_host) == truth(root, tmp_path)


def _older_good_and(root: Path, tmp_path: Path, damage) -> tuple[Path, Path]:
    """A good snapshot, then a newer one (more versions) that `damage` spoils."""
    good = snapshots.listing(root)[0]
    with Store.open(root, index=tmp_path / "publisher2.sqlite") as store:
        store.add_version("bert", files={"w.bin": b"newer"})
    assert host(root, tmp_path / "publisher", "index", "publish").returncode == 0
    newest = snapshots.listing(root)[0]
    assert newest.path != good.path
    return good.path, damage(newest.path)


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    os.chmod(path, 0o644)
    path.write_bytes(data[: len(data) // 2])
    return path


def _flip(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))
    return path


def _newer_schema(path: Path) -> Path:
    schema_, position, digest = path.name.split(".")[0].split("-")
    newer = path.with_name(f"{schema.SCHEMA_VERSION + 1}-{int(position) + 1000}-{digest}"
                           ".sqlite.gz")
    path.rename(newer)
    return newer


@pytest.mark.parametrize("damage, why", [(_truncate, "truncated"),
                                         (_flip, "digest|cannot be read"),
                                         (_newer_schema, "newer than this modelyard")])
def test_a_bad_snapshot_is_skipped_with_a_warning(published: Path, tmp_path: Path, damage,
                                                  why: str) -> None:
    import re

    root = published
    good, bad = _older_good_and(root, tmp_path, damage)
    new_host = tmp_path / "new-host"
    out = host(root, new_host, "ls", "--json", "--limit", "0")
    assert out.returncode == 0, out.stderr
    warning = out.stderr
    assert str(bad) in warning and re.search(why, warning), warning
    status = _status(root, new_host)
    assert status["snapshot"] == good.name  # the next older one
    assert any(str(bad) in w for w in status["skipped_at_restore"])
    assert answers(root, new_host) == truth(root, tmp_path)  # caught up past it
    assert not [p for p in new_host.rglob(".tmp-*")]  # the rejected copy is gone


def test_every_snapshot_bad_means_a_full_build(published: Path, tmp_path: Path) -> None:
    root = published
    _truncate(snapshots.listing(root)[0].path)
    new_host = tmp_path / "new-host"
    assert answers(root, new_host) == truth(root, tmp_path)
    assert _status(root, new_host)["source"] == "records"


def test_an_unverified_copy_is_not_published_again(published: Path, tmp_path: Path) -> None:
    new_host = tmp_path / "new-host"
    refused = host(published, new_host, "index", "publish")
    assert refused.returncode == 1 and "index verify" in refused.stderr
    assert len(snapshots.listing(published)) == 1
    forced = host(published, new_host, "index", "publish", "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["versions"] == 18


def test_pruning_keeps_the_newest_and_the_recently_superseded(published: Path,
                                                              tmp_path: Path) -> None:
    root = published
    publisher = tmp_path / "publisher"
    for i in range(3):
        with Store.open(root, index=tmp_path / "w.sqlite") as store:
            store.add_version("bert", files={"w.bin": f"more-{i}".encode()})
        assert host(root, publisher, "index", "publish",
                    MODELYARD_SNAPSHOT_KEEP="2").returncode == 0
    assert len(snapshots.listing(root)) == 4  # superseded too recently to remove
    out = host(root, publisher, "index", "prune", "--json", MODELYARD_SNAPSHOT_KEEP="2",
               MODELYARD_SNAPSHOT_KEEP_SECONDS="0")
    assert len(json.loads(out.stdout)["pruned"]) == 2
    left = snapshots.listing(root)
    assert [s.info["versions"] for s in left] == [21, 20]
    assert sorted(os.listdir(snapshots.folder(root))) == sorted(
        [s.name for s in left] + [s.name + ".json" for s in left])


def test_the_watcher_publishes_when_due(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with Store.init(root) as store:
        _populate(store, ("bert",), 3)
    env = dict(os.environ, MODELYARD_SNAPSHOT_EVERY_CHANGES="1",
               MODELYARD_CACHE_DIR=str(tmp_path / "watcher"))
    watcher = subprocess.Popen([sys.executable, "-m", "modelyard.app.cli.main", "--store",
                                str(root), "watch"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not snapshots.listing(root) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        watcher.terminate()
        log = watcher.communicate(timeout=30)[0]
    [snap] = snapshots.listing(root)
    assert snap.info["versions"] == 3 and "published index snapshot" in log, log


def test_settings_come_from_the_store_then_the_environment(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    config = {"settings": {"snapshot_keep": 5, "snapshot_restore": False}}
    assert snapshots.setting(config, "snapshot_keep") == 5
    assert snapshots.setting(config, "snapshot_restore") is False
    assert snapshots.setting({}, "snapshot_every_changes") == 10_000
    monkeypatch.setenv("MODELYARD_SNAPSHOT_KEEP", "7")
    assert snapshots.setting(config, "snapshot_keep") == 7


def test_the_check_of_a_copied_index_is_shown_as_it_goes(published: Path,
                                                         tmp_path: Path) -> None:
    """Not checked yet, checking (a real verifier paused after its first model), stopped
    (that verifier killed), then resumed and verified: `index status` says each, and the
    app's status line too."""
    root, new_host, pauses = published, tmp_path / "new-host", tmp_path / "pauses"
    pauses.mkdir()
    answers(root, new_host)  # seeded from the snapshot; verify=off: not checked
    assert _status(root, new_host)["verify"]["state"] == "pending"
    environ = dict(os.environ, MODELYARD_CACHE_DIR=str(new_host),
                   MODELYARD_PAUSE_AT="verify.saved", MODELYARD_PAUSE_DIR=str(pauses))
    verifier = subprocess.Popen([sys.executable, "-m", "modelyard.app.cli.main", "--store",
                                 str(root), "index", "verify"], env=environ,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        flag = pauses / "verify.saved.paused"
        deadline = time.monotonic() + 60
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert flag.exists(), "the verifier never reached its first save"
        check = _status(root, new_host)["verify"]
        assert (check["state"], check["models_checked"], check["models_total"]) == (
            "verifying", 1, 3)
    finally:
        verifier.kill()
        verifier.wait()
    assert _status(root, new_host)["verify"]["state"] == "stopped"
    text = host(root, new_host, "index", "status").stdout
    assert "verified   stopped (1 of 3 models)" in text and "index verify` resumes" in text
    index_path = Path(_status(root, new_host)["index"])
    from modelyard.app.index_progress import snapshot_line

    with Store.open(root, index=index_path) as store:
        assert snapshot_line(store.snapshot_check()) == \
            "snapshot index check stopped at 1/3 (index verify)"
    done = host(root, new_host, "index", "verify", "--json")
    assert json.loads(done.stdout)["state"] == "verified"
    assert _status(root, new_host)["verify"]["state"] == "verified"


async def test_the_app_status_line_says_a_copied_index_is_not_checked_yet(
        published: Path, tmp_path: Path) -> None:
    from explorer_helpers import app_for, export_text, settle

    answers(published, tmp_path / "new-host")
    index_path = Path(_status(published, tmp_path / "new-host")["index"])
    with Store.open(published, index=index_path) as store:
        app = app_for(store, live=True)  # a live app catches up, and looks at the check
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            assert "snapshot index not checked yet" in export_text(app)


@pytest.mark.parametrize("far", [True, False], ids=["far-behind", "near"])
def test_an_index_far_behind_starts_again_from_a_newer_snapshot(tmp_path: Path,
                                                                 far: bool) -> None:
    """A host whose index is `snapshot_reseed_changes` writes behind the store (set low
    here) takes a newer snapshot instead of reading every record since, then catches up
    and answers as a full reindex does; a host only a little behind just catches up."""
    root, old_host = tmp_path / "store", tmp_path / "old-host"
    with Store.init(root) as store:
        _populate(store, ("bert",), n=2)
    answers(root, old_host)  # the old host indexes the store as it was
    with Store.open(root, index=tmp_path / "w.sqlite") as store:
        _populate(store, ("resnet", "gpt"), n=5)
    assert host(root, tmp_path / "publisher", "index", "publish").returncode == 0
    with Store.open(root, index=tmp_path / "w.sqlite") as store:
        store.add_version("late", files={"w.bin": b"after the snapshot"})
    env = {"MODELYARD_SNAPSHOT_RESEED_CHANGES": "5" if far else "100000"}
    got = answers(root, old_host, **env)
    assert got == truth(root, tmp_path)
    status = json.loads(host(root, old_host, "index", "status", "--json", **env).stdout)
    if far:
        assert status["source"].startswith("snapshot ")
        assert status["verify"]["state"] == "pending"  # verify=off here: checked later
    else:
        assert status["source"] == "records"


def test_a_damaged_snapshot_is_not_taken_by_a_host_far_behind(tmp_path: Path) -> None:
    """The newest snapshot is truncated: the host far behind says so once, catches up from
    its own index (the same answers), and does not copy that snapshot again at every
    catch-up."""
    root, old_host = tmp_path / "store", tmp_path / "old-host"
    with Store.init(root) as store:
        _populate(store, ("bert",), n=2)
    answers(root, old_host)
    with Store.open(root, index=tmp_path / "w.sqlite") as store:
        _populate(store, ("resnet", "gpt"), n=5)
    assert host(root, tmp_path / "publisher", "index", "publish").returncode == 0
    [snap] = [p for p in (root / "index" / "snapshots").iterdir() if p.name.endswith(".gz")]
    data = snap.read_bytes()
    os.chmod(snap, 0o644)
    snap.write_bytes(data[: len(data) // 2])
    env = {"MODELYARD_SNAPSHOT_RESEED_CHANGES": "5"}
    first = host(root, old_host, "ls", "--json", "--limit", "0", **env)
    assert first.returncode == 0 and "skipped the index snapshot" in first.stderr
    assert answers(root, old_host, **env) == truth(root, tmp_path)
    again = host(root, old_host, "ls", "--json", "--limit", "0", **env)
    assert "skipped the index snapshot" not in again.stderr  # not copied again
    status = json.loads(host(root, old_host, "index", "status", "--json", **env).stdout)
    assert status["source"] == "records"


def test_a_snapshot_that_cannot_be_linked_says_why_and_leaves_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cleanup once called a helper that no longer existed: an AttributeError hid the
    disk's error and the compressed temp file stayed (found by mypy); a failing link of the
    sidecar left it too. The links fail with EIO at the system call (MODELYARD_IO_FAULT)."""
    root = tmp_path / "store"
    with Store.init(root, index=tmp_path / "index.sqlite") as store:
        _populate(store, ("bert",), 2)
        monkeypatch.setenv("MODELYARD_IO_FAULT", f"link:EIO:{snapshots.SUFFIX}")
        with pytest.raises(StorageError, match="filesystem failed"):
            snapshots.publish(store, force=True)
    assert not [p.name for p in snapshots.folder(root).iterdir()
                if p.name.startswith(atomic.TEMP_PREFIX)]
