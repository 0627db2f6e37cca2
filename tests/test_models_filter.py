"""`Store.models(filter, order_by=...)` and `modelyard models FILTER`: MLflow's registered-model
search grammar, its refusals (each at its column), and real answers on a fresh store.

tests/mlflow_real/test_search_conformance.py compares the same searches with real MLflow."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.disk.clock import frozen_at
from modelyard.store.errors import QueryError
from modelyard.store.query.models_filter import compile_model_filter, parse_model_filter

from helpers import run_cli


@pytest.mark.parametrize(("text", "order_by", "message", "column"), [
    ("name!=something", (), "the value must be quoted, like 'something'", 7),
    ("name = 5", (), "the value must be quoted", 8),
    ("tags.t = `LR`", (), "backticks quote keys, not values", 10),
    ("run_id='somerunID'", (), "unknown attribute 'run_id'", 1),
    ("source_path = 'A/D'", (), "unknown attribute 'source_path'", 1),
    ("evilhax = true", (), "unknown attribute 'evilhax'", 1),
    ("Name = 'a'", (), "did you mean 'name'?", 1),
    ("attribute.Name = 'a'", (), "unknown attribute 'Name'", 11),
    ("attributes.name = 'a'", (), "unknown entity 'attributes'; did you mean 'attribute.name'", 1),
    ("params.lr = '1'", (), "unknown entity 'params'", 1),
    ("`tag`.t1 = 'a'", (), "write the entity without backticks", 1),
    ("tags. = 'x'", (), "expected a key after 'tags.'", 6),
    ("tags.`` = 'x'", (), "the key after 'tags.' is empty", 6),
    ("name = 'a' or name = 'b'", (), "joins conditions with AND only", 12),
    ("not name = 'a'", (), "joins conditions with AND only", 1),
    ("(name = 'a')", (), "joins conditions with AND only", 1),
    ("name = 'a' name = 'b'", (), "expected AND or the end of the filter", 12),
    ("name = 'a' and and", (), "expected a condition such as", 16),
    ("and name = 'a'", (), "expected a condition such as name = 'churn'", 1),
    ("name", (), "expected a comparison after name", 5),
    ("name =", (), "expected a quoted value after =", 7),
    ("name LIKE", (), "expected a quoted value after LIKE, like 'churn%'", 10),
    ("name > 'a'", (), "name compares with =, !=, LIKE, ILIKE, IN or NOT IN, not '>'", 6),
    ("name NOT LIKE 'a'", (), "not 'NOT'", 6),
    ("name == 'a'", (), "write = instead of ==", 6),
    ("tags.t <> 'a'", (), "write != instead of <>", 8),
    ("tags.t IN ('a')", (), "tags.t compares with =, !=, LIKE or ILIKE, not 'IN'", 8),
    ("tag.t1 IS NULL", (), "not 'IS'", 8),
    ("name IN ()", (), "expected at least one quoted name in the IN list", 10),
    ("name IN ('a',,'b')", (), "expected a quoted name in the IN list, found ','", 14),
    ("name IN (,)", (), "expected at least one quoted name in the IN list, found ','", 10),
    ("name IN ('a' 'b')", (), "expected ',' or ')' in the IN list", 14),
    ("name IN 'a'", (), "expected '(' after IN", 9),
    ("name = 'a", (), "unclosed quote", 8),
    ("", ["name aCs"], "order_by item 'name aCs': expected asc, desc, ',' or the end", 6),
    ("", ["last_updated_timestamp DESC blah"], "found 'blah'", 29),
    ("", ["timestamp somerandomstuff ASC"], "found 'somerandomstuff'", 11),
    ("", [""], "expected a key to order models by, found the end of the query", 1),
    ("", ["Name"], "did you mean 'name'?", 1),
    ("", ["run_id DESC"], "expected a key to order models by, found 'run_id'", 1),
    ("name = 'a' order by", (), "expected a key to order models by", 20),
    ("name = 'a' order by name", ["name"], "the order is given twice", 12),
])
def test_refusals_say_what_and_where(text: str, order_by: list[str], message: str,
                                     column: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_model_filter(text, order_by)
    assert message in caught.value.message, caught.value.message
    assert caught.value.position + 1 == column, str(caught.value)


def test_mlflow_spellings_parse() -> None:
    parsed = parse_model_filter(
        "name LIKE 'RM%' and attribute.name != 'x' and tag.`a b` = 'v' and tags.\"c.d\" ILIKE "
        "'w%' and tags.e.f = '' and name NOT IN ('p', \"q\")",
        ["timestamp\tASC", "name   DESC", "creation_timestamp, last_updated_timestamp desc"])
    assert [(c.key, c.op, c.value) for c in parsed.conditions] == [
        (None, "LIKE", "RM%"), (None, "!=", "x"), ("a b", "=", "v"), ("c.d", "ILIKE", "w%"),
        ("e.f", "=", ""), (None, "NOT IN", ("p", "q"))]
    assert [(o.key, o.descending) for o in parsed.order] == [
        ("updated", False), ("name", True), ("created", False), ("updated", True)]


def test_a_trailing_and_or_comma_is_ignored_as_mlflow_does() -> None:
    assert parse_model_filter("name = 'a' and") == parse_model_filter("name = 'a'")
    assert parse_model_filter("name IN ('a',) AND order by name").conditions == \
        parse_model_filter("name IN ('a')").conditions


def test_values_are_bound_and_name_breaks_ties() -> None:
    compiled = compile_model_filter("name = 'x''; DROP TABLE models' and tags.k like 'a_%'",
                                    "timestamp desc")
    assert compiled.params == ["x'; DROP TABLE models", "k", "a?*"]
    assert "DROP" not in compiled.where
    assert compiled.order_by == "v.created_ms DESC, m.name ASC"
    assert compile_model_filter("", "name desc, updated").order_by == \
        "m.name DESC, v.created_ms ASC"


def _at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


@pytest.fixture
def models_store(store: Store) -> Store:
    """Versions a day apart: alpha (days 1 and 5), Beta (2), gamma (3), delta (3)."""
    for name, day in (("alpha", 1), ("Beta", 2), ("gamma", 3), ("delta", 3), ("alpha", 5)):
        with frozen_at(_at(day)):
            store.add_version(name, params={"day": day})
    store.tag_model("alpha", "team", "risk")
    store.tag_model("Beta", "team", "Vision")
    store.tag_model("gamma", "cost center", "r&d")
    return store


def names(store: Store, text: str = "", order_by: str | list[str] = ()) -> list[str]:
    return [m.name for m in store.models(text, order_by=order_by)]


def test_filters_answer_as_mlflow(models_store: Store) -> None:
    s = models_store
    assert names(s) == ["Beta", "alpha", "delta", "gamma"]  # by name, as bytes
    assert names(s, "name = 'alpha'") == ["alpha"]
    assert names(s, "name = 'ALPHA'") == []
    assert names(s, "name != 'alpha'") == ["Beta", "delta", "gamma"]
    assert names(s, "name LIKE '%a'") == ["Beta", "alpha", "delta", "gamma"]
    assert names(s, "name LIKE 'b%'") == []  # LIKE minds case
    assert names(s, "name ILIKE 'b%'") == ["Beta"]
    assert names(s, "name LIKE '_e%'") == ["Beta", "delta"]
    assert names(s, "name IN ('alpha', 'gamma', 'nope')") == ["alpha", "gamma"]
    assert names(s, "name NOT IN ('alpha')") == ["Beta", "delta", "gamma"]
    assert names(s, "tags.team = 'risk'") == ["alpha"]
    assert names(s, "tags.team != 'risk'") == ["Beta"]  # a model without the tag: never
    assert names(s, "tag.team ILIKE 'v%' and name LIKE 'B%'") == ["Beta"]
    assert names(s, "tags.`cost center` LIKE 'r&%'") == ["gamma"]
    assert names(s, "tags.Team = 'risk'") == []  # keys mind case
    assert names(s, "tags.team != 'x' and tags.team LIKE 'r%'") == ["alpha"]


def test_orders_answer_as_mlflow(models_store: Store) -> None:
    s = models_store
    assert names(s, order_by="name desc") == ["gamma", "delta", "alpha", "Beta"]
    # last updated: the newest version's time; ties (gamma, delta) by name
    assert names(s, order_by="last_updated_timestamp") == ["Beta", "delta", "gamma", "alpha"]
    assert names(s, order_by=["timestamp desc"]) == ["alpha", "delta", "gamma", "Beta"]
    assert names(s, order_by=["timestamp desc", "name desc"]) == \
        ["alpha", "gamma", "delta", "Beta"]
    assert names(s, order_by="creation_timestamp desc") == ["delta", "gamma", "Beta", "alpha"]
    assert names(s, "name != 'Beta' order by created, name desc") == \
        ["alpha", "gamma", "delta"]


def test_cli_filters_orders_and_refuses(models_store: Store, cli_env: dict) -> None:
    base = ["--store", str(models_store.root)]
    out = run_cli([*base, "models", "tags.team", "!=", "'x'", "--order-by", "name desc",
                   "--json"], cli_env)
    assert out.returncode == 0, out.stderr
    assert [m["name"] for m in json.loads(out.stdout)] == ["alpha", "Beta"]
    assert json.loads(out.stdout)[0]["tags"] == {"team": "risk"}
    out = run_cli([*base, "models", "--order-by", "timestamp", "--order-by", "name"], cli_env)
    lines = out.stdout.decode().splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["Beta", "delta", "gamma", "alpha"]
    out = run_cli([*base, "models", "name = 'nope'"], cli_env)
    assert out.returncode == 0 and out.stdout.strip() == b"no models match"
    out = run_cli([*base, "models", "name = 'a' or name = 'b'"], cli_env)
    assert out.returncode == 2
    assert b"AND only" in out.stderr and b"(at column 12)" in out.stderr
    assert b"Traceback" not in out.stderr


def test_an_unfiltered_listing_is_unchanged(models_store: Store, tmp_path: Path) -> None:
    assert [m.to_dict() for m in models_store.models()] == \
        [m.to_dict() for m in models_store.models("", order_by=())]
    assert models_store.model("gamma").tags == {"cost center": "r&d"}
