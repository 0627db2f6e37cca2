"""The compiler's two forms of one condition, over a broad corpus of queries.

`compile_query` gives conditions on side tables as sets (`v.id IN (SELECT version_id FROM t
WHERE ...)`); `compile_parts` gives the planner (store/index/search.py) each ANDed condition
as a test of the one version at hand (`EXISTS (SELECT 1 FROM t WHERE version_id = v.id
...)`) plus the set to drive from. The planner's speed rests on the shape of those tests, and
its answers on both forms finding the same versions: both are checked here for every query
of the corpus (the query tests' strings, MLflow's search filters, the README's examples and
a seeded sample of the grammar), on a small store built through the public API.
"""

from __future__ import annotations

import ast
import json
import random
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.disk.layout import numbered_files
from modelyard.store.errors import QueryError
from modelyard.store.query import compile_query, policy_states
from modelyard.store.query.compiler import WORD_TEST, compile_parts

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
NOW = int(time.time() * 1000)
# tables whose per-row test must look at the version's own rows, never build a set
ROW_TABLES = ("metrics", "params", "tags", "datasets", "parents", "policy_results",
              "run_fields")


# -- the corpus -----------------------------------------------------------------------------------


def _test_strings() -> list[str]:
    """Every string literal of the query tests: the queries they use, and more (messages,
    SQL fragments), which compile as free text or are refused; both are worth compiling."""
    found: list[str] = []
    for path in sorted(TESTS.glob("test_query*.py")) + [TESTS / "test_nan_metrics.py"]:
        if path.name == Path(__file__).name:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append(node.value)
    return found


def _mlflow_filters() -> list[str]:
    """MLflow's own search filters, their run placeholders filled with made-up values."""
    data = json.loads((TESTS / "mlflow_real" / "search_filters.json").read_text())
    fill = {"r1": "0123abcd", "r1_artifact_uri": "file:///tmp/mlruns/0/0123abcd/artifacts",
            "r1_name": "run-one"}
    return [re.sub(r"\{(\w+)\}", lambda m: fill.get(m[1], m[0]), f["filter"])
            for f in data["filters"]]


def _readme_examples() -> list[str]:
    """The query language's example block: each run of two spaces separates examples."""
    text = (REPO / "README.md").read_text()
    block = text.split("## The query language", 1)[1].split("```", 2)[1]
    return [part for line in block.splitlines() for part in re.split(r"\s{2,}", line.strip())
            if part]


