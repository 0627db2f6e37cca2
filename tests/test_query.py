"""The query language: parsing, error columns, the SQL it compiles to, and real results.

The end-to-end tests build an index by hand with the real schema, so they check what a
query returns, not just what SQL it prints.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.store.errors import QueryError
from modelyard.store.index.schema import migrate
from modelyard.store.query import (
    ATTRIBUTES,
    DEFAULT_ORDER,
    FIELD_PREFIXES,
    Ago,
    Alias,
    And,
    Between,
    Compare,
    Has,
    InList,
    Instant,
    Not,
    Or,
    Text,
    compile_query,
    parse,
)
from modelyard.store.query.parser import MAX_DEPTH

NOW = int(datetime(2026, 2, 2, tzinfo=UTC).timestamp() * 1000)
DAY = 86_400_000


# -- parsing: a table of valid queries and the tree or SQL they give -----------------------

VALID: list[tuple[str, object]] = [
    ("metrics.acc > 0.9", Compare),
    ("metric.acc >= 1", "value >= ?"),
    ("METRICS.acc < 1 AND params.lr = '0.01'", "key = ? AND value = ?"),
    ("params.lr > 0.001", "key = ? AND num > ?"),
    ("parameters.optimizer = \"adam\"", "value = ?"),
    ("tags.env != 'prod'", "FROM tags WHERE key = ? AND value != ?"),
    ("tag.env <> 'prod'", "value != ?"),
    ("metrics.`f1-score` >= 0.5", "metrics WHERE key = ? AND value >= ?"),
    ('tags."mlflow.user" = \'bob\'', "tags WHERE key = ?"),
    ("params.optimizer.lr = 0.1", "num = ?"),
    ("attributes.status = 'FINISHED'", "lower(v.status) = ?"),
    ("attr.user_id = 'alice'", "v.user = ?"),
    ("run.run_name LIKE 'res%'", "run_fields WHERE key = ? AND value GLOB ?"),
    ("name ILIKE 'RES%'", "v.model GLOB ?"),
    ("status IN ('FINISHED', 'FAILED')", "lower(v.status) IN (?, ?)"),
    ("status not in ('FAILED')", "lower(v.status) NOT IN (?)"),
    ("metrics.acc BETWEEN 0.8 AND 0.9", "value BETWEEN ? AND ?"),
    ("metrics.acc = 0.8..0.9", Between),
    ("metrics.acc = 0.8 .. 0.9", Between),
    ("metrics.acc = 0.8..", "value >= ?"),
    ("metrics.acc != 0.8..0.9", "NOT IN (SELECT version_id FROM metrics WHERE key = ? AND value"),
    ("a OR b AND c", Or),
    ("NOT a AND b", And),
    ("NOT (a OR b)", Not),
    ("NOT NOT a", Text),
    ("resn", Text),
    ('"exact phrase"', Text),
    ("@champion", Alias),
    ("model:resnet*", "v.model GLOB ?"),
    ('model:"resnet[/bold]"', "v.model = ?"),
    ("model:not-a-keyword", "v.model = ?"),
    ("model:resnet:3", "v.model = ? AND v.number = ?"),
    ("user:alice host:gpu1", "v.user = ? AND v.host = ?"),
    ("format:safetensors framework:sklearn", "v.format = ? AND v.framework = ?"),
    ("is:deprecated", "v.deprecated = ?"),
    ("is:pickle", "v.has_pickle = ?"),
    ("is:latest", "max(number)"),
    ("has:metrics.auc", Has),
    ("parent:bert:3", "parents WHERE model = ? AND number = ?"),
    ("dataset:imagenet", "datasets WHERE name = ?"),
    ("datasets.digest = 'sha256:ab'", "datasets WHERE digest = ?"),
    ("datasets.context = 'train'", "datasets WHERE role = ?"),
    ("datasets.train.name = 'x'", "datasets WHERE role = ? AND name = ?"),
    ("created > -7d", "v.created_ms > ?"),
    ("created_at >= 2026-01-31", "v.created_ms >= ?"),
    ("start_time < 1700000000000", "v.started_ms < ?"),
    ("ended <= '2026-01-31T10:00:00Z'", "v.ended_ms < ?"),
    ("size > 10MB", "v.size > ?"),
    ("param_count >= 7B", "v.param_count >= ?"),
    ("duration < 90m", "v.duration_s < ?"),
    ("deprecated = false", "v.deprecated = ?"),
    ("metrics.acc IS NULL", "v.id NOT IN (SELECT version_id FROM metrics WHERE key = ?)"),
    ("tags.x is not null", "v.id IN (SELECT version_id FROM tags WHERE key = ?)"),
    ("in like between", "MATCH ?"),
    ("resnet order", "MATCH ?"),
    ("  ", "1"),
]


@pytest.mark.parametrize(("query", "expected"), VALID)
def test_valid_queries(query: str, expected: object) -> None:
    if isinstance(expected, type):
        assert isinstance(parse(query).where, expected)
    else:
        assert str(expected) in compile_query(query, now_ms=NOW).where


INVALID: list[tuple[str, int, str]] = [
    ("metrics.acc >", 13, "expected a value after '>'"),
    ("params.lr >  ", 13, "(a number or a quoted string)"),
    ("metrics.acc > abc", 14, "needs a number"),
    ("metirc.acc > 1", 0, "did you mean 'metrics.acc'?"),
    ("acc > 0.9", 0, "for a metric write metrics.acc"),
    ("attributes.usr = 'x'", 11, "did you mean 'user'?"),
    ("tags.env = 'prod", 11, "unclosed quote"),
    ("tags.`env = 1", 5, "unclosed backtick"),
    ("(a OR b", 0, "unbalanced parenthesis"),
    ("a OR b)", 6, "unbalanced parenthesis"),
    ("()", 0, "empty parentheses"),
    ("a and", 5, "expected a condition after 'and'"),
    ("or b", 0, "expected a condition before 'or'"),
    ("not", 3, "expected a condition after 'not'"),
    ("metrics.acc LIKE 'a%'", 12, "LIKE compares text"),
    ("metrics.acc", 11, "expected a comparison after 'metrics.acc'"),
    ("metrics. > 1", 8, "expected a key after 'metrics.'"),
    ("foo:bar", 0, "unknown qualifier 'foo:'"),
    ("uesr:bob", 0, "did you mean 'user:'?"),
    ("is:broken", 3, "unknown is:broken"),
    ("model:", 6, "expected a value right after 'model:'"),
    ("@", 1, "expected a value right after '@'"),
    ("status IN 'a'", 10, "expected '(' after IN"),
    ("status IN ()", 11, "at least one value"),
    ("status IN ('a' 'b')", 15, "expected ',' or ')'"),
    ("status IN ('a',", 15, "expected a value after ','"),
    ("status IN ('a'", 10, "unbalanced parenthesis"),
    ("metrics.acc BETWEEN 1 2", 22, "expected AND between"),
    ("created > yesterday", 10, "a relative time such as -7d"),
    ("created > 2026-02-30", 10, "needs a date"),
    ("size > 10XB", 7, "needs a size"),
    ("deprecated > 1", 11, "compare it with = or !="),
    ("metrics.acc > 0.8..0.9", 14, "goes after = or !="),
    ("version > 1e999", 10, "needs a number"),
    ("'phrase' = 3", 0, "cannot be compared"),
    ("> 3", 0, "needs a field on its left"),
    ("`key` = 1", 0, "needs its entity before it"),
    ("datasets.foo = 'x'", 9, "unknown dataset field"),
    ("order by", 8, "expected a field to order by"),
    ("order by datasets.name", 9, "cannot order by"),
    ("a order by metrics.acc sideways", 23, "after the order by field"),
    ("(a order by size)", 3, "expected ')'"),
    ("metrics.acc IS nothing", 15, "expected NULL or NOT NULL"),
    ("model:a@", 6, "model:NAME@alias"),
    ("parent:bert:", 7, "version number"),
    ("(" * 60 + "a" + ")" * 60, 50, "nest more than 50"),
    ("x " * 300, 512, "more than 256 conditions"),
    ("user = '\ud800'", 8, "invalid character"),
]


@pytest.mark.parametrize(("query", "position", "message"), INVALID)
def test_invalid_queries(query: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        compile_query(query, now_ms=NOW)
    assert message in caught.value.message
    assert caught.value.position == position
    assert caught.value.query == query


def test_values_are_typed_and_times_resolve_against_now() -> None:
    where = parse("created > -7d and size >= 1GiB and created = 2026-01-31").where
    assert isinstance(where, And)
    assert [item.value for item in where.items] == [  # type: ignore[union-attr]
        Ago(7 * DAY), 2**30, Instant(NOW - 2 * DAY, DAY)
    ]
    compiled = compile_query("created > -7d", now_ms=NOW)
    assert compiled.params == [NOW - 7 * DAY]
    day = compile_query("created = 2026-01-31", now_ms=NOW)
    assert day.params == [NOW - 2 * DAY, NOW - DAY]
    assert isinstance(parse("params.lr IN (0.1, 'adam')").where, InList)


def test_order_by_joins_one_alias_per_key() -> None:
    compiled = compile_query(
        "order by metrics.acc desc, params.lr, metrics.acc, tags.env asc", now_ms=NOW
    )
    assert compiled.where == "1" and compiled.params == []
    assert compiled.joins.count("LEFT JOIN") == 3
    assert compiled.joins_params == ["acc", "lr", "env"]
    assert compiled.order_by.startswith("o1.value DESC NULLS LAST, o1.version_id IS NULL, "
                                        "o2.num ASC NULLS LAST")
    assert compiled.order_by.endswith(DEFAULT_ORDER)
    assert compile_query("", now_ms=NOW).order_by == DEFAULT_ORDER


def test_completion_lists() -> None:
    assert {"metrics.", "params.", "tags.", "datasets.", "model:", "user:", "@"} <= set(
        FIELD_PREFIXES
    )
    assert {"model", "user", "created", "size", "duration"} <= set(ATTRIBUTES)


# -- end to end: real SQLite with the index schema ------------------------------------------


def _version(conn: sqlite3.Connection, vid: int, model: str, number: int, created: int,
             **columns: object) -> None:
    conn.execute("INSERT OR IGNORE INTO models(name) VALUES (?)", (model,))
    model_id = conn.execute("SELECT id FROM models WHERE name = ?", (model,)).fetchone()[0]
    row = {"id": vid, "model_id": model_id, "model": model, "number": number,
           "created_at": "", "created_ms": created, "record_path": f"{model}/{number}", **columns}
    names = ", ".join(row)
    conn.execute(f"INSERT INTO versions({names}) VALUES ({', '.join('?' * len(row))})",
                 list(row.values()))
    description = str(columns.get("description", ""))
    conn.execute("INSERT INTO versions_fts(rowid, name, description) VALUES (?, ?, ?)",
                 (vid, model, description))


def build_index() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    assert migrate(conn)
    at_noon = int(datetime(2026, 1, 31, 12, tzinfo=UTC).timestamp() * 1000)
    _version(conn, 1, "resnet", 1, NOW - 30 * DAY, user="alice", host="gpu1",
             format="safetensors", framework="torch", size=50 * 10**6, duration_s=7200,
             description="baseline residual network")
    _version(conn, 2, "resnet", 2, NOW - 3 * DAY, user="bob", host="gpu2", format="pickle",
             has_pickle=1, size=2 * 10**9, duration_s=600)
    _version(conn, 3, "bert", 1, NOW - DAY, user="alice", deprecated=1, param_count=340 * 10**6,
             description="fine-tuned transformer")
    _version(conn, 4, "resnet[/bold]", 1, at_noon, user="dave",
             description="markup \x1b[31m and bidi \u202e text")
    _version(conn, 5, "gpt", 1, NOW - 10 * DAY, param_count=1_500_000_000,
             description="Résumé generator")
    conn.executemany("INSERT INTO metrics(version_id, key, value) VALUES (?, ?, ?)", [
        (1, "acc", 0.80), (1, "loss", 0.5), (2, "acc", 0.92), (3, "acc", None),
        (3, "f1-score", 0.7), (5, "loss", 0.3),
    ])
    conn.executemany("INSERT INTO params(version_id, key, value, num) VALUES (?, ?, ?, ?)", [
        (1, "lr", "0.01", 0.01), (1, "optimizer", "adam", None), (2, "lr", "0.001", 0.001),
        (2, "optimizer", "sgd", None), (3, "lr", "auto", None),
    ])
    conn.executemany("INSERT INTO tags(version_id, key, value) VALUES (?, ?, ?)", [
        (1, "env", "Prod"), (2, "env", "prod"), (3, "env", "dev"), (3, "mlflow.user", "carol"),
        (4, "note", "50% off"), (5, "note", "50 % off_x"),
    ])
    conn.execute("INSERT INTO aliases(model_id, alias, version_id) VALUES (1, 'champion', 2)")
    conn.executemany("INSERT INTO datasets(version_id, role, name, digest) VALUES (?, ?, ?, ?)", [
        (1, "train", "imagenet", "sha256:aa"), (2, "train", "imagenet", "sha256:bb"),
        (3, "eval", "squad", ""),
    ])
    conn.executemany("INSERT INTO parents(version_id, ref, model, number) VALUES (?, ?, ?, ?)", [
        (2, "resnet:1", "resnet", 1), (3, "bert-base-uncased", "bert-base-uncased", None),
    ])
    conn.commit()
    return conn


@pytest.fixture
def index() -> Iterator[sqlite3.Connection]:
    conn = build_index()
    yield conn
    conn.close()


def run(conn: sqlite3.Connection, query: str, limit: int = 100) -> list[int]:
    c = compile_query(query, now_ms=NOW)
    sql = (f"SELECT v.id FROM versions v {c.joins} WHERE {c.where} "
           f"ORDER BY {c.order_by} LIMIT ? OFFSET ?")
    return [row[0] for row in conn.execute(sql, [*c.joins_params, *c.params, *c.order_params,
                                                 limit, 0])]


RESULTS: list[tuple[str, set[int]]] = [
    ("metrics.acc > 0.9", {2}),
    ("metrics.acc != 0.8", {2}),  # NaN (NULL) and missing keys never match
    ("NOT metrics.acc > 0.9", {1, 3, 4, 5}),  # NOT is the complement, missing keys included
    ("metrics.acc <= 0.8 OR user = 'bob'", {1, 2}),
    ("user = 'alice' OR user = 'bob' AND host = 'gpu2'", {1, 2, 3}),
    ("(user = 'alice' OR user = 'bob') AND host = 'gpu2'", {2}),
    ("(user = 'alice' OR user = 'bob') AND NOT is:deprecated", {1, 2}),
    ("tags.env LIKE 'prod'", {2}),
    ("tags.env LIKE 'P%'", {1}),
    ("tags.env ILIKE 'PROD'", {1, 2}),
    ("tags.env NOT ILIKE 'prod'", {3}),
    ("description ILIKE 'RÉSUMÉ%'", {5}),  # case folding beyond ASCII
    ("description LIKE 'résumé%'", set()),
    ("tags.env != 'dev'", {1, 2}),
    ("tags.note LIKE '50%'", {4, 5}),
    ("tags.note LIKE '50\\%%'", {4}),  # a backslash makes % literal
    ("tags.note LIKE '%\\_x'", {5}),
    ("tags.note GLOB '50[%]*'", {4}),
    ("o'neil don't", set()),  # a quote inside a word is text, not an unclosed string
    ("NOT tags.env = 'dev'", {1, 2, 4, 5}),
    ('tags."mlflow.user" = "carol"', {3}),
    ("params.optimizer IN ('adam', 'sgd')", {1, 2}),
    ("params.optimizer NOT IN ('adam')", {2}),
    ("params.lr > 0.005", {1}),
    ("params.lr = '0.01'", {1}),
    ("params.lr = 'auto'", {3}),
    ("params.lr IN (0.001, 'auto')", {2, 3}),
    ("params.lr NOT IN (0.001)", {1, 3}),
    ("metrics.acc BETWEEN 0.8 AND 0.9", {1}),
    ("metrics.acc = 0.85..1", {2}),
    ("metrics.`f1-score` > 0.5", {3}),
    ("has:metrics.f1-score", {3}),
    ("has:alias", {2}),
    ("has:aliases", {2}),
    ("has:parent", {2, 3}),
    ("metrics.acc IS NULL", {4, 5}),
    ("created > -7d", {2, 3, 4}),
    ("created > -2d", {3, 4}),
    ("created = -14d..-2d", {2, 5}),
    ("created = 2026-01-31", {4}),
    ("created <= 2026-01-31 AND created >= 2026-01-31", {4}),
    (f"created > {NOW - 2 * DAY}", {3, 4}),
    ("size > 1GB", {2}),
    ("size <= 50MB", {1, 3, 4, 5}),
    ("duration > 1h", {1}),
    ("param_count >= 1B", {5}),
    ("deprecated = true", {3}),
    ("is:pickle", {2}),
    ("is:latest", {2, 3, 4, 5}),
    ("format:safetensors", {1}),
    ("framework:torch user:alice", {1}),
    ("resn", {1, 2, 4}),
    ("RESNET", {1, 2, 4}),
    ('"residual network"', {1}),
    ("résumé", {5}),
    ("transf -", {3}),  # a word without letters or digits is ignored
    ("$$$", {1, 2, 3, 4, 5}),
    ('"a" OR "b\' ( ) * : ^ NEAR" OR net*', {1}),
    ("@champion", {2}),
    ("model:resnet*", {1, 2, 4}),
    ("model:resnet", {1, 2}),
    ('model:"resnet[/bold]"', {4}),
    ("model:resnet[*", {4}),
    ("name = 'resnet[/bold]'", {4}),
    ("model:resnet:2", {2}),
    ("name:gpt", {5}),
    ("model:resnet@champion", {2}),
    ("parent:resnet:1", {2}),
    ("parent:bert-base-uncased", {3}),
    ("dataset:imagenet", {1, 2}),
    ("datasets.role = 'eval'", {3}),
    ("datasets.digest = 'sha256:aa'", {1}),
    ("datasets.train.name = 'imagenet' and datasets.digest != 'sha256:aa'", {2}),
]


@pytest.mark.parametrize(("query", "expected"), RESULTS)
def test_results(index: sqlite3.Connection, query: str, expected: set[int]) -> None:
    assert set(run(index, query)) == expected


def test_order_by_metric_puts_missing_last(index: sqlite3.Connection) -> None:
    # 3 has a NaN (NULL) acc, 4 and 5 none: all after the numbers, then newest first
    assert run(index, "order by metrics.acc desc") == [2, 1, 3, 4, 5]
    assert run(index, "order by metrics.acc asc") == [1, 2, 3, 4, 5]
    assert run(index, "resn order by params.lr desc") == [1, 2, 4]
    assert run(index, "order by size desc, model") == [2, 1, 3, 5, 4]
    assert run(index, "") == [3, 4, 2, 5, 1]


# -- robustness: nothing but QueryError, and SQLite accepts all compiled SQL -----------------


def _tree_depth(node: object) -> int:
    if isinstance(node, Not):
        return 1 + _tree_depth(node.operand)
    if isinstance(node, And | Or):
        return 1 + max(_tree_depth(item) for item in node.items)
    return 0


@pytest.mark.parametrize("leaf", [
    "params.lr IN (0.1, 'adam')", "created = 2026-01-31", "tags.env NOT LIKE 'p%'", "resn",
])
@pytest.mark.parametrize("shape", ["x OR y AND ({})", "NOT (x AND ({}))", "x AND (y OR NOT ({}))"])
def test_deepest_allowed_query_runs(index: sqlite3.Connection, leaf: str, shape: str) -> None:
    query, deepest = leaf, 0
    while deepest <= MAX_DEPTH:
        query = shape.format(query).replace("x", "metrics.acc > 1").replace("y", "user = 'a'")
        try:
            deepest = _tree_depth(parse(query).where)
        except QueryError as error:
            assert "levels deep" in error.message and deepest >= MAX_DEPTH - 2
            return
        run(index, query)  # SQLite's parser stack must take every depth parse accepts
    raise AssertionError(f"a tree {deepest} levels deep was accepted")


TOKENS = [
    "metrics.acc", "params.lr", "tags.env", "datasets.name", "created", "size", "user",
    "metrics.", "metric.`f1`", 'tags."a b"', "=", "!=", "<>", ">", ">=", "<", "<=", "LIKE",
    "ILIKE", "IN", "NOT", "AND", "OR", "BETWEEN", "IS", "NULL", "(", ")", ",", "'x'", "'%A_'",
    '"q"', "'", '"', "`", "0.9", "-7d", "2026-01-31", "10MB", "1e999", "0.8..0.9", "..",
    "resn", "@champion", "model:res*", 'model:"r[/b]"', "is:latest", "has:metrics.acc",
    "parent:a:1", "dataset:x", "order", "by", "desc", "*", '"', "-", "NEAR", "^", ":", "\x00",
]
FIELDS = ["metrics.acc", "metrics.`f1-score`", "params.lr", "params.optimizer", "tags.env",
          'tags."mlflow.user"', "datasets.name", "datasets.train.digest", "created", "size",
          "user", "model", "deprecated", "version", "duration", "param_count"]
OPS = ["=", "!=", "<>", ">", ">=", "<", "<=", "LIKE", "ILIKE", "NOT ILIKE", "GLOB"]
VALUES = ["0.9", "'x'", '"a%_"', "-7d", "2026-01-31", "10MB", "true", "3", "0.8..0.9",
          "'2026-01-31T10:00'", "7B", "90m", "'[*?'"]
QUALIFIERS = ["@champion", "model:res*", "is:latest", "has:tags.env", "parent:resnet:1",
              "dataset:imagenet", "user:alice", 'model:"resnet[/bold]"', "is:pickle"]
_WORD = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=" ()'\"`=<>!,"),
                min_size=1, max_size=8)
_CLAUSE = st.one_of(
    st.builds("{} {} {}".format, st.sampled_from(FIELDS), st.sampled_from(OPS),
              st.sampled_from(VALUES)),
    st.builds("{} {}IN ({})".format, st.sampled_from(FIELDS), st.sampled_from(["", "NOT "]),
              st.lists(st.sampled_from(VALUES), min_size=1, max_size=3).map(", ".join)),
    st.builds("{} BETWEEN {} AND {}".format, st.sampled_from(FIELDS), st.sampled_from(VALUES),
              st.sampled_from(VALUES)),
    st.builds("{} IS {}NULL".format, st.sampled_from(FIELDS), st.sampled_from(["", "NOT "])),
    st.text(max_size=12).map(lambda t: '"' + t.replace('"', '""') + '"'),
    _WORD,
    st.sampled_from(QUALIFIERS),
)
_TREE = st.recursive(_CLAUSE, lambda kids: st.one_of(
    st.lists(kids, min_size=2, max_size=3).map(" AND ".join),
    st.lists(kids, min_size=2, max_size=3).map(" OR ".join),
    st.lists(kids, min_size=2, max_size=3).map(" ".join),
    kids.map("NOT ({})".format),
    kids.map("({})".format),
), max_leaves=12)
_ORDER = st.sampled_from(["", " order by metrics.acc desc", " ORDER BY params.lr, size asc",
                          " order by tags.env desc, metrics.`f1-score`"])
_INDEX = build_index()


def _runs_or_query_error(text: str) -> set[int] | None:
    """Compile and execute `text`: the ids it finds, or None when it is refused with a
    QueryError that points inside it. Any other error fails the test. Every value must
    reach SQLite as a parameter: the SQL holds no quoted text but the compiler's own empty
    string (`''`), and one `?` per parameter."""
    try:
        compiled = compile_query(text, now_ms=NOW)
    except QueryError as error:
        assert 0 <= error.position <= len(text)
        assert error.message and error.query == text
        return None
    for sql, params in ((compiled.where, compiled.params),
                        (compiled.joins, compiled.joins_params),
                        (compiled.order_by, compiled.order_params)):
        assert "'" not in sql.replace("''", "") and '"' not in sql, sql
        assert sql.count("?") == len(params), (sql, params)
    sql = (f"SELECT v.id FROM versions v {compiled.joins} WHERE {compiled.where} "
           f"ORDER BY {compiled.order_by}")
    rows = _INDEX.execute(sql, [*compiled.joins_params, *compiled.params,
                                *compiled.order_params]).fetchall()
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids))  # the joins for ordering never repeat a version
    return set(ids)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_is_refused_where_it_is_wrong_or_runs(text: str) -> None:
    _runs_or_query_error(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=14), st.sampled_from([" ", ""]))
def test_token_soup_is_refused_where_it_is_wrong_or_runs(words: list[str], glue: str) -> None:
    _runs_or_query_error(glue.join(words))


@settings(max_examples=400, deadline=None)
@given(_TREE, _ORDER)
def test_any_query_built_from_the_grammar_is_refused_or_runs(where: str, order: str) -> None:
    found = _runs_or_query_error(where + order)
    if found is not None:  # the order never changes what is found
        assert _runs_or_query_error(where) == found


# Well-typed clauses: each must compile, and AND / OR must find the intersection / union.
_NUMBERS = ["metrics.acc", "metrics.`f1-score`", "params.lr", "version"]
_TEXTS = ["tags.env", "user", "model", "datasets.name", "description"]
_TYPED = st.one_of(
    st.builds("{} {} {}".format, st.sampled_from(_NUMBERS),
              st.sampled_from(["=", "!=", "<>", ">", ">=", "<", "<="]),
              st.sampled_from(["0.9", "3", "-1", "0.75"])),
    st.builds("{} {} {}".format, st.sampled_from(_TEXTS),
              st.sampled_from(["=", "!=", "LIKE", "ILIKE", "NOT ILIKE", "GLOB"]),
              st.sampled_from(["'x'", "'a%_'", "'resnet'", "'alice'", "'%net%'"])),
    st.builds("{} {} {}".format, st.just("size"), st.sampled_from([">", "<="]),
              st.sampled_from(["10MB", "1GB", "100"])),
    st.builds("created {} {}".format, st.sampled_from([">", "<", ">="]),
              st.sampled_from(["-7d", "2026-01-31", "'2026-01-31T10:00'"])),
    st.builds("{} BETWEEN {} AND {}".format, st.sampled_from(_NUMBERS),
              st.sampled_from(["0", "0.5"]), st.sampled_from(["0.9", "1"])),
    st.builds("{} IS {}NULL".format, st.sampled_from(_NUMBERS + _TEXTS),
              st.sampled_from(["", "NOT "])),
    st.sampled_from(QUALIFIERS + ["resnet", "transformer", '"residual network"', "gpt"]),
)


@settings(max_examples=300, deadline=None)
@given(_TYPED, _TYPED, st.sampled_from(["", " order by metrics.acc desc",
                                        " ORDER BY params.lr, size asc"]))
def test_well_typed_queries_compile_and_combine_as_sets(a: str, b: str, order: str) -> None:
    found_a, found_b = _runs_or_query_error(a + order), _runs_or_query_error(b)
    assert found_a is not None and found_b is not None, "a well-typed query was refused"
    assert _runs_or_query_error(f"({a}) AND ({b}){order}") == found_a & found_b
    assert _runs_or_query_error(f"({a}) OR ({b}){order}") == found_a | found_b
    assert _runs_or_query_error(f"{a} AND NOT ({a})") == set()
