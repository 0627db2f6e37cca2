"""Alias gates: an alias that requires rules refuses a version that fails them, unless
forced with a reason, which the history keeps. Enforced in Store.set_alias, so the CLI, the
app and the Python API all obey it."""

from __future__ import annotations

import pytest

from modelyard.store import Store
from modelyard.store.policy import AliasRefused

POLICY = {"rules": {
    "serving": {"applies_to": {"models": ["churn-*"]}, "formats": ["onnx"],
                "thresholds": ["metrics.auc >= 0.85"]},
    "card": {"blocking": False, "require": ["description"]}},
    "aliases": {"production": ["serving"], "documented": ["card"]}}


@pytest.fixture
def gated(store: Store) -> Store:
    store.set_policy(POLICY)
    store.add_version("churn-a", metrics={"auc": 0.9}, files={"model.onnx": b"\x08\x01"})
    store.add_version("churn-a", metrics={"auc": 0.7}, files={"model.pkl": b"\x80\x04x."})
    return store


def test_a_gated_alias_is_refused_with_the_failing_rules(gated: Store) -> None:
    with pytest.raises(AliasRefused) as refused:
        gated.set_alias("churn-a:2", "production")
    message = str(refused.value)
    assert "@production requires passing serving" in message
    assert "metrics.auc >= 0.85 is not met (metrics.auc = 0.7)" in message
    assert "model.pkl is pickle" in message and "--force --reason" in message
    assert [r.rule for r in refused.value.failures] == ["serving"]
    assert gated.get("churn-a:2").aliases == []
    assert not [e for e in gated.history("churn-a") if e.type == "alias.set"]


def test_a_passing_version_gets_the_alias(gated: Store) -> None:
    event = gated.set_alias("churn-a:1", "production")
    assert event.data == {"alias": "production"}
    assert gated.get("churn-a@production").number == 1


def test_forcing_needs_a_reason_and_is_recorded(gated: Store) -> None:
    with pytest.raises(AliasRefused, match="needs a reason"):
        gated.set_alias("churn-a:2", "production", force=True, reason="  ")
    event = gated.set_alias("churn-a:2", "production", force=True,
                            reason="incident 4711: roll back to the pickled model")
    assert event.data == {"alias": "production", "forced": True, "failing": ["serving"],
                          "reason": "incident 4711: roll back to the pickled model"}
    assert gated.get("churn-a@production").number == 2
    moves = [e for e in gated.history("churn-a") if e.type == "alias.set"]
    assert moves[-1].data["forced"] and moves[-1].user and moves[-1].at


def test_a_gate_names_rules_blocking_or_not(gated: Store) -> None:
    with pytest.raises(AliasRefused, match="card"):
        gated.set_alias("churn-a:1", "documented")  # card is advisory, but the gate needs it
    gated.describe("churn-a:1", "documented now")
    gated.set_alias("churn-a:1", "documented")


def test_rules_out_of_scope_and_ungated_aliases_do_not_refuse(gated: Store) -> None:
    vit = gated.add_version("vit", metrics={"acc": 0.1}, files={"w.pkl": b"\x80\x04x."})
    gated.set_alias(vit.ref, "production")  # serving is about churn-* only
    gated.set_alias("churn-a:2", "staging")  # no gate on staging
    assert gated.get("churn-a@staging").number == 2


def test_the_gate_follows_the_policy_in_force(gated: Store) -> None:
    gated.set_alias("churn-a:1", "production")
    stricter = {**POLICY, "rules": {**POLICY["rules"], "serving": {
        **POLICY["rules"]["serving"], "thresholds": ["metrics.auc >= 0.95"]}}}
    gated.set_policy(stricter)
    with pytest.raises(AliasRefused, match=r"metrics.auc >= 0.95 is not met"):
        gated.set_alias("churn-a:1", "production")
    gated.set_policy({"rules": {}})  # gates go with the policy that set them
    gated.set_alias("churn-a:2", "production")
