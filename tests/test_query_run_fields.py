"""MLflow's run attributes on imported versions: `run_id`, `run_id IN (...)`, `run_name` and
`source_path` answer from the run behind the version (the index's run_fields table), and a
version with no MLflow run never matches them."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.init(tmp_path / "store")
    for i, (run_id, name) in enumerate((("aaa111", "lr-base"), ("bbb222", "lr-tuned"))):
        store.add_version("churn", params={"i": i}, files={"w.bin": bytes([i])},
                          origin={"kind": "mlflow", "run_id": run_id, "run_name": name,
                                  "source": f"models:/m-{i}"})
    store.add_version("churn", params={"i": 9}, files={"w.bin": b"local"})  # not from MLflow
    return store


@pytest.mark.parametrize(("query", "numbers"), [
    ("attributes.run_id = 'aaa111'", [1]),
    ("run_id != 'aaa111'", [2]),
    ("run_id IN ('aaa111', 'bbb222')", [1, 2]),
    ("attributes.run_id NOT IN ('aaa111')", [2]),
    ("attributes.run_name = 'lr-tuned'", [2]),
    ("attributes.`Run name` = 'lr-base'", [1]),
    ("run_name = 'lr-base' AND run_id IN ('aaa111')", [1]),
    ("source_path LIKE 'models:/m-%'", [1, 2]),
    ("name = 'churn' and run_id = 'bbb222'", [2]),
    ("attributes.run_id IS NULL", [3]),
])
def test_run_fields_answer_as_mlflow(store: Store, query: str, numbers: list[int]) -> None:
    assert sorted(v.number for v in store.search(query, limit=None)) == numbers
    assert store.count(query) == len(numbers)


def test_a_reindex_gives_the_same_answers(store: Store) -> None:
    store.reindex()
    assert [v.number for v in store.search("run_id = 'bbb222'")] == [2]


def test_created_of_an_imported_version_is_its_runs_start(tmp_path: Path) -> None:
    store = Store.init(tmp_path / "store")
    started = "2020-01-02T03:04:05.000000Z"
    store.add_version("churn", files={"w.bin": b"1"}, origin={"kind": "mlflow", "run_id": "r"},
                      training={"started_at": started, "ended_at": "2020-01-02T04:00:00.000000Z"})
    store.add_version("local", files={"w.bin": b"2"},
                      training={"started_at": started, "ended_at": "2020-01-02T04:00:00.000000Z"})
    assert [v.ref for v in store.search("created < 2021-01-01")] == ["churn:1"]
    assert [v.ref for v in store.search("created = 2020-01-02")] == ["churn:1"]
