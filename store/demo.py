"""A demo store that looks lived in and is the same on every run.

The explorer, the screenshots and the snapshot tests need weeks of training runs by several
people, curves with thousands of points, aliases that moved, a pickle to warn about and a
model whose name and description try to inject markup. Everything comes from one seed, and
every write happens under a frozen clock and a made-up identity, never this machine's.
"""

from __future__ import annotations

import hashlib
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

from . import demo_files as df
from .api import Store
from .clock import frozen_at

BASE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
Who = tuple[str, str]
TRAINERS: tuple[Who, ...] = (("alice", "gpu-a1"), ("bob", "gpu-b2"), ("chen", "gpu-a3"),
                             ("dana", "train-07"))
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
    steps: list[Step] = []
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
    """Files go in as a drop folder would hold them: the format sniffer needs their names
    to tell ONNX and JSON apart from other bytes."""
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


def _training(rng: random.Random, start: datetime, minutes: float,
              pool: tuple[Who, ...] = TRAINERS) -> dict[str, Any]:
    user, host = rng.choice(pool)
    return {"user": user, "host": host, "started_at": start,
            "ended_at": start + timedelta(minutes=minutes), "status": "finished",
            "run_id": df.hexdigest(rng, 128)}


def _digest(*parts: str) -> str:
    """Stable per dataset snapshot: runs on the same data share a digest, as in life."""
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


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
        steps.append(Step(at, who, partial(Store.set_alias, ref=f"{model}:{number}",
                                           alias=alias)))
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
CHURN_FEATURES = (  # name, signature type, mean, std, min, max, prior importance
    ("tenure_months", "long", 32, 24, 0, 72, 0.22),
    ("monthly_charges", "double", 64.8, 30.1, 18.25, 118.75, 0.15),
    ("total_charges", "double", 2283, 2266, 18.8, 8684.8, 0.08),
    ("support_calls_90d", "long", 1.6, 1.9, 0, 14, 0.12),
    ("logins_30d", "long", 11.2, 8.4, 0, 60, 0.10),
    ("days_since_last_login", "long", 9.5, 14.2, 0, 120, 0.09),
    ("plan_tier", "long", 1.3, 0.9, 0, 3, 0.05),
    ("contract_months", "long", 9.8, 9.1, 1, 24, 0.11),
    ("payment_failures_180d", "long", 0.4, 0.9, 0, 8, 0.04),
    ("discount_pct", "double", 6.5, 8.0, 0, 40, 0.02),
    ("nps_score", "double", 7.1, 2.3, 0, 10, 0.02),
)


def _plan_churn(rng: random.Random) -> list[Step]:
    steps, runs = _family(rng, "churn-xgb", range(1, 26), BASE, _churn_version, (1, 3.5), "auc")
    moves, champions = _promotions(rng, "churn-xgb", runs, production=3)
    notes = ["Promoted after a week in staging: best AUC on the weekly eval snapshot.",
             "Reviewed with the retention team; calibration checked on the holdout.",
             "Baseline accepted by the retention team."]
    return steps + moves + _curate("churn-xgb", runs, champions, notes, {
        2: "eval split overlapped train (pipeline bug fixed in churn-model 4f1c2e7)",
        3: "eval split overlapped train (pipeline bug fixed in churn-model 4f1c2e7)"})


def _churn_params(rng: random.Random, number: int, names: list[str]) -> dict[str, Any]:
    return {"max_depth": rng.randint(3, 10), "eta": rng.choice([0.01, 0.02, 0.03, 0.05, 0.1]),
            "n_estimators": rng.randint(1800, 2200), "subsample": round(rng.uniform(0.6, 1), 2),
            "colsample_bytree": round(rng.uniform(0.5, 1), 2),
            "min_child_weight": rng.choice([1, 3, 5, 10]), "seed": number,
            "features": {"window_days": rng.choice([30, 60, 90]),
                         "encoding": rng.choice(["target", "onehot"]),
                         "clip_sigma": rng.choice([3.0, 4.0, None]), "include": names}}


