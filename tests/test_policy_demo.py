"""The demo store ships a policy, tightened once, with versions that fail, warn and pass,
so the explorer shows the policy from its first start."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

from modelyard.store import Store
from modelyard.store.demo.build import build_demo
from modelyard.store.query.policy_states import STATES

from helpers import run_cli

QUERIES = ("policy:failing", "policy:passing", "policy:warning", "policy:unchecked",
           "policy.serving = fail", "policy.quality = fail", "policy.model-card = fail")
KSERVE = json.loads((Path(__file__).parent / "kserve_schema_subset.json").read_text())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("policy-demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELYARD_CACHE_DIR", str(folder / "cache"))
        store = build_demo(folder / "store")
    yield store
    store.close()


def _answers(store: Store) -> dict[str, list[str]]:
    return {q: sorted(v.ref for v in store.search(q, limit=None)) for q in QUERIES}


def test_the_demo_policy_was_set_and_tightened_by_a_person(demo: Store) -> None:
    history = demo.policy_history()
    assert [(p.number, p.set_by["user"]) for p in history] == [(1, "carol"), (2, "carol")]
    assert set(history[0].rules) == {"serving", "model-card"}
    assert set(history[1].rules) == {"serving", "model-card", "quality"}
    assert history[1].gate("production") == ("serving", "quality")


def test_some_versions_fail_some_warn_and_the_rest_pass(demo: Store) -> None:
    answers = _answers(demo)
    assert len(answers["policy:failing"]) >= 5 and len(answers["policy:passing"]) >= 20
    assert answers["policy:warning"] and answers["policy.quality = fail"]
    assert answers["policy:unchecked"] == ["resnet[/bold]:1", "resnet[/bold]:2"]
    pickled = [v.ref for v in demo.search("is:pickle", limit=None)]
    assert set(pickled) <= set(answers["policy.serving = fail"])
    assert "llama-mini:1" in answers["policy.serving = fail"]  # no git commit


def test_tightening_rechecked_the_versions_already_stored(demo: Store) -> None:
    rechecks = [e for e in demo.history("churn-xgb")
                if e.type == "policy.checked" and e.data["policy"] == 2 and e.version is None]
    assert len(rechecks) == 1 and len(rechecks[0].data["versions"]) >= 5


def test_production_versions_passed_their_gate(demo: Store) -> None:
    for model in ("churn-xgb", "vit-food101", "llama-mini-support-lora"):
        v = demo.get(f"{model}@production")
        assert all(r.passed for r in demo.check(v, record=False).rules if r.blocking)
        assert not any(e.data.get("forced") for e in demo.history(model)
                       if e.type == "alias.set")


def test_reindex_gives_the_same_answers(demo: Store, tmp_path: Path) -> None:
    other = Store.open(demo.root, index=tmp_path / "rebuilt.sqlite")
    try:
        assert _answers(other) == _answers(demo)
    finally:
        other.close()


def test_every_demo_version_has_a_valid_inference_service(demo: Store) -> None:
    validator = jsonschema.Draft202012Validator(KSERVE)
    for v in demo.search("", limit=None):
        if v.model == "resnet[/bold]":  # bare safetensors: no shipped KServe runtime serves it
            continue
        validator.validate(yaml.safe_load(demo.deploy_spec(v.ref)))


def test_every_policy_state_query_finds_the_versions_ls_labels_with_it(
        demo: Store, cli_env: dict) -> None:
    """One definition of the states: `policy:<state>` and the label `ls --json` prints agree
    on every version (once, `policy:passing` also found versions labelled `warning`)."""
    out = run_cli(["--store", str(demo.root), "--index", str(demo.index_path), "ls", "--json",
                   "--limit", "0"], cli_env)
    assert out.returncode == 0, out.stderr.decode()
    labelled: dict[str, set[str]] = {state: set() for state in STATES}
    for version in json.loads(out.stdout):
        labelled[version["policy"]].add(version["ref"])
    assert sum(map(len, labelled.values())) == demo.count()
    for state in STATES:
        found = {v.ref for v in demo.search(f"policy:{state}", limit=None)}
        assert found == labelled[state], state
        assert demo.count(f"policy:{state}") == len(found)
    assert labelled["failing"] and labelled["warning"] and labelled["passing"]
