"""`reindex` builds a new index file and swaps it in; a catch-up inserts records in batches.

Both must give the answers the other gives, leave out exactly the records the index cannot
take (naming them in `problems`), and a failed or killed rebuild must leave the old index
answering."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.disk.atomic import TEMP_PREFIX
from modelyard.store.disk.owners import name_of
from modelyard.store.index import bulk, rebuild

QUERIES = ["", "metrics.acc > 0.5", "params.optimizer.name = 'adam'", "params.lr < 0.01",
           "tag:team", "@champion", "deprecated = true", "mixup", "order by metrics.acc desc",
           "model:bert order by params.lr"]


def _populate(store: Store) -> None:
    for m, model in enumerate(("bert", "resnet", "gpt")):
        for i in range(12):
            store.add_version(
                model, files={"w.bin": f"{model}-{i}".encode()},
                params={"lr": 0.001 * (i + 1), "optimizer": {"name": ("adam", "sgd")[i % 2],
                                                             "beta": 0.9},
                        "layers": [i, i + 1], "flag": i % 3 == 0, "note": None},
                metrics={"acc": (i + m) / 15, "loss": float("nan") if i == 5 else 1 / (i + 1)},
                tags={"team": "vision"} if i % 4 == 0 else {},
                description=f"{model} run {i}" + (" mixup" if i % 5 == 0 else ""),
                datasets=[{"role": "train", "name": f"{model}-train"}])
    store.set_alias("bert:3", "champion")
    store.tag("resnet:2", "team", "nlp")
    store.describe("gpt:4", "mixup rerun")
    store.deprecate("bert:1")


def _add_bad_records(store: Store) -> list[str]:
    """A garbled record and one SQLite refuses (a size over 64 bits) among good ones."""
    layout = store.layout
    garbled = layout.record_path("resnet", 13)
    garbled.write_bytes(b"{not json")
    good = json.loads(layout.record_path("gpt", 1).read_bytes())
    huge = dict(good, version=13, files=[dict(good["files"][0], size=2**70)])
    layout.record_path("gpt", 13).write_text(json.dumps(huge))
    after = dict(good, version=14, description="after the bad one")
    layout.record_path("gpt", 14).write_text(json.dumps(after))
    return [str(garbled), str(layout.record_path("gpt", 13))]


def _answers(store: Store) -> dict:
    out: dict = {q: [v.ref for v in store.search(q, limit=None)] for q in QUERIES}
    out["versions"] = [(v.ref, v.aliases, v.tags, v.metrics, v.description, v.deprecated,
                        v.size, v.format, v.user, v.datasets)
                       for v in store.search("", limit=None)]
    out["problems"] = sorted(path for path, _ in store.problems())
    out["keys"] = [store.keys(kind) for kind in ("metrics", "params", "tags", "aliases")]
    return out


@pytest.fixture
def populated(store: Store) -> Store:
    _populate(store)
    return store


@pytest.mark.parametrize("workers", [1, 2, "2, with a thread running"])
def test_reindex_gives_the_answers_of_a_catch_up_and_names_the_bad_records(
        populated: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        cli_env: dict[str, str], workers: int | str) -> None:
    bad = _add_bad_records(populated)
    caught_up = Store.open(populated.root, index=tmp_path / "caught-up.sqlite")
    expected = _answers(caught_up)
    assert sorted(bad) == expected["problems"]
    assert "gpt:14" in expected[""] and "gpt:13" not in expected[""]
    populated.sync()  # the batched catch-up gives the same answers as a first indexing
    assert _answers(populated) == expected
    if workers == 2:  # in a fresh process: this one may run threads, which rules out forking
        populated.close()
        copied, report = _reindex_in_a_child(populated, cli_env)
        populated = Store.open(populated.root, index=populated.index_path, sync=False)
    else:
        monkeypatch.setattr(bulk, "CHUNK", 5)
        monkeypatch.setattr(bulk, "PARALLEL_MIN", 1 if workers != 1 else 10**9)
        shards: list[str] = []
        copy_shard = bulk.copy_shard
        monkeypatch.setattr(bulk, "copy_shard", lambda conn, path: (shards.append(path),
                                                                    copy_shard(conn, path)))
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()  # the app: forking it is unsafe, so no worker processes
        try:
            found = populated.reindex()
        finally:
            stop.set()
        copied, report = len(shards), (found.versions, found.problems)
    assert copied == (8 if workers == 2 else 0)  # 39 records in chunks of 5
    assert report == (37, 2)
    assert _answers(populated) == expected
    leftovers = [n for n in os.listdir(populated.index_path.parent) if n.startswith(TEMP_PREFIX)]
    assert leftovers == []


def _reindex_in_a_child(store: Store, env: dict[str, str]) -> tuple[int, tuple[int, int]]:
    """Reindex with shard workers (chunks of 5 records) in a new single-threaded process;
    returns (shards copied, (versions, problems))."""
    script = textwrap.dedent(f"""
        from pathlib import Path
        from modelyard.store import Store
        from modelyard.store.index import bulk
        bulk.CHUNK, bulk.PARALLEL_MIN, copied = 5, 1, []
        copy_shard = bulk.copy_shard
        bulk.copy_shard = lambda conn, path: (copied.append(path), copy_shard(conn, path))
        store = Store.open({str(store.root)!r}, index=Path({str(store.index_path)!r}),
                           sync=False)
        report = store.reindex()
        print(len(copied), report.versions, report.problems)
    """)
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=120,
                          capture_output=True, text=True, check=True)
    copied, versions, problems = map(int, done.stdout.split())
    return copied, (versions, problems)


def test_a_batched_catch_up_leaves_out_only_the_record_sqlite_refuses(populated: Store,
                                                                      tmp_path: Path) -> None:
    before = len(populated.search("", limit=None))
    _add_bad_records(populated)
    report = populated.sync()
    assert (report.versions, report.problems) == (1, 2)
    assert len(populated.search("", limit=None)) == before + 1
    assert populated.get("gpt:14").description == "after the bad one"
    assert populated.sync().versions == 0  # nothing is indexed twice


def test_a_failing_reindex_leaves_the_old_index_answering(populated: Store,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _answers(populated)

    def fail(*args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(bulk, "create_secondary_indexes", fail)
    with pytest.raises(sqlite3.OperationalError):
        populated.reindex()
    assert _answers(populated) == expected
    assert not [n for n in os.listdir(populated.index_path.parent) if n.startswith(TEMP_PREFIX)]


def test_a_killed_reindex_leaves_the_old_index_and_the_next_one_cleans_up(
        populated: Store, cli_env: dict[str, str]) -> None:
    expected = _answers(populated)
    populated.close()
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from modelyard.store import Store
        from modelyard.store.index import rebuild
        rebuild._fsync = lambda path: os.kill(os.getpid(), signal.SIGKILL)
        Store.open({str(populated.root)!r}, index=Path({str(populated.index_path)!r})).reindex()
    """)
    done = subprocess.run([sys.executable, "-c", script], env=cli_env, timeout=120)
    assert done.returncode == -signal.SIGKILL
    folder = populated.index_path.parent
    assert [n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX)]  # the dead one's
    store = Store.open(populated.root, index=populated.index_path)
    assert _answers(store) == expected
    store.reindex()
    assert _answers(store) == expected
    assert not [n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX)]


