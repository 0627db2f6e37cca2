"""NaN and infinite final metrics (issue 11 defect 10): read back as what they are, in the
API, `show`, `ls` and `--json` ("NaN", "Infinity", "-Infinity"), across a reindex, and
searchable with `metrics.loss = nan` / `= inf`; sorting with NaN is deterministic."""

from __future__ import annotations

import json
import math

import pytest

from modelyard.store import Store
from modelyard.store.errors import QueryError

from helpers import run_cli

INF = float("inf")


def _strict(text: str) -> object:
    """json.loads that refuses NaN and Infinity tokens: real JSON only."""
    def refuse(token: str) -> None:
        raise ValueError(f"{token} is not JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def nan_store(store: Store) -> Store:
    store.add_version("m", metrics={"loss": float("nan"), "up": INF, "down": -INF, "acc": 0.5})
    store.add_version("m", metrics={"loss": 0.25, "up": 1.0, "acc": 0.6})
    store.add_version("m", metrics={"loss": INF, "acc": 0.7})
    store.add_version("m", metrics={"acc": 0.8})  # no loss at all
    return store


def _check_first(v) -> None:
    assert math.isnan(v.metrics["loss"])
    assert v.metrics["up"] == INF and v.metrics["down"] == -INF and v.metrics["acc"] == 0.5


def test_nan_and_inf_read_back_as_floats_also_after_reindex(nan_store: Store) -> None:
    _check_first(nan_store.get("m:1"))
    assert nan_store.get("m:3").metrics["loss"] == INF
    assert "loss" not in nan_store.get("m:4").metrics
    nan_store.reindex()
    _check_first(nan_store.get("m:1"))


def test_nan_and_inf_are_searchable(nan_store: Store) -> None:
    def refs(query: str) -> list[str]:
        return sorted(v.ref for v in nan_store.search(query))

    assert refs("metrics.loss = nan") == ["m:1"]
    assert refs("metrics.loss = NaN and metrics.acc < 0.55") == ["m:1"]
    assert refs("metrics.loss != nan") == ["m:2", "m:3"]
    assert refs("metrics.loss = inf") == ["m:3"]
    assert refs("metrics.down = -inf") == ["m:1"]
    assert refs("metrics.loss > 1e300") == ["m:3"]
    assert refs("metrics.loss < inf") == ["m:2"]
    assert refs("metrics.loss in (nan, 0.25)") == ["m:1", "m:2"]
    assert refs("metrics.loss not in (nan, 0.25)") == ["m:3"]
    assert refs("not metrics.loss = nan") == ["m:2", "m:3", "m:4"]
    for bad in ("metrics.loss < nan", "metrics.loss between nan and 1",
                "metrics.loss = nan..1"):
        with pytest.raises(QueryError, match="NaN has no order"):
            nan_store.search(bad)


def test_sorting_with_nan_is_deterministic(nan_store: Store) -> None:
    up = [v.ref for v in nan_store.search("order by metrics.loss")]
    down = [v.ref for v in nan_store.search("order by metrics.loss desc")]
    assert up == ["m:2", "m:3", "m:1", "m:4"]  # numbers, inf; then NaN, then missing (MLflow's)
    assert down == ["m:3", "m:2", "m:1", "m:4"]
    for _ in range(3):
        assert [v.ref for v in nan_store.search("order by metrics.loss")] == up
    nan_store.reindex()
    assert [v.ref for v in nan_store.search("order by metrics.loss")] == up


def test_show_and_ls_print_nan_and_json_spells_it(nan_store: Store, cli_env: dict[str, str]
                                                  ) -> None:
    root = str(nan_store.root)
    shown = run_cli(["--store", root, "show", "m:1", "--json"], cli_env)
    assert shown.returncode == 0, shown.stderr.decode()
    data = _strict(shown.stdout.decode())
    assert data["metrics"]["loss"] == "NaN"
    assert data["metrics"]["up"] == "Infinity" and data["metrics"]["down"] == "-Infinity"
    listed = run_cli(["--store", root, "ls", "metrics.loss = nan", "--json"], cli_env)
    assert listed.returncode == 0, listed.stderr.decode()
    [row] = _strict(listed.stdout.decode())
    assert row["metrics"]["loss"] == "NaN"
    text = run_cli(["--store", root, "show", "m:1"], cli_env).stdout.decode()
    loss = [line for line in text.splitlines() if line.strip().startswith("loss")]
    assert loss and loss[0].split()[-1] == "nan", text
    table = run_cli(["--store", root, "ls", "--metrics", "loss,up"], cli_env).stdout.decode()
    first = [line for line in table.splitlines() if line.startswith("m:1")]
    assert first and "nan" in first[0].split() and "inf" in first[0].split(), table


def test_a_nan_metric_still_fails_a_required_metric_rule() -> None:
    from modelyard.store.policy.rules import Facts, _metric

    facts = Facts(record={}, description="", tags={}, metrics={"loss": float("nan")}, size=0)
    finding = _metric("loss", facts)
    assert not finding.ok and "NaN" in finding.message