def _churn_version(rng: random.Random, number: int, start: datetime) -> dict[str, Any]:
    feats = [f for f in CHURN_FEATURES
             if (number >= 8 or f[0] not in ("nps_score", "discount_pct"))
             and (number < 15 or f[0] != "total_charges")]
    names = [f[0] for f in feats]
    params = _churn_params(rng, number, names)
    depth, eta, rounds = params["max_depth"], params["eta"], params["n_estimators"]
    skill = 0.80 + 0.07 * number / 25 + rng.gauss(0, 0.012) - 0.01 * abs(depth - 6) / 4
    charts, metrics = df.binary_eval(rng, min(0.93, max(0.72, skill)))
    minutes = rounds * rng.uniform(0.4, 1.2) / 60
    training = _training(rng, start, minutes)
    floor = 0.52 - 0.45 * (metrics["auc"] - 0.7) - 0.012 * depth
    curve = partial(df.curve, rng, rounds, start, minutes, start=0.693, tau=3 / eta)
    series = {"train/logloss": curve(end=floor, noise=0.004),
              "eval/logloss": curve(end=floor + 0.05, noise=0.008, rise=0.004 * depth),
              "eval/auc": curve(start=0.5, end=metrics["auc"], noise=0.002, every=10)}
    metrics["logloss"] = series["eval/logloss"]["values"][-1]
    charts["feature_importance"] = df.importance(rng, feats)
    charts["feature_stats"] = df.feature_stats(rng, feats, 182_000 + 97 * number)
    use_pickle = number % 4 == 1 or rng.random() < 0.15
    fields = {"description": f"Churn model, {len(names)} features, depth {depth}, eta {eta}.",
              "tags": {"team": "growth", "stage": "experiment"}, "training": training,
              "params": params, "metrics": metrics, "charts": charts,
              "features": [{"name": n, "type": t} for n, t, *_ in feats],
              "datasets": _churn_datasets(start),
              "summary": {"trees": rounds, "param_count": rounds * round(0.6 * 2 ** depth)},
              "serving": _churn_serving(rng, feats, use_pickle),
              "files": ({"model.pkl": df.pickle_bytes(rng, rng.randint(8000, 20000), names)}
                        if use_pickle else {"model.onnx": df.onnx_bytes(rng, 8000 + number * 400)}),
              "metric_series": series, "source": _churn_source(rng, params)}
    return fields


def _churn_datasets(start: datetime) -> list[dict[str, Any]]:
    snapshot = (start - timedelta(days=start.weekday())).strftime("%Y-%m-%d")  # weekly
    return [{"role": role, "name": f"churn-{role}", "rows": rows, "digest": _digest(snapshot, role),
             "uri": f"s3://acme-ml-data/churn/{snapshot}/{role}.parquet"}
            for role, rows in (("train", 182_113), ("test", 24_870), ("eval", 24_902))]


def _churn_serving(rng: random.Random, feats: list, use_pickle: bool) -> dict[str, Any]:
    return {"framework": "sklearn" if use_pickle else "xgboost",
            "framework_version": "1.5.2" if use_pickle else "2.1.4",
            "runtime": "python-3.11" if use_pickle else "onnxruntime-1.20",
            "signature": {"inputs": [{"name": n, "type": t, "required": True}
                                     for n, t, *_ in feats],
                          "outputs": [{"name": "churn_probability", "type": "double"}]},
            "resources": {"cpu": rng.choice([1, 2]), "memory": rng.choice(["1Gi", "2Gi"])}}


def _churn_source(rng: random.Random, params: dict[str, Any]) -> dict[str, Any]:
    source: dict[str, Any] = {
        "files": {"train.py": df.churn_train_py(), "config.yaml": df.yaml_bytes(params)},
        "entrypoint": "python train.py --config config.yaml",
        "git": df.git_info(rng, "churn-model", ("main", "main", "feat/support-window"))}
    if rng.random() < 0.2:
        source["diff"] = df.dirty_diff("train.py", df.churn_train_py(), rng)
    return source


# 2. an image base model and its food-101 fine-tunes
FOOD_LABELS = ("pizza", "sushi", "ramen", "tacos", "other")


def _plan_vit(rng: random.Random) -> list[Step]:
    base_steps, base_runs = _family(rng, "vit-base", range(1, 4), BASE + timedelta(days=1),
                                    partial(_vit_version, tuned=False), (8, 14), "accuracy")
    steps, runs = _family(rng, "vit-food101", range(1, 17),
                          base_runs[1][1] + timedelta(days=1),  # fine-tuned from vit-base:2
                          partial(_vit_version, tuned=True), (0.25, 3.3), "accuracy")
    base_moves, _ = _promotions(rng, "vit-base", base_runs)
    moves, champions = _promotions(rng, "vit-food101", runs, production=1)
    notes = ["Best validation accuracy so far; most confusions are ramen vs. other.",
             "Reviewed class by class on the confusion matrix."]
    return base_steps + steps + base_moves + moves + _curate(
        "vit-food101", runs, champions, notes,
        {1: "trained on the v1 food101 split with label noise; retrain from the fixed split"})


