"""Policies in the store: write-once versions, checks at ingest and after every policy
change, results as events that the index folds and `reindex` rebuilds, and `policy:`
queries over them."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import yaml

from modelyard.store import QueryError, Store

POLICY = {"rules": {
    "serving": {"description": "safe to serve", "applies_to": {"models": ["churn-*"]},
                "formats": ["onnx"], "thresholds": ["metrics.auc >= 0.85"]},
    "card": {"blocking": False, "require": ["description"]}},
    "aliases": {"production": ["serving"]}}
QUERIES = ("policy:failing", "policy:passing", "policy:warning", "policy:unchecked",
           "policy.serving = pass", "policy.serving = fail", "policy.card != pass",
           "policy.serving in (pass, fail)", "has:policy.serving", "policy.serving is null",
           "not policy.serving = pass", "policy:failing or policy.card = fail")


def _onnx(store: Store, model: str, auc: float, **card):
    return store.add_version(model, metrics={"auc": auc}, files={"model.onnx": b"\x08\x01"},
                             **card)


def _pickle(store: Store, model: str, auc: float, **card):
    return store.add_version(model, metrics={"auc": auc}, files={"model.pkl": b"\x80\x04x."},
                             **card)


def _answers(store: Store) -> dict[str, list[str]]:
    return {q: sorted(v.ref for v in store.search(q, limit=None)) for q in QUERIES}


@pytest.fixture
def populated(store: Store) -> Store:
    _onnx(store, "churn-a", 0.9, description="good")  # passes both
    _pickle(store, "churn-a", 0.95, description="pickled")  # fails serving
    _onnx(store, "churn-b", 0.8)  # fails serving (auc) and card (advisory)
    store.add_version("vit", metrics={"acc": 0.7})  # only card applies: warns
    store.set_policy(POLICY)
    return store


def test_every_version_is_checked_when_a_policy_is_set_and_at_ingest(populated: Store) -> None:
    store = populated
    assert _answers(store)["policy:failing"] == ["churn-a:2", "churn-b:1"]
    new = _pickle(store, "churn-c", 0.99)  # ingested under the policy: stored, but marked
    assert new.ref == "churn-c:1" and store.policy_state(new) == "failing"
    report = store.check_results(new)
    assert not report.live and report.policy == 1
    assert report.result("serving").reasons == ["model.pkl is pickle (loading it can run code); "
                                                "allowed: onnx"]
    event = [e for e in store.history("churn-c") if e.type == "policy.checked"][-1]
    assert event.version == 1 and event.user and event.host and event.at
    assert event.data == {"policy": 1, "versions": {"1": report.stored()}}


def test_policy_queries(populated: Store) -> None:
    answers = _answers(populated)
    # one state per version, as `ls --json` labels it (store/query/policy_states.py): vit:1
    # fails only an advisory rule (warning, not passing); churn-b:1 fails a blocking one
    assert answers["policy:passing"] == ["churn-a:1"]
    assert answers["policy:warning"] == ["vit:1"]
    assert {v.ref: populated.policy_state(v) for v in populated.search(limit=None)} == {
        "churn-a:1": "passing", "churn-a:2": "failing", "churn-b:1": "failing",
        "vit:1": "warning"}
    assert answers["policy:unchecked"] == []
    assert answers["policy.serving = pass"] == ["churn-a:1"]
    assert answers["policy.serving = fail"] == ["churn-a:2", "churn-b:1"]
    assert answers["policy.card != pass"] == ["churn-b:1", "vit:1"]
    assert answers["has:policy.serving"] == answers["policy.serving in (pass, fail)"]
    assert answers["policy.serving is null"] == ["vit:1"]
    assert answers["not policy.serving = pass"] == ["churn-a:2", "churn-b:1", "vit:1"]
    assert populated.count("policy:failing and model:churn-b") == 1


@pytest.mark.parametrize("query, message", [
    ("policy:broken", "unknown policy:broken"),
    ("policy.serving = passed", "needs pass or fail"),
    ("policy.serving > pass", "compare it with = or !="),
    ("policy.serving like 'p%'", "LIKE compares text"),
    ("metrics.auc > 0 order by policy.serving", "cannot order by policy.serving"),
])
def test_policy_query_mistakes_are_reported(populated: Store, query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        populated.search(query)


def test_policies_are_write_once_versions_with_who_and_when(store: Store,
                                                           monkeypatch) -> None:
    monkeypatch.setenv("MODELYARD_USER", "alice")
    monkeypatch.setenv("MODELYARD_HOST", "gpu-a1")
    first = store.set_policy(POLICY)
    monkeypatch.setenv("MODELYARD_USER", "bob")
    second = store.set_policy({"rules": {}})
    assert (first.number, second.number) == (1, 2)
    history = store.policy_history()
    assert [(p.number, p.set_by["user"], p.set_by["host"]) for p in history] == \
        [(1, "alice", "gpu-a1"), (2, "bob", "gpu-a1")]
    assert store.policy().number == 2 and history[0].set_at <= history[1].set_at
    stored = store.root / "policies" / "1.yaml"
    assert yaml.safe_load(stored.read_text())["set_by"] == {"user": "alice", "host": "gpu-a1"}
    assert stored.stat().st_mode & 0o222 == 0  # read-only, like records
    assert history[0].rules == first.rules


def test_racing_policy_writers_get_distinct_numbers(store: Store) -> None:
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            other = Store.open(store.root, index=store.root.parent / f"idx-{i}.sqlite")
            other.set_policy({"description": f"writer {i}", "rules": {}}, recheck=False)
            other.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(p.description for p in store.policy_history()) == \
        sorted(f"writer {i}" for i in range(6))
    assert [p.number for p in store.policy_history()] == list(range(1, 7))


def test_a_policy_change_rechecks_old_versions(populated: Store) -> None:
    store = populated
    before = {e.seq for e in store.history("churn-a") if e.type == "policy.checked"}
    stricter = {**POLICY, "rules": {**POLICY["rules"], "serving": {
        **POLICY["rules"]["serving"], "thresholds": ["metrics.auc >= 0.95"]}}}
    store.set_policy(stricter)
    assert _answers(store)["policy.serving = fail"] == ["churn-a:1", "churn-a:2", "churn-b:1"]
    assert store.check_results("churn-a:1").policy == 2
    new = [e for e in store.history("churn-a")
           if e.type == "policy.checked" and e.seq not in before]
    assert len(new) == 1 and new[0].version is None  # one event for the model's versions
    assert set(new[0].data["versions"]) == {"1", "2"} and new[0].data["policy"] == 2
    assert store.recheck() == 0  # nothing is stale any more


def test_reindex_from_files_gives_the_same_policy_answers(populated: Store,
                                                          tmp_path: Path) -> None:
    store = populated
    store.tag("vit:1", "stage", "production")
    expected = _answers(store)
    store.reindex()
    assert _answers(store) == expected
    fresh = Store.open(store.root, index=tmp_path / "fresh.sqlite")  # another host
    assert _answers(fresh) == expected
    assert fresh.check_results("churn-b:1").to_dict() == \
        store.check_results("churn-b:1").to_dict()
    fresh.close()


def test_an_index_from_before_policies_is_migrated_and_replays_events(populated: Store) -> None:
    """An index of schema 1 that met `policy.checked` events (written by a newer modelyard
    on another host) recorded them as problems; migration 2 replays them."""
    expected = _answers(populated)
    path = populated.index_path
    populated.close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE policy_checks; DROP TABLE policy_results;"
                       "UPDATE meta SET value = '1' WHERE key = 'schema_version';")
    conn.execute("INSERT INTO problems VALUES ('/x/models/churn-a/events/1.json', 'unknown')")
    conn.commit()
    conn.close()
    again = Store.open(populated.root)
    assert _answers(again) == expected and again.problems() == []
    again.close()


def test_a_tag_change_rechecks_the_version(store: Store) -> None:
    store.set_policy({"rules": {"prod": {"applies_to": {"tags": {"stage": "prod*"}},
                                         "files": ["README.md"]}}})
    v = store.add_version("m", metrics={"a": 1.0})
    assert store.policy_state(v) == "unchecked"
    store.tag(v.ref, "stage", "production")
    assert store.policy_state(v) == "failing"
    store.untag(v.ref, "stage")
    assert store.policy_state(v) == "unchecked"


def test_a_description_change_rechecks_the_version(store: Store) -> None:
    store.set_policy({"rules": {"card": {"require": ["description"]}}})
    v = store.add_version("m", metrics={"a": 1.0})
    assert store.policy_state(v) == "failing"
    store.describe(v.ref, "now documented")
    assert store.policy_state(v) == "passing"


def test_checking_again_writes_nothing_new(populated: Store) -> None:
    count = len(populated.history("churn-a"))
    report = populated.check("churn-a:2")
    assert report.live and report.state == "failing"
    assert len(populated.history("churn-a")) == count
    assert set(report.to_dict()) == {"ref", "policy", "state", "checked_at", "live", "rules"}
    rule = report.to_dict()["rules"][0]
    assert set(rule) == {"rule", "status", "blocking", "description", "reasons", "checks"}
    assert all(set(c) == {"check", "ok", "message"} for c in rule["checks"])


def test_stale_results_are_caught_up_by_recheck(populated: Store) -> None:
    populated.set_policy({"rules": {"any": {"metrics": ["auc"]}}}, recheck=False)
    assert populated.check_results("vit:1").policy == 1
    assert populated.recheck() == 4
    assert populated.check_results("vit:1").result("any").status == "fail"
    assert populated.recheck() == 0 and populated.recheck(all_versions=True) == 4


def test_no_policy_means_no_checks(store: Store) -> None:
    v = store.add_version("m", metrics={"a": 1.0})
    assert store.policy() is None and store.check(v).to_dict()["state"] == "unchecked"
    assert [e.type for e in store.history("m")] == ["version.created"]
    assert store.search("policy:unchecked")[0].ref == "m:1"


def test_a_damaged_policy_file_never_loses_a_version(store: Store) -> None:
    store.set_policy(POLICY)
    (store.root / "policies" / "2.yaml").write_text("rules: [not, a, mapping]\n")
    v = _onnx(store, "churn-z", 0.99)
    assert store.get(v.ref).ref == "churn-z:1"
    assert store.policy_state(v) == "unchecked"
