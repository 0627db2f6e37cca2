"""The demo store: realistic enough for the explorer, and the same on every build."""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.demo.build import HOSTILE, build_demo
from modelyard.store.ingest.sniff import safetensors_header

FAMILIES = {"churn-xgb": 25, "vit-base": 3, "vit-food101": 16, "llama-mini": 2,
            "llama-mini-support-lora": 14, "resnet[/bold]": 2}


def _build(folder: Path) -> Store:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELYARD_CACHE_DIR", str(folder / "cache"))
        mp.delenv("MODELYARD_USER", raising=False)
        mp.setenv("MODELYARD_HOST", "the-callers-host")
        store = build_demo(folder / "store", seed=7)
        assert "MODELYARD_USER" not in os.environ, "build_demo must restore the environment"
        assert os.environ["MODELYARD_HOST"] == "the-callers-host"
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    built = _build(tmp_path_factory.mktemp("demo"))
    yield built
    built.close()


def _all_versions(store: Store) -> list:
    return [v for m in store.models() for v in store.versions(m.name)]


def _summaries(store: Store) -> list[dict]:
    """`ls`-style rows; through search when the query module is there, else per model."""
    try:
        return [v.summary_dict() for v in store.search("", limit=None)]
    except ImportError:
        return [v.summary_dict() for v in _all_versions(store)]


def test_families_and_counts(store: Store) -> None:
    assert {m.name: m.versions for m in store.models()} == FAMILIES
    assert len(_all_versions(store)) >= 60


def test_same_seed_builds_the_same_store(store: Store, tmp_path: Path) -> None:
    again = _build(tmp_path)
    try:
        assert _summaries(again) == _summaries(store)
        for model in FAMILIES:
            assert [e.to_json() for e in again.history(model)] == \
                [e.to_json() for e in store.history(model)]
        records = sorted(p.relative_to(store.root) for p in (store.root / "models").rglob("*")
                         if p.is_file())
        assert records == sorted(p.relative_to(again.root)
                                 for p in (again.root / "models").rglob("*") if p.is_file())
        for rel in records:
            assert (store.root / rel).read_bytes() == (again.root / rel).read_bytes(), rel
    finally:
        again.close()


def test_no_wall_clock_or_machine_identity(store: Store) -> None:
    versions = _all_versions(store)
    hosts = {v.created_by.get("host") for v in versions} | {v.host for v in versions}
    assert socket.gethostname() not in hosts and "the-callers-host" not in hosts
    assert all(v.created_at.startswith("2026-0") for v in versions)
    assert len({v.user for v in versions}) >= 4


def test_lineage_resolves(store: Store) -> None:
    relations = Counter()
    for v in _all_versions(store):
        for parent in v.parents:
            assert store.get(parent["ref"]).ref == parent["ref"]
            relations[(v.model, parent["ref"], parent["relation"])] += 1
    assert relations[("vit-food101", "vit-base:2", "fine-tuned-from")] == 16
    assert relations[("llama-mini-support-lora", "llama-mini:1", "adapter-of")] == 14
    assert len(store.get("vit-base:2").children()) == 16
    parent_time = store.get("vit-base:2").created_at
    assert all(v.created_at > parent_time for v in store.versions("vit-food101"))


def test_every_version_has_long_curves(store: Store) -> None:
    for v in store.versions("vit-food101"):
        frame = v.metric_series("train/loss")
        assert frame.height >= 4000
        assert {"train/loss", "eval/accuracy", "learning_rate"} <= set(v.metric_keys)
    for v in store.versions("churn-xgb"):
        assert v.metric_series("eval/logloss").height >= 1800
        values = v.metric_series("train/logloss")["value"].to_list()
        assert values[-1] < values[0]  # it learns
    lr = store.get("vit-food101:1").metric_series("learning_rate")["value"].to_list()
    peak = lr.index(max(lr))
    assert 0 < peak < len(lr) // 4 and lr[-1] < max(lr) / 100  # warmup, then cosine decay
    assert all(v.metric_keys for v in _all_versions(store))