def _vit_version(rng: random.Random, number: int, start: datetime, *, tuned: bool
                 ) -> dict[str, Any]:
    labels = 101 if tuned else 1000
    target = (0.80 + 0.07 * number / 16 + rng.gauss(0, 0.01)) if tuned else 0.78 + 0.015 * number
    accuracy = round(min(0.93, target), 4)
    n, warmup, minutes = rng.randint(4800, 5200), rng.choice([250, 500]), rng.uniform(90, 300)
    lr = rng.choice([2e-5, 3e-5, 5e-5, 1e-4]) if tuned else 1e-3
    training = _training(rng, start, minutes if tuned else minutes * 20, TRAINERS[:3])
    curve = partial(df.curve, rng, n, start, minutes)
    series = {"train/loss": curve(start=math.log(labels), end=-1.3 * math.log(accuracy),
                                  tau=400, noise=0.04),
              "eval/loss": curve(start=math.log(labels), end=-1.4 * math.log(accuracy),
                                 tau=400, noise=0.01, every=250, rise=0.05),
              "eval/accuracy": curve(start=1 / labels, end=accuracy, tau=500, noise=0.004,
                                     every=250),
              "learning_rate": df.lr_schedule(n, lr, warmup, start, minutes)}
    params = {"learning_rate": lr, "batch_size": rng.choice([32, 64, 128]), "epochs":
              rng.randint(3, 10), "warmup_steps": warmup, "weight_decay": rng.choice([0.01, 0.05]),
              "label_smoothing": 0.1, "eval_steps": 250,
              "optimizer": {"name": "adamw", "betas": [0.9, 0.999], "eps": 1e-8},
              "augmentation": {"randaugment": rng.random() < 0.5,
                               "mixup": rng.choice([0.0, 0.2]), "image_size": 224}}
    data = [("train", "food101", 75_750), ("validation", "food101", 25_250)] if tuned else \
        [("train", "imagenet-1k", 1_281_167), ("validation", "imagenet-1k", 50_000)]
    fields = {
        "description": f"ViT-B/16 fine-tuned on Food-101, lr {lr}." if tuned else
        "ViT-B/16 trained on ImageNet-1k; the base the vision team fine-tunes from.",
        "tags": {"team": "vision", "task": "image-classification"}, "training": training,
        "params": params, "metric_series": series,
        "metrics": {"accuracy": accuracy, "top5_accuracy": round(1 - (1 - accuracy) / 4, 4),
                    "f1_macro": round(accuracy - rng.uniform(0.002, 0.01), 4)},
        "parents": [{"ref": "vit-base:2", "relation": "fine-tuned-from"}] if tuned else [],
        "datasets": [{"role": r, "name": d, "rows": rows, "digest": _digest(d, r),
                      "uri": f"hf://datasets/{d}/{r}"} for r, d, rows in data],
        "charts": {"confusion_matrix": df.confusion(rng, FOOD_LABELS, accuracy)} if tuned else {},
        "summary": {"param_count": 85_876_325 if tuned else 86_567_656, "image_size": 224},
        "serving": _hf_serving(["pixel_values", "float32", [-1, 3, 224, 224]],
                               ["logits", "float32", [-1, labels]], "pytorch-2.7"),
        "files": {"model.safetensors": df.safetensors_bytes(
            df.vit_tensors(labels), {"format": "pt", "run": training["run_id"]}),
            "config.json": df.json_bytes({"architectures": ["ViTForImageClassification"],
                                          "model_type": "vit", "hidden_size": 768,
                                          "num_hidden_layers": 12, "image_size": 224,
                                          "patch_size": 16, "num_labels": labels,
                                          "torch_dtype": "float32",
                                          "transformers_version": "4.52.4"})},
        "source": _hf_source(rng, params, base="acme/vit-base", dataset="ethz/food101",
                             drop="vit-food101", lora=False)}
    return fields