LEAVES = [
    "metrics.acc > 0.9", "metrics.acc != 0.8", "metrics.acc = nan", "metrics.acc != nan",
    "metrics.acc < inf", "metrics.acc IN (nan, 0.92)", "metrics.acc NOT IN (nan)",
    "metrics.acc NOT IN (0.8, 0.92)", "metrics.acc BETWEEN 0.5 AND 0.9",
    "metrics.acc NOT BETWEEN 0.5 AND 0.9", "metrics.acc = 0.85..1", "metrics.acc != 0.85..1",
    "metrics.acc IS NULL", "metrics.`f1-score` IS NOT NULL", "metrics.loss <= 0.5",
    "params.lr > 0.005", "params.lr = '0.01'", "params.lr = 0.01", "params.lr IN (0.001, 'auto')",
    "params.lr NOT IN (0.001, 'auto')", "params.optimizer IN ('adam', 'sgd')",
    "params.optimizer NOT IN ('adam')", "params.lr BETWEEN 0.001 AND 0.1",
    "params.optimizer BETWEEN 'a' AND 'b'", "params.optimizer LIKE 'a%'",
    "params.optimizer NOT ILIKE 'A%'", "params.optimizer GLOB 's*'", "params.nested.lr < 1",
    "tags.env = 'prod'", "tags.env != 'dev'", "tags.env ILIKE 'PROD'", "tags.env IN ('dev', 'x')",
    "tags.env NOT LIKE 'p%'", 'tags."mlflow.user" = \'carol\'', "tags.env IS NULL",
    "datasets.name = 'imagenet'", "datasets.train.name = 'imagenet'", "datasets.name != 'squad'",
    "datasets.digest != 'sha256:aa'", "datasets.role IN ('eval', 'test')",
    "datasets.eval.digest IS NOT NULL", "dataset:imagenet", "dataset:image*", "has:dataset",
    "has:datasets.eval.name", "policy.serving = pass", "policy.serving = fail",
    "policy.card != pass", "policy:violation", "policy:failing", "policy:warning",
    "policy:passing", "policy:unchecked", "run_id = 'aaa111'", "run_id IN ('aaa111', 'x')",
    "run_name LIKE 'lr-%'", "source_path IS NULL", "artifact_uri IS NOT NULL",
    "created > -7d", "created = -30d..-1d", "created != 2026-01-31", "created IN (2026-01-31)",
    "created NOT IN (2026-01-31, 2026-02-01)", "created BETWEEN 2020-01-01 AND 2030-01-01",
    "created NOT BETWEEN 2020-01-01 AND 2030-01-01", "status = 'FINISHED'",
    "status IN ('ready', 'FAILED')", "user != 'nobody'", "model:resnet*", "model:resnet:2",
    "model:resnet@champion", 'model:"resnet[/bold]"', "version >= 2", "size > 0",
    "deprecated = true", "is:latest", "is:pickle", "has:metrics.acc", "has:params.lr",
    "has:tags.env", "has:alias", "has:parent", "has:policy.serving", "has:run.run_id",
    "has:tags.note", "has:datasets.digest", "@champion", "@stable", "parent:resnet:1",
    "parent:resnet", "parent:bert-base-uncased", "resn", "RESNET", "transformer",
    '"residual network"', "gpt*", "résumé", "$$$", "o'neil", '"a" OR "b\' ( ) * : ^ NEAR"',
]


def _sampled(seed: int, count: int) -> list[str]:
    """Leaves combined with AND, OR, NOT and juxtaposition, a few levels deep."""
    rng = random.Random(seed)

    def tree(depth: int) -> str:
        if depth == 0 or rng.random() < 0.35:
            return rng.choice(LEAVES)
        kids = [tree(depth - 1) for _ in range(rng.randint(2, 3))]
        shape = rng.choice(["and", "or", "not", "juxtapose", "nested"])
        if shape == "not":
            return f"NOT ({kids[0]})"
        if shape == "juxtapose":
            return " ".join(f"({k})" for k in kids)
        if shape == "nested":
            return f"({kids[0]}) AND ({' OR '.join(kids[1:])})"
        return f" {shape.upper()} ".join(f"({k})" for k in kids)

    return [tree(3) for _ in range(count)]


def corpus() -> list[str]:
    """The queries, once each, in a stable order."""
    queries = [*_test_strings(), *_mlflow_filters(), *_readme_examples(), *LEAVES,
               *_sampled(seed=20260202, count=400)]
    return list(dict.fromkeys(queries))


def _compiles(text: str) -> bool:
    try:
        compile_query(text, now_ms=NOW)
    except QueryError:
        return False
    return True


CORPUS = [q for q in corpus() if _compiles(q)]


def test_the_corpus_is_broad() -> None:
    """Every node kind, and both forms, are exercised many times over."""
    assert len(CORPUS) > 800
    tests = [c.test for q in CORPUS for c in compile_parts(q, now_ms=NOW).conjuncts]
    for table in (*ROW_TABLES, "versions_fts", "policy_checks"):
        assert sum(f"EXISTS (SELECT 1 FROM {table} WHERE" in t for t in tests) >= 3, table
    assert sum(t == WORD_TEST for t in tests) >= 10
    assert sum("v.id IN (SELECT version_id FROM aliases" in t for t in tests) >= 3
    assert sum("v.id NOT IN (SELECT version_id FROM aliases" in t for t in tests) >= 1


# -- the shape of the per-row form ----------------------------------------------------------------

