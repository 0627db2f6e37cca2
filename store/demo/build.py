"""A demo store that looks lived in and is the same on every run.

The explorer, the screenshots and the snapshot tests need weeks of training runs by several
people, curves with thousands of points, aliases that moved, a pickle to warn about and a
model whose name and description try to inject markup. Everything comes from one seed, and
every write happens under a frozen clock and a made-up identity, never this machine's.

This module is the timeline: who registers, promotes, describes and deprecates what, and
when, under the policy in `demo_policy`. What one version holds comes from `demo_families`
and `demo_hf_families`.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from modelyard.store.api import Store
from modelyard.store.demo.families import HOSTILE, Who, churn_version, fixture_version
from modelyard.store.demo.hf_families import llama_version, lora_version, vit_version
from modelyard.store.demo.policy import QUALITY, SERVING, promote, set_policy
from modelyard.store.disk.clock import frozen_at

BASE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
LEAD: Who = ("carol", "laptop-carol")
DEPLOY: Who = ("deploy-bot", "ci-runner-3")
Run = tuple[int, datetime, float]  # version number, created at, score used to rank it


@dataclass(frozen=True)
class Step:
    """One write, as a person at a moment; all families' steps merge into one timeline."""

    at: datetime
    who: Who
    run: Callable[[Store], object]


def build_demo(path: Path, *, seed: int = 7) -> Store:
    """Create a new store at `path` and fill it; the same seed gives the same store."""
    rng = random.Random(seed)
    with _acting(LEAD, BASE - timedelta(days=7)):
        store = Store.init(path)
    steps: list[Step] = [  # the policy: set at once, tightened three weeks in
        Step(BASE - timedelta(days=7, hours=-1), LEAD, partial(set_policy, SERVING)),
        Step(BASE + timedelta(days=21), LEAD, partial(set_policy, QUALITY))]
    for plan in (_plan_churn, _plan_vit, _plan_llama, _plan_fixture):
        steps += plan(random.Random(rng.getrandbits(64)))
    for step in sorted(steps, key=lambda s: s.at):  # stable: ties keep their plan order
        with _acting(step.who, step.at):
            step.run(store)
    return store


@contextmanager
def _acting(who: Who, moment: datetime) -> Iterator[None]:
    """Stamp writes with a demo person and moment, then restore the caller's environment."""
    saved = {k: os.environ.get(k) for k in ("MODELYARD_USER", "MODELYARD_HOST")}
    os.environ["MODELYARD_USER"], os.environ["MODELYARD_HOST"] = who
    try:
        with frozen_at(moment):
            yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _add(model: str, fields: dict[str, Any], store: Store) -> None:
    """Files go in as a drop folder would hold them: read from paths, as the watcher reads
    them."""
    with tempfile.TemporaryDirectory(prefix="modelyard-demo-") as folder:
        paths = {}
        for rel, data in fields["files"].items():
            paths[rel] = Path(folder, rel)
            paths[rel].write_bytes(data)
        store.add_version(model, dedupe=False, **{**fields, "files": paths})


def _family(rng: random.Random, model: str, numbers: range, start: datetime,
            make: Callable[[random.Random, int, datetime], dict[str, Any]],
            gap: tuple[float, float], score: str) -> tuple[list[Step], list[Run]]:
    """Versions trained one after another; each job registers its result a few minutes
    after training ends, as its trainer, and the next run starts `gap` days later."""
    steps, runs = [], []
    for number in numbers:
        fields = make(rng, number, start)
        training = fields["training"]
        created = training["ended_at"] + timedelta(minutes=rng.uniform(2, 15))
        steps.append(Step(created, (training["user"], training["host"]),
                          partial(_add, model, fields)))
        runs.append((number, created, fields["metrics"][score]))
        start = created + timedelta(days=rng.uniform(*gap))
    return steps, runs


# aliases and curation
def _promotions(rng: random.Random, model: str, runs: list[Run], *, production: int = 0
                ) -> tuple[list[Step], list[int]]:
    """`staging` follows most new versions, `champion` each new best a day or two later,
    `production` trails the champion by one; every move of an alias is later than the last."""
    steps: list[Step] = []
    last: dict[str, datetime] = {}

    def move(alias: str, number: int, at: datetime, who: Who) -> datetime:
        at = max(at, last.get(alias, at) + timedelta(hours=1))
        last[alias] = at
        steps.append(Step(at, who, partial(promote, ref=f"{model}:{number}", alias=alias)))
        return at

    best, champions = -math.inf, []
    for number, created, score in runs:
        if len(runs) < 5 or rng.random() < 0.6:  # small families stage every version
            move("staging", number, created + timedelta(hours=rng.uniform(1, 8)), DEPLOY)
        if score > best:
            best = score
            at = move("champion", number, created + timedelta(days=rng.uniform(1, 3)), LEAD)
            champions.append((number, at))
    for number, at in champions[-production - 1:-1] if production else []:
        at = move("production", number, at + timedelta(days=rng.uniform(1, 2)), DEPLOY)
        steps.append(Step(at, DEPLOY, partial(Store.tag, ref=f"{model}:{number}",
                                              key="stage", value="production")))
    return steps, [number for number, _ in champions]