def _hf_serving(inputs: list, outputs: list, runtime: str) -> dict[str, Any]:
    def spec(name: str, dtype: str, shape: Any) -> dict[str, Any]:
        return {"name": name, "type": "tensor", "dtype": dtype, "shape": shape}
    return {"framework": "transformers", "framework_version": "4.52.4", "runtime": runtime,
            "signature": {"inputs": [spec(*inputs)], "outputs": [spec(*outputs)]},
            "resources": {"cpu": 4, "memory": "16Gi", "gpu": 1}}


def _hf_source(rng: random.Random, params: dict[str, Any], **script: Any) -> dict[str, Any]:
    return {"files": {"train.py": df.hf_train_py(**script), "config.yaml": df.yaml_bytes(params)},
            "entrypoint": "accelerate launch train.py",
            "git": df.git_info(rng, "finetune-recipes", ("main", "exp/warmup"))}


# 3. a small language model and support-desk LoRA adapters on it
def _plan_llama(rng: random.Random) -> list[Step]:
    base_steps, base_runs = _family(rng, "llama-mini", range(1, 3), BASE + timedelta(days=2),
                                    _llama_version, (12, 12), "hellaswag")
    steps, runs = _family(rng, "llama-mini-support-lora", range(1, 15),
                          base_runs[0][1] + timedelta(days=2),  # adapters of llama-mini:1
                          _lora_version, (1, 5), "rougeL")
    base_moves, _ = _promotions(rng, "llama-mini", base_runs)
    moves, champions = _promotions(rng, "llama-mini-support-lora", runs, production=1)
    notes = ["Cites the right help article in 9 of 10 spot-checked answers."]
    return base_steps + steps + base_moves + moves + _curate(
        "llama-mini-support-lora", runs, champions, notes, {})


def _llama_version(rng: random.Random, number: int, start: datetime) -> dict[str, Any]:
    n, minutes = 5000, rng.uniform(3, 4) * 24 * 60
    training = _training(rng, start, minutes, TRAINERS[3:])
    loss = 2.45 - 0.1 * number + rng.gauss(0, 0.02)
    series = {"train/loss": df.curve(rng, n, start, minutes, start=10.4, end=loss, tau=300,
                                     noise=0.03),
              "learning_rate": df.lr_schedule(n, 4e-4, 200, start, minutes)}
    params = {"hidden_size": 2048, "num_layers": 22, "num_heads": 32, "vocab_size": 32000,
              "context_length": 2048, "learning_rate": 4e-4, "batch_tokens": 2_097_152,
              "optimizer": {"name": "adamw", "betas": [0.9, 0.95], "weight_decay": 0.1}}
    fields = {"description": "A 1.1B Llama-architecture base model for internal fine-tunes.",
              "tags": {"team": "nlp"}, "training": training, "params": params,
              "metric_series": series, "summary": {"param_count": 1_100_048_384},
              "metrics": {"eval_loss": round(loss + 0.04, 4),
                          "perplexity": round(math.exp(loss + 0.04), 3),
                          "hellaswag": round(0.52 + 0.03 * number + rng.gauss(0, 0.005), 4)},
              "datasets": [{"role": "train", "name": "slimpajama-sample", "rows": 48_000_000,
                            "digest": _digest("slimpajama", str(number)),
                            "uri": "s3://acme-ml-data/pretrain/slimpajama-sample/"},
                           {"role": "validation", "name": "wikitext-103", "rows": 3_760,
                            "digest": _digest("wikitext-103"), "uri": "hf://datasets/wikitext"}],
              "serving": _hf_serving(["input_ids", "int64", [-1, -1]],
                                     ["logits", "float32", [-1, -1, 32000]], "vllm-0.9"),
              "files": {"model.safetensors": df.safetensors_bytes(
                  df.llama_tensors(), {"format": "pt", "run": training["run_id"]}),
                  "config.json": df.json_bytes({"architectures": ["LlamaForCausalLM"],
                                                "model_type": "llama", "hidden_size": 2048,
                                                "num_hidden_layers": 22,
                                                "torch_dtype": "bfloat16"})}}
    return fields