# (query, the per-row test of its one condition, the set it drives from)
FORMS: list[tuple[str, str, str | None]] = [
    ("metrics.acc > 0.9",
     "EXISTS (SELECT 1 FROM metrics WHERE version_id = v.id AND key = ? AND +(value > ?))",
     "SELECT version_id FROM metrics WHERE key = ? AND value > ?"),
    ("created = 2026-01-31 AND metrics.acc IN (nan, 0.9)",  # the second condition
     "EXISTS (SELECT 1 FROM metrics WHERE version_id = v.id AND key = ? AND "
     "+(((value IN (?)) OR value IS NULL)))",
     "SELECT version_id FROM metrics WHERE key = ? AND ((value IN (?)) OR value IS NULL)"),
    ("metrics.acc IS NULL",
     "NOT (EXISTS (SELECT 1 FROM metrics WHERE version_id = v.id AND +(key = ?)))", None),
    ("metrics.acc = 0.8 OR tags.env = 'dev'",
     "EXISTS (SELECT 1 FROM metrics WHERE version_id = v.id AND key = ? AND +(value = ?)) OR "
     "EXISTS (SELECT 1 FROM tags WHERE version_id = v.id AND key = ? AND +(value = ?))", None),
    ("has:metrics.acc",
     "EXISTS (SELECT 1 FROM metrics WHERE version_id = v.id AND +(key = ?))",
     "SELECT version_id FROM metrics WHERE key = ?"),
    ("datasets.train.name = 'imagenet'",
     "EXISTS (SELECT 1 FROM datasets WHERE version_id = v.id AND +(role = ? AND name = ?))",
     "SELECT version_id FROM datasets WHERE role = ? AND name = ?"),
    ("has:parent", "EXISTS (SELECT 1 FROM parents WHERE version_id = v.id)",
     "SELECT version_id FROM parents"),
    ("policy.serving = fail",
     "EXISTS (SELECT 1 FROM policy_results WHERE version_id = v.id AND "
     "+(rule = ? AND status = ?))",
     "SELECT version_id FROM policy_results WHERE rule = ? AND status = ?"),
    ("policy:failing",
     "EXISTS (SELECT 1 FROM policy_checks WHERE version_id = v.id AND +(rules > 0 AND "
     "failing > 0 AND version_id NOT IN (SELECT version_id FROM alias_checks WHERE "
     "violation != '')))",
     "SELECT version_id FROM policy_checks WHERE rules > 0 AND failing > 0 AND version_id "
     "NOT IN (SELECT version_id FROM alias_checks WHERE violation != '')"),
    ("policy:violation", "v.id IN (SELECT version_id FROM alias_checks WHERE violation != '')",
     "SELECT version_id FROM alias_checks WHERE violation != ''"),
    ("@champion", "v.id IN (SELECT version_id FROM aliases WHERE alias = ?)",
     "SELECT version_id FROM aliases WHERE alias = ?"),
    ("NOT @champion", "v.id NOT IN (SELECT version_id FROM aliases WHERE alias = ?)", None),
    ('"residual network"',
     "EXISTS (SELECT 1 FROM versions_fts WHERE rowid = v.id AND versions_fts MATCH ?)",
     "SELECT rowid FROM versions_fts WHERE versions_fts MATCH ?"),
    ("resnet", WORD_TEST, "SELECT rowid FROM versions_fts WHERE versions_fts MATCH ?"),
    ("run_id IN ('a', 'b')",
     "EXISTS (SELECT 1 FROM run_fields WHERE version_id = v.id AND key = ? AND "
     "+(value IN (?, ?)))",
     "SELECT version_id FROM run_fields WHERE key = ? AND value IN (?, ?)"),
    ("user = 'bob'", "v.user = ?", "SELECT v.id FROM versions v WHERE v.user = ?"),
]


