"""Every kind of rule, with a version that passes it and one that fails it; the policy
format's checks, its JSON Schema, and its scoping by model name and tag."""

from __future__ import annotations

import json
import random
from pathlib import Path

import jsonschema
import pytest
import yaml

from modelyard.store import Store
from modelyard.store.demo import files as df
from modelyard.store.demo.policy import QUALITY, SERVING
from modelyard.store.policy import PolicyError, dump_policy, load_policy

SCHEMA = json.loads((Path(__file__).resolve().parent.parent
                     / "store/schemas/policy.schema.json").read_text())
DIGEST = "sha256:" + "c" * 64

# one rule per kind of check; each is named after its kind
EVERY_KIND = {"rules": {
    "require": {"require": ["signature", "description", "git_commit", "source_files",
                            "framework", "resources"]},
    "datasets": {"datasets": ["train", "eval"]},
    "metrics": {"metrics": ["auc", "logloss"]},
    "thresholds": {"thresholds": ["metrics.auc >= 0.9", "params.depth <= 8"]},
    "formats": {"formats": ["onnx", "safetensors"]},
    "max_size": {"max_size": "2KB"},
    "files": {"files": ["README.md", "*.onnx"]},
}}
README_EXAMPLE = """
description: What a model needs before it serves traffic
rules:
  serving:
    description: Safe to load and serve, reproducible from a commit and its data
    applies_to: {models: ["churn-*", vit-food101]}
    require: [signature, git_commit, description]
    datasets: [train, eval]
    metrics: [auc]
    thresholds: ["metrics.auc >= 0.9"]
    formats: [onnx, safetensors]
    max_size: 2GB
    files: [README.md]
  model-card:
    blocking: false
    applies_to: {tags: {stage: production}}
    files: [README.md]
aliases:
  production: [serving]
hooks:
  - name: deploy
    event: alias.set
    alias: production
    command: [/usr/local/bin/trigger-deploy, --env, prod]
    timeout: 60
"""


def _good(store: Store, model: str = "churn-good"):
    return store.add_version(
        model, description="a good model", params={"depth": 6},
        metrics={"auc": 0.93, "logloss": 0.2},
        datasets=[{"role": "train", "name": "t", "digest": DIGEST},
                  {"role": "eval", "name": "e", "digest": DIGEST}],
        files={"model.onnx": df.onnx_bytes(random.Random(1), 500), "README.md": b"# card\n"},
        source={"files": {"train.py": b"print(1)\n"}, "git": {"commit": "4f1c2e7"}},
        serving={"framework": "xgboost", "signature": {"inputs": [{"name": "x"}]},
                 "resources": {"cpu": 1}})


def _bad(store: Store, model: str = "churn-bad"):
    return store.add_version(
        model, params={"depth": 12}, metrics={"auc": 0.7},
        datasets=[{"role": "train", "name": "t"}],
        files={"model.pkl": df.pickle_bytes(random.Random(2), 3000, ["a"])})


@pytest.fixture
def checked(store: Store):
    store.set_policy(EVERY_KIND)
    return store.check(_good(store)), store.check(_bad(store))


@pytest.mark.parametrize("kind", list(EVERY_KIND["rules"]))
def test_every_kind_of_rule_passes_and_fails(checked, kind: str) -> None:
    good, bad = checked
    assert good.result(kind).status == "pass", good.result(kind).reasons
    assert all(f.ok for f in good.result(kind).checks)
    result = bad.result(kind)
    assert result.status == "fail" and result.reasons
    assert {f.check for f in result.checks} == {kind}


def test_failure_reasons_say_what_is_wrong(checked) -> None:
    _, bad = checked
    reasons = {r.rule: r.reasons for r in bad.rules}
    assert reasons["require"] == ["no serving signature with inputs", "no description",
                                  "no source git commit", "no source files",
                                  "no serving framework",
                                  "no serving resources (cpu, memory, gpu)"]
    assert reasons["datasets"] == ["train data t has no digest", "no eval data set"]
    assert reasons["metrics"] == ["metric logloss is not recorded"]
    assert reasons["thresholds"] == ["metrics.auc >= 0.9 is not met (metrics.auc = 0.7)",
                                     "params.depth <= 8 is not met"]
    assert reasons["formats"][0].startswith("model.pkl is pickle")
    assert "run code" in reasons["formats"][0] and "allowed: onnx, safetensors" in \
        reasons["formats"][0]
    assert reasons["max_size"][0].endswith(" KB of files; the limit is 2.0 KB")
    assert reasons["files"] == ["no file matches README.md", "no file matches *.onnx"]
    assert bad.state == "failing" and len(bad.failing) == 7