def _lora_version(rng: random.Random, number: int, start: datetime) -> dict[str, Any]:
    rank = rng.choice([8, 16, 32])
    modules = rng.choice([["q_proj", "v_proj"], ["q_proj", "k_proj", "v_proj", "o_proj"]])
    n, minutes = rng.randint(2500, 4000), rng.uniform(40, 160)
    training = _training(rng, start, minutes, TRAINERS[2:])
    rouge = round(min(0.62, 0.41 + 0.012 * number + 0.002 * len(modules) + rng.gauss(0, 0.01)), 4)
    params = {"r": rank, "lora_alpha": 2 * rank, "lora_dropout": rng.choice([0.05, 0.1]),
              "target_modules": modules, "learning_rate": rng.choice([1e-4, 2e-4, 3e-4]),
              "batch_size": rng.choice([8, 16]), "epochs": rng.randint(2, 4),
              "warmup_steps": 100, "eval_steps": 100, "max_seq_len": rng.choice([1024, 2048])}
    curve = partial(df.curve, rng, n, start, minutes, start=2.3, tau=250)
    series = {"train/loss": curve(end=1.5 - rouge, noise=0.05),
              "eval/loss": curve(end=1.55 - rouge, noise=0.01, every=100, rise=0.08),
              "learning_rate": df.lr_schedule(n, params["learning_rate"], 100, start, minutes)}
    fields = {
        "description": f"Support-desk LoRA r={rank} on {', '.join(modules)}.",
        "tags": {"team": "nlp", "task": "support-answers"}, "training": training,
        "params": params, "metric_series": series,
        "metrics": {"rougeL": rouge, "exact_match": round(rouge * 0.55 + rng.gauss(0, 0.01), 4),
                    "eval_loss": series["eval/loss"]["values"][-1]},
        "parents": [{"ref": "llama-mini:1", "relation": "adapter-of"}],
        "datasets": [{"role": r, "name": f"support-tickets-{r}", "rows": rows,
                      "digest": _digest("support", "2026-05", r),
                      "uri": f"s3://acme-ml-data/support/2026-05/{r}.jsonl"}
                     for r, rows in (("train", 41_200), ("test", 2_150))],
        "summary": {"param_count": 22 * len(modules) * 2 * rank * 2048,
                    "base_param_count": 1_100_048_384},
        "serving": {**_hf_serving(["input_ids", "int64", [-1, -1]],
                                  ["logits", "float32", [-1, -1, 32000]], "vllm-0.9"),
                    "adapter": True},
        "files": {"adapter_config.json": df.json_bytes({
            "base_model_name_or_path": "acme/llama-mini", "peft_type": "LORA", "r": rank,
            "lora_alpha": 2 * rank, "lora_dropout": params["lora_dropout"],
            "target_modules": modules, "task_type": "CAUSAL_LM"}),
            "adapter_model.safetensors": df.safetensors_bytes(
                df.lora_tensors(rank, modules), {"format": "pt", "run": training["run_id"]})},
        "source": _hf_source(rng, params, base="acme/llama-mini", dataset="acme/support-tickets",
                             drop="llama-mini-support-lora", lora=True)}
    return fields


# 4. a model whose strings try to break whatever displays them
HOSTILE = ("Renders as text, never markup: \x1b[31mred\x1b[0m, \x1b[2J a CSI clear, an OSC 52 "
           "clipboard write \x1b]52;c;ZXZpbA==\x07, a bidi override \u202etxt.exe\u202c, "
           "[@click=app.quit]quit[/] and [link=file:///etc/passwd]x[/link] [bold]unclosed")


def _plan_fixture(rng: random.Random) -> list[Step]:
    model = "resnet[/bold]"
    steps, runs = _family(rng, model, range(1, 3), BASE + timedelta(days=30), _fixture_version,
                          (3, 3), "top1")
    later = runs[-1][1] + timedelta(days=1)
    for number in (1, 2):
        steps.append(Step(later + timedelta(hours=number), LEAD,
                          partial(Store.set_alias, ref=f"{model}:{number}", alias="champion")))
    steps.append(Step(later + timedelta(hours=3), LEAD,
                      partial(Store.describe, ref=f"{model}:2", text=HOSTILE + "\n[/]")))
    return steps


def _fixture_version(rng: random.Random, number: int, start: datetime) -> dict[str, Any]:
    training = _training(rng, start, 45.0, (("mallory", "lab-[b]1"),))
    return {"description": HOSTILE, "tags": {"note": "[bold]", "team": "qa"},
            "training": training, "params": {"layers": "[0]", "depth": 50, "block": "[/]"},
            "metrics": {"top1": 0.70 + 0.03 * number},
            "metric_series": {"train/loss": df.curve(rng, 2000, start, 45.0, start=6.9,
                                                     end=1.2, tau=300, noise=0.03)},
            "files": {"model.safetensors": df.safetensors_bytes(
                df.vit_tensors(10), {"format": "pt", "note": "[red]x[/red]"})}}