def test_charts(store: Store) -> None:
    churn = store.get("churn-xgb:10").charts
    assert {"roc", "pr", "confusion_matrix", "feature_importance", "feature_stats"} <= set(churn)
    assert 50 <= len(churn["roc"]["fpr"]) <= 100
    assert len(churn["pr"]["precision"]) == len(churn["pr"]["recall"])
    assert len(churn["confusion_matrix"]["matrix"]) == 2
    stats = churn["feature_stats"]["features"][0]
    assert {"count", "mean", "std", "min", "max", "histogram"} <= set(stats)
    assert len(stats["histogram"]["edges"]) == len(stats["histogram"]["counts"]) + 1
    food = store.get("vit-food101:3").charts["confusion_matrix"]
    assert len(food["labels"]) == 5 and all(len(row) == 5 for row in food["matrix"])


def test_weight_formats_and_pickle_flag(store: Store, tmp_path: Path) -> None:
    formats = Counter((v.format, v.has_pickle) for v in store.versions("churn-xgb"))
    assert formats[("pickle", True)] >= 2 and formats[("onnx", False)] >= 2
    for ref, name in (("vit-food101:1", "model.safetensors"),
                      ("llama-mini-support-lora:1", "adapter_model.safetensors")):
        copy = tmp_path / name
        copy.write_bytes(store.get(ref).open(name))
        assert len(safetensors_header(copy)) > 2  # a valid header with tensors
    assert store.get("vit-food101:1").summary["param_count"] > 80_000_000
    assert store.get("vit-food101:1").serving["resources"]["gpu"] == 1
    assert b"architectures" in store.get("vit-base:2").open("config.json")
    assert b"base_model_name_or_path" in store.get(
        "llama-mini-support-lora:1").open("adapter_config.json")


def test_sources_with_git_and_a_dirty_diff(store: Store) -> None:
    churn = store.versions("churn-xgb")
    assert all(v.source["git"]["commit"] for v in churn)
    dirty = [v for v in churn if v.source_diff()]
    assert 1 <= len(dirty) < len(churn)
    assert dirty[0].source_diff().startswith("diff --git a/train.py")
    assert len(churn[0].source_file("train.py").decode().splitlines()) >= 50


def test_aliases_moved_over_time(store: Store) -> None:
    for model in ("churn-xgb", "vit-food101", "llama-mini-support-lora"):
        moves = Counter(e.data["alias"] for e in store.history(model) if e.type == "alias.set")
        assert moves["champion"] >= 2 and moves["staging"] >= 2, model
        assert moves["production"] >= 1, model
    history = store.history("churn-xgb")
    assert [e.at for e in history] == sorted(e.at for e in history)


def test_curation(store: Store) -> None:
    deprecated = [v.ref for v in _all_versions(store) if v.deprecated]
    assert 2 <= len(deprecated) <= 3
    reasons = [e.data["reason"] for m in FAMILIES for e in store.history(m)
               if e.type == "deprecated.set"]
    assert all(reasons)
    assert sum(e.type == "description.set" for m in FAMILIES for e in store.history(m)) >= 3
    assert any(v.tags.get("stage") == "production" for v in store.versions("churn-xgb"))


def test_markup_fixture(store: Store) -> None:
    v = store.get("resnet[/bold]:1")
    for needle in ("\x1b[31m", "\x1b]52;c;ZXZpbA==\x07", "\u202e", "[@click=app.quit]quit[/]",
                   "[link=file:///etc/passwd]x[/link]"):
        assert needle in v.description
    assert v.description == HOSTILE
    assert v.tags["note"] == "[bold]" and v.params["layers"] == "[0]"
    assert "\x1b" in store.get("resnet[/bold]@champion").description