@pytest.mark.parametrize("state", [s for s in policy_states.STATES if s != "unchecked"])
def test_policy_states_are_the_sets_policy_states_defines(state: str) -> None:
    [only] = compile_parts(f"policy:{state}", now_ms=NOW).conjuncts
    if state == "violation":
        assert only.driver == policy_states.VIOLATED
    else:
        assert only.driver == ("SELECT version_id FROM policy_checks WHERE "
                               + policy_states.checked_where(state))


@pytest.mark.parametrize(("query", "test", "driver"), FORMS)
def test_per_row_forms(query: str, test: str, driver: str | None) -> None:
    last = compile_parts(query, now_ms=NOW).conjuncts[-1]
    assert last.test == test
    assert last.driver == driver


def _per_row_shape(query: str) -> None:
    parts = compile_parts(query, now_ms=NOW)
    for c in parts.conjuncts:
        for table in ROW_TABLES:
            assert f" IN (SELECT version_id FROM {table}" not in c.test, c.test
        assert "IN (SELECT rowid" not in c.test, c.test
        for exists in re.finditer(r"EXISTS \(SELECT 1 FROM (\w+) WHERE (\w+) = v\.id", c.test):
            assert exists[2] == ("rowid" if exists[1] == "versions_fts" else "version_id")
        assert c.test.count("EXISTS (") == len(re.findall(r"EXISTS \(SELECT 1 FROM \w+ WHERE "
                                                          r"\w+ = v\.id\b", c.test))
        for sql, params in ((c.test, c.params), (c.driver or "", c.driver_params),
                            (c.floor or "", c.floor_params)):
            assert sql.count("?") == len(params), (sql, params)
    assert parts.where.count("?") == len(parts.params)


def test_per_row_tests_look_at_one_version() -> None:
    """A per-row test never builds the set of a side table's matches, every EXISTS seeks the
    version's own rows, and each form binds exactly its own parameters. (One test over the
    corpus rather than one per query: a thousand tests would spend minutes on fixtures.)"""
    _each(CORPUS, _per_row_shape)


def _each(queries: list[str], check: Callable[[str], None]) -> None:
    """Run `check` on every query; fail with each query that failed and why."""
    failed = []
    for query in queries:
        try:
            check(query)
        except AssertionError as error:
            failed.append(f"{query!r}: {error}")
    assert not failed, f"{len(failed)} of {len(queries)} queries:\n" + "\n".join(failed[:20])


# -- both forms find the same versions ------------------------------------------------------------

POLICY = {"rules": {"serving": {"require": ["signature"]},
                    "card": {"blocking": False, "require": ["description"]}},
          "aliases": {"production": ["serving"], "canary": ["serving"]}}
SIG = {"signature": {"inputs": [{"name": "x", "type": "double"}]}}