def test_reindex_copies_into_an_index_another_connection_holds_open(
        populated: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _answers(populated)
    copies: list[Path] = []
    copy_into = rebuild._copy_into
    monkeypatch.setattr(rebuild, "_copy_into", lambda built, index: (copies.append(index),
                                                                     copy_into(built, index)))
    other = Store.open(populated.root, index=populated.index_path, sync=False)
    assert len(other.search("", limit=None)) == 36  # its connection is open on the file
    populated.tag("gpt:2", "team", "audio")  # through the old file: `other` sees it too
    report = populated.reindex()
    assert report.versions == 36 and copies == [populated.index_path]  # not renamed away
    assert other.get("gpt:2").tags == {"team": "audio"}
    assert _answers(other) == _answers(populated)
    assert set(_answers(populated)["tag:team"]) == {*expected["tag:team"], "gpt:2"}
    other.close()


def test_reindex_replaces_a_damaged_index_file(populated: Store) -> None:
    expected = _answers(populated)
    populated.close()
    populated.index_path.write_bytes(os.urandom(8192))
    for suffix in ("-wal", "-shm"):
        Path(f"{populated.index_path}{suffix}").unlink(missing_ok=True)
    store = Store.open(populated.root, index=populated.index_path, sync=False)
    store.reindex()
    assert _answers(store) == expected


def test_reindex_and_a_first_indexing_name_each_records_own_owner(
        populated: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Login names are looked up once per uid per chunk of records: each record still
    gets its own file's owner and that owner's name. As root, some records are given to
    uids this host does not know (named by their number) and to another known one."""
    layout = populated.layout
    if os.geteuid() == 0:
        for i, uid in ((2, 54321), (3, 54321), (5, 1), (7, 54322)):
            for model in ("bert", "gpt"):
                os.chown(layout.record_path(model, i), uid, -1)
    first = Store.open(populated.root, index=tmp_path / "first.sqlite")  # one chunk
    query = ("SELECT m.name, o.number, o.uid, o.name FROM owners o "
             "JOIN models m ON m.id = o.model_id WHERE o.kind = 'v' ORDER BY 1, 2")
    rows = first.index.conn.execute(query).fetchall()
    assert len(rows) == 36
    assert [(m, n, uid, name) for m, n, uid, name in rows] == [
        (m, n, layout.record_path(m, n).stat().st_uid,
         name_of(layout.record_path(m, n).stat().st_uid)) for m, n, _, _ in rows]
    assert len({row[2] for row in rows}) == (4 if os.geteuid() == 0 else 1)
    monkeypatch.setattr(bulk, "CHUNK", 5)
    populated.reindex()
    assert populated.index.conn.execute(query).fetchall() == rows
    first.close()


def test_a_first_indexing_leaves_the_connection_as_it_found_it(populated: Store,
                                                                tmp_path: Path) -> None:
    """The index sorts run with temp files, a small page cache and helper threads (see
    bulk.create_secondary_indexes); the connection goes on with its own settings after."""
    fresh = Store.open(populated.root, index=tmp_path / "other.sqlite", sync=False)
    conn = fresh.index.conn
    settings = [conn.execute(f"PRAGMA {p}").fetchone()[0]
                for p in ("temp_store", "cache_size", "threads")]
    assert fresh.sync().versions == 36  # an empty index: loaded in one go, indexes sorted
    assert [conn.execute(f"PRAGMA {p}").fetchone()[0]
            for p in ("temp_store", "cache_size", "threads")] == settings
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            } >= {"params_key_num", "params_key_value", "metrics_key_value", "blob_refs_digest"}
    fresh.close()