def _curate(model: str, runs: list[Run], champions: list[int], notes: list[str],
            deprecate: dict[int, str]) -> list[Step]:
    """Release notes on the last champions, reviews, and a late clean-up of bad versions."""
    created = {number: at for number, at, _ in runs}
    steps = []
    for number, note in zip(reversed(champions), notes, strict=False):
        at = created[number] + timedelta(days=2, hours=3)
        steps.append(Step(at, LEAD, partial(Store.describe, ref=f"{model}:{number}", text=note)))
        steps.append(Step(at, LEAD, partial(Store.tag, ref=f"{model}:{number}",
                                            key="reviewed-by", value="carol")))
    end = max(created.values()) + timedelta(days=1)
    for number, reason in deprecate.items():
        steps.append(Step(end, LEAD, partial(Store.deprecate, ref=f"{model}:{number}",
                                             reason=reason)))
    return steps


# 1. a tabular classifier retrained every few days
def _plan_churn(rng: random.Random) -> list[Step]:
    steps, runs = _family(rng, "churn-xgb", range(1, 26), BASE, churn_version, (1, 3.5), "auc")
    moves, champions = _promotions(rng, "churn-xgb", runs, production=3)
    notes = ["Promoted after a week in staging: best AUC on the weekly eval snapshot.",
             "Reviewed with the retention team; calibration checked on the holdout.",
             "Baseline accepted by the retention team."]
    return steps + moves + _curate("churn-xgb", runs, champions, notes, {
        2: "eval split overlapped train (pipeline bug fixed in churn-model 4f1c2e7)",
        3: "eval split overlapped train (pipeline bug fixed in churn-model 4f1c2e7)"})


# 2. an image base model and its food-101 fine-tunes
def _plan_vit(rng: random.Random) -> list[Step]:
    base_steps, base_runs = _family(rng, "vit-base", range(1, 4), BASE + timedelta(days=1),
                                    partial(vit_version, tuned=False), (8, 14), "accuracy")
    steps, runs = _family(rng, "vit-food101", range(1, 17),
                          base_runs[1][1] + timedelta(days=1),  # fine-tuned from vit-base:2
                          partial(vit_version, tuned=True), (0.25, 3.3), "accuracy")
    base_moves, _ = _promotions(rng, "vit-base", base_runs)
    moves, champions = _promotions(rng, "vit-food101", runs, production=1)
    notes = ["Best validation accuracy so far; most confusions are ramen vs. other.",
             "Reviewed class by class on the confusion matrix."]
    return base_steps + steps + base_moves + moves + _curate(
        "vit-food101", runs, champions, notes,
        {1: "trained on the v1 food101 split with label noise; retrain from the fixed split"})


# 3. a small language model and support-desk LoRA adapters on it
def _plan_llama(rng: random.Random) -> list[Step]:
    base_steps, base_runs = _family(rng, "llama-mini", range(1, 3), BASE + timedelta(days=2),
                                    llama_version, (12, 12), "hellaswag")
    steps, runs = _family(rng, "llama-mini-support-lora", range(1, 15),
                          base_runs[0][1] + timedelta(days=2),  # adapters of llama-mini:1
                          lora_version, (1, 5), "rougeL")
    base_moves, _ = _promotions(rng, "llama-mini", base_runs)
    moves, champions = _promotions(rng, "llama-mini-support-lora", runs, production=1)
    notes = ["Cites the right help article in 9 of 10 spot-checked answers."]
    return base_steps + steps + base_moves + moves + _curate(
        "llama-mini-support-lora", runs, champions, notes, {})


# 4. a model whose strings try to break whatever displays them
def _plan_fixture(rng: random.Random) -> list[Step]:
    model = "resnet[/bold]"
    steps, runs = _family(rng, model, range(1, 3), BASE + timedelta(days=30), fixture_version,
                          (3, 3), "top1")
    later = runs[-1][1] + timedelta(days=1)
    for number in (1, 2):
        steps.append(Step(later + timedelta(hours=number), LEAD,
                          partial(Store.set_alias, ref=f"{model}:{number}", alias="champion")))
    steps.append(Step(later + timedelta(hours=3), LEAD,
                      partial(Store.describe, ref=f"{model}:2", text=HOSTILE + "\n[/]")))
    return steps