def _build(root: Path) -> Store:
    """Versions with every kind of side row, several rows per version where a table allows
    it (two datasets, two parents, two aliases, two gate violations)."""
    index = root / "index.db"
    store = Store.init(root / "store", index=index)
    store.add_version("early", files={"w.bin": b"0"})  # checked by no policy: unchecked
    store.set_policy(POLICY, recheck=False)
    store.add_version(
        "resnet", description="baseline residual network", serving=SIG,
        metrics={"acc": 0.8, "loss": 0.5}, tags={"env": "Prod"},
        params={"lr": 0.01, "optimizer": "adam", "nested": {"lr": 0.1}},
        datasets=[{"role": "train", "name": "imagenet", "digest": "sha256:aa"}],
        origin={"kind": "mlflow", "run_id": "aaa111", "run_name": "lr-base",
                "source": "models:/m-1"}, files={"w.bin": b"1"})
    store.add_version(
        "resnet", metrics={"acc": 0.92}, tags={"env": "prod"},
        params={"lr": 0.001, "optimizer": "sgd"},
        datasets=[{"role": "train", "name": "imagenet", "digest": "sha256:bb"},
                  {"role": "eval", "name": "squad", "digest": "sha256:cc"}],
        parents=["resnet:1", "bert-base-uncased"], files={"w.bin": b"2"},
        origin={"kind": "mlflow", "run_id": "bbb222", "run_name": "lr-tuned"})
    store.add_version(
        "bert", description="fine-tuned transformer", serving=SIG,
        metrics={"acc": float("nan"), "f1-score": 0.7}, params={"lr": "auto"},
        tags={"env": "dev", "mlflow.user": "carol"},
        datasets=[{"role": "eval", "name": "squad"}], parents=["bert-base-uncased"],
        files={"w.bin": b"3"})
    store.add_version("resnet[/bold]", description="markup \x1b[31m and bidi \u202e text",
                      tags={"note": "50% off"}, files={"w.bin": b"4"})
    store.add_version("gpt", description="Résumé generator", metrics={"loss": 0.3},
                      parents=["resnet:2"], serving=SIG, files={"w.bin": b"5"})
    store.add_version("vit", serving=SIG, files={"w.bin": b"6"})  # no description: warning
    store.set_alias("resnet:1", "production")
    store.set_alias("resnet:2", "champion")
    store.set_alias("resnet:2", "stable")
    store.deprecate("bert:1", reason="old")
    folder = store.layout.events_dir("resnet")
    for alias in ("production", "canary"):  # by hand, past the gate: violations
        seq = (numbered_files(folder) or [0])[-1] + 1
        event = {"seq": seq, "type": "alias.set", "model": "resnet", "version": 2,
                 "at": "2026-01-01T00:00:00.000000Z", "user": "alice", "host": "prod-1",
                 "data": {"alias": alias, "policy_violation": ""}}
        (folder / f"{seq}.json").write_text(json.dumps(event))
    store.close()
    return Store.open(root / "store", index=index)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("per-row")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MODELYARD_CACHE_DIR", str(root / "cache"))
        env.setenv("HOME", str(root))
        store = _build(root)
    yield store
    store.close()


def _ids(conn: sqlite3.Connection, where: str, params: list[object]) -> list[int]:
    return [r[0] for r in conn.execute(f"SELECT v.id FROM versions v WHERE {where}", params)]


def test_the_store_has_what_the_corpus_looks_for(built: Store) -> None:
    assert {v.policy_state for v in built.search("", limit=None)} == {
        "passing", "warning", "failing", "violation", "unchecked"}
    assert len(built.search("has:alias AND has:parent AND dataset:squad")) == 1


def test_a_count_names_each_version_once(built: Store) -> None:
    """resnet:2 has three aliases and two gate violations: one version all the same."""
    assert built.count("has:alias") == built.count("policy:violation") == 1
    assert built.count("has:alias OR policy:violation") == 1


def _same_versions(store: Store, query: str) -> None:
    conn = store.index.conn
    plain = compile_query(query, now_ms=NOW)
    expected = set(_ids(conn, plain.where, plain.params))
    parts = compile_parts(query, now_ms=NOW)
    where = " AND ".join(f"({c.test})" for c in parts.conjuncts) or "1"
    assert set(_ids(conn, where, [p for c in parts.conjuncts for p in c.params])) == expected
    for c in parts.conjuncts:
        alone = set(_ids(conn, c.test, c.params))
        if c.driver:
            driven = [r[0] for r in conn.execute(c.driver, c.driver_params)]
            assert set(driven) == alone, c.driver
            if c.distinct:
                assert len(driven) == len(set(driven)), ("repeats", c.driver)
        if c.floor:
            assert {r[0] for r in conn.execute(c.floor, c.floor_params)} <= alone
    assert {v.id for v in store.search(query, limit=None)} == expected, "planner, all"
    assert {v.id for v in store.search(query, limit=2)} <= expected, "planner, a page"
    assert store.count(query) == len(expected), "count"


def test_both_forms_find_the_same_versions(built: Store) -> None:
    """Sets, per-row tests, each condition's driver, the planner and its count agree."""
    _each(CORPUS, lambda query: _same_versions(built, query))
