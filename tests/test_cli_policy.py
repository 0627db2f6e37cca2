"""The policy and deployment commands as a user runs them, on the demo store's policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import run_cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from modelyard.store.demo.build import build_demo

    mp = pytest.MonkeyPatch()
    mp.setenv("MODELYARD_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    path = tmp_path_factory.mktemp("demo") / "store"
    build_demo(path).close()
    mp.undo()
    return path


def test_check_prints_each_rule_and_exits_1_when_failing(demo: Path, cli_env: dict) -> None:
    out = run_cli(["--store", str(demo), "check", "churn-xgb:25", "--dry-run"], cli_env)
    assert out.returncode == 1
    assert b"FAIL  serving" in out.stdout and b"model.pkl is pickle" in out.stdout
    report = json.loads(run_cli(["--store", str(demo), "check", "vit-food101:12", "--json",
                                 "--dry-run"], cli_env).stdout)
    assert report["state"] == "passing" and report["rules"][0]["status"] == "pass"


def test_policy_show_history_and_queries(demo: Path, cli_env: dict) -> None:
    shown = run_cli(["--store", str(demo), "policy", "--json"], cli_env)
    assert json.loads(shown.stdout)["policy"] == 2
    history = json.loads(run_cli(["--store", str(demo), "policy", "history", "--json"],
                                 cli_env).stdout)
    assert [p["policy"] for p in history] == [1, 2]
    failing = json.loads(run_cli(["--store", str(demo), "ls", "policy:failing", "--json",
                                  "--limit", "1000"], cli_env).stdout)
    assert failing and all(v["policy"] == "failing" for v in failing)


def test_gated_alias_refused_then_forced(demo: Path, cli_env: dict, tmp_path: Path) -> None:
    import shutil

    store = tmp_path / "s"
    shutil.copytree(demo, store)
    refused = run_cli(["--store", str(store), "alias", "churn-xgb:25", "production"], cli_env)
    assert refused.returncode == 1 and b"--force --reason" in refused.stderr
    forced = run_cli(["--store", str(store), "alias", "churn-xgb:25", "production", "--force",
                      "--reason", "hotfix"], cli_env)
    assert forced.returncode == 0 and b"forced: hotfix" in forced.stdout


def test_deploy_spec_is_an_inference_service(demo: Path, cli_env: dict) -> None:
    out = run_cli(["--store", str(demo), "deploy-spec", "vit-food101:12"], cli_env)
    spec = yaml.safe_load(out.stdout)
    assert spec["kind"] == "InferenceService"
    assert spec["spec"]["predictor"]["model"]["modelFormat"]["name"] == "huggingface"
