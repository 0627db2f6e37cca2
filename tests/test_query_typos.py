"""Typos are errors, not searches: a misspelt keyword, an unknown field before IS NULL or an
unquoted text value is refused at its column, with a did-you-mean, instead of quietly
searching for itself and finding nothing. Free text keeps working where it cannot be taken
for a broken filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.store.errors import QueryError
from modelyard.store.query import Text, compile_query, parse

from helpers import run_cli

NOW = 1_770_000_000_000

TYPOS: list[tuple[str, str, str]] = [  # query, the word pointed at, what the message says
    ("metrics.test_auc > 0.9 adn params.penalty = 'l2'", "adn", "did you mean AND?"),
    ("metrics.test_auc > 0.9 ro params.penalty = 'l2'", "ro", "did you mean OR?"),
    ("metrics.test_auc > 0.9 resnet", "resnet", "join conditions with AND or OR"),
    ("tags.team = 'risk' nto tags.x = 'y'", "nto", "did you mean NOT?"),
    ("status IN ('FAILED') andd user = 'a'", "andd", "did you mean AND?"),
    ("metrics.auc > 0.9 ordr by metrics.auc", "ordr", "did you mean ORDER?"),
    ("foo is null", "foo", "unknown attribute 'foo'"),
    ("foo is not null", "foo", "unknown attribute 'foo'"),
    ("acc in (1, 2)", "acc", "for a metric write metrics.acc"),
    ("usr like 'a%'", "usr", "did you mean 'user'?"),
    ("a NAND b", "NAND", "did you mean AND?"),
    ("resnet ADN bert", "ADN", "did you mean AND?"),
    ("resnet NOR bert", "NOR", "did you mean OR?"),
    ("resnet adn metrics.acc > 0.9", "adn", "did you mean AND?"),
    ("bert ro tags.team = 'risk'", "ro", "did you mean OR?"),
    ("params.acc = LR", "LR", "quote the value, like params.acc = 'LR'"),
    ("name!=something", "something", "quote the value, like model = 'something'"),
    ("tags.team = risk", "risk", "quote the value"),
    ("status IN (FINISHED, 'FAILED')", "FINISHED", "quote the value"),
    ("run_name LIKE lr%", "lr%", "quote it"),
]


@pytest.mark.parametrize(("query", "word", "message"), TYPOS)
def test_a_typo_is_an_error_at_its_word(query: str, word: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        compile_query(query, now_ms=NOW)
    assert message in caught.value.message
    assert query[caught.value.position:].startswith(word), caught.value.caret()


FREE_TEXT = [
    "resnet", "resnet bert", "resnet metrics.acc > 0.9", "metrics.acc > 0.9 and resnet",
    "metrics.acc > 0.9 AND \"adn\"", "models in production", "in like between", "nand flash",
    "a 'NAND' b", "metrics.acc > 0.9 @champion", "metrics.acc > 0.9 model:resnet",
    "user:alice resnet", "@champion resnet", "metrics.acc > 0.9 params.lr = 0.1",
    "metrics.acc > 0.9 or resnet", "(metrics.acc > 0.9) or bert", "BERT GPT", "AND-OR",
    "params.lr = 0.01", "user = 'alice'", "size > 10MB", "created > -7d",
    "an image classifier", "bert an", "ad metrics.acc > 0.9 and ot",
]


@pytest.mark.parametrize("query", FREE_TEXT)
def test_free_text_still_searches(query: str) -> None:
    compile_query(query, now_ms=NOW)


def test_words_before_comparisons_stay_text() -> None:
    where = parse("resnet bert metrics.acc > 0.9").where
    assert [type(item) for item in where.items][:2] == [Text, Text]  # type: ignore[union-attr]


def test_the_cli_prints_the_typo_and_exits_non_zero(tmp_path: Path, cli_env: dict) -> None:
    store = str(tmp_path / "s")
    assert run_cli(["init", store], cli_env).returncode == 0
    query = "metrics.test_auc > 0.9 adn params.penalty = 'l2'"
    out = run_cli(["--store", store, "ls", query], cli_env)
    assert out.returncode == 2
    err = out.stderr.decode()
    assert "unexpected word 'adn'" in err and "did you mean AND?" in err
    assert "column 24" in err


MLFLOW_SPELLINGS: list[tuple[str, str]] = [  # MLflow's forms, and what they compile to
    ("`metric`.a >= 0.1", "metrics WHERE key = ? AND value >= ?"),
    ("`tags`.source_name = 'a notebook'", "tags WHERE key = ? AND value = ?"),
    ("attributes.`Run name` = 'x'", "= ?"),
    ("attribute.status = 'FAILED'", "lower(v.status) = ?"),
    ("version_number > 1", "v.number > ?"),
]


@pytest.mark.parametrize(("query", "sql"), MLFLOW_SPELLINGS)
def test_mlflow_spellings(query: str, sql: str) -> None:
    assert sql in compile_query(query, now_ms=NOW).where


@pytest.mark.parametrize(("query", "message"), [
    ("params.abc > 'my-param-value'", "compares only with =, !=, LIKE, ILIKE and IN"),
    ("datasets.name <= 'x'", "compares only with"),
    ("metric.model = '5'", "leave out the quotes"),
])
def test_what_mlflow_refuses_is_refused(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        compile_query(query, now_ms=NOW)


def test_status_ignores_case() -> None:
    assert compile_query("status = 'FAILED'", now_ms=NOW).params == ["failed"]