def test_passing_findings_say_what_was_found(checked) -> None:
    good, _ = checked
    messages = [f.message for r in good.rules for f in r.checks]
    assert "source at git commit 4f1c2e7" in messages
    assert "metrics.auc >= 0.9 (metrics.auc = 0.93)" in messages
    assert "weights are onnx" in messages and "file README.md" in messages
    assert good.state == "passing"


def test_rules_apply_by_model_pattern_and_by_tag(store: Store) -> None:
    store.set_policy({"rules": {
        "churn-only": {"applies_to": {"models": ["churn-*"]}, "metrics": ["auc"]},
        "prod-only": {"applies_to": {"tags": {"stage": "prod*"}}, "files": ["README.md"]},
        "both": {"applies_to": {"models": ["vit-*"], "tags": ["team"]}, "metrics": ["x"]}}})
    churn = store.add_version("churn-a", metrics={"auc": 0.9})
    vit = store.add_version("vit-a", tags={"team": "cv", "stage": "production"})
    other = store.add_version("other", tags={"stage": "dev"})
    assert [r.rule for r in store.check(churn).rules] == ["churn-only"]
    assert [r.rule for r in store.check(vit).rules] == ["prod-only", "both"]
    assert store.check(other).rules == [] and store.check(other).state == "unchecked"


def test_non_blocking_rules_warn(store: Store) -> None:
    store.set_policy({"rules": {"card": {"blocking": False, "files": ["README.md"]}}})
    report = store.check(store.add_version("m", metrics={"a": 1.0}))
    assert report.state == "warning" and report.failing == [] and len(report.warnings) == 1


# (policy, what the error says, whether the JSON Schema can tell too)
BAD = [
    ({"rulez": {}}, "unknown field rulez", True),
    ({"rules": {"9lives": {}}}, "a rule name starts with a letter", True),
    ({"rules": {"r": {"require": ["signatures"]}}}, "'signatures' is not a field", True),
    ({"rules": {"r": {"formats": ["safetensor"]}}}, "'safetensor' is not a weights format", True),
    ({"rules": {"r": {"formats": ["json"]}}}, "text-like files are never checked", True),
    ({"rules": {"r": {"max_size": "big"}}}, "write a size such as 2GB", True),
    ({"rules": {"r": {"blocking": "yes"}}}, "blocking must be true or false", True),
    ({"rules": {"r": {"applies_to": {"model": ["x"]}}}}, "unknown field model", True),
    ({"hooks": [{"on": "alias.set", "command": "notify --prod"}]}, "list of arguments", True),
    ({"hooks": [{"event": "version.added", "command": ["x"]}]}, "use one of alias.set", True),
    ({"hooks": [{"on": "alias.set", "command": ["x"], "timeout": 9999}]}, "timeout", True),
    ({"rules": {"r": {"thresholds": ["metrics.auc >"]}}}, "expected a value after '>'", False),
    ({"rules": {"r": {"thresholds": ["metrics.auc > 1 order by created"]}}},
     "without order by", False),
    ({"rules": {"r": {"thresholds": ["policy:failing"]}}}, "cannot depend on other rules", False),
    ({"rules": {"r": {"thresholds": ["policy.x = pass"]}}}, "cannot depend on other rules",
     False),
    ({"rules": {}, "aliases": {"production": ["serving"]}}, "does not define", False),
    ({"rules": {}, "aliases": {"latest": []}}, "'latest' is reserved", False),
]


@pytest.mark.parametrize("policy, message, in_schema", BAD)
def test_a_bad_policy_is_refused_naming_the_field(store: Store, policy: dict, message: str,
                                                  in_schema: bool) -> None:
    with pytest.raises(PolicyError, match=message):
        store.set_policy(policy)
    assert store.policy() is None and not (store.root / "policies").exists()
    if in_schema:
        assert not jsonschema.Draft202012Validator(SCHEMA).is_valid(policy)


def test_yaml_aliases_and_bad_yaml_are_refused(store: Store, tmp_path: Path) -> None:
    bomb = "a: &x [1, 2]\nb: *x\n"
    with pytest.raises(PolicyError, match="aliases"):
        store.set_policy(bomb)
    with pytest.raises(PolicyError, match="not valid YAML at line"):
        store.set_policy("rules:\n  r: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML: month must be in 1..12"):
        store.set_policy("description: x\nwritten: 2026-13-45\nrules: {}\n")  # no bare error
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(EVERY_KIND))
    assert list(store.set_policy(path).rules) == list(EVERY_KIND["rules"])


@pytest.mark.parametrize("text", [README_EXAMPLE, SERVING, QUALITY])
def test_examples_match_the_json_schema_and_round_trip(text: str) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(yaml.safe_load(text))
    policy = load_policy(text)
    again = load_policy(dump_policy(policy))
    assert again == policy
    jsonschema.Draft202012Validator(SCHEMA).validate(yaml.safe_load(dump_policy(policy)))
