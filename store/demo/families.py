"""What one demo version holds, for the churn-xgb and resnet[/bold] families.

A version's fields are built the way its training job would report them: params drawn
first, a score that follows from them, curves and charts shaped by that score. The
helpers at the top (trainers, the training record, dataset digests) serve every family,
including the Hugging Face ones in `demo_hf_families`.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from modelyard.store.demo import charts as dc
from modelyard.store.demo import files as df

Who = tuple[str, str]
TRAINERS: tuple[Who, ...] = (("alice", "gpu-a1"), ("bob", "gpu-b2"), ("chen", "gpu-a3"),
                             ("dana", "train-07"))


def training_run(rng: random.Random, start: datetime, minutes: float,
                 pool: tuple[Who, ...] = TRAINERS) -> dict[str, Any]:
    """A version's `training` record: one of `pool` ran it from `start` for `minutes`."""
    user, host = rng.choice(pool)
    return {"user": user, "host": host, "started_at": start,
            "ended_at": start + timedelta(minutes=minutes), "status": "finished",
            "run_id": df.hexdigest(rng, 128)}


def dataset_digest(*parts: str) -> str:
    """Stable per dataset snapshot: runs on the same data share a digest, as in life."""
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


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


def _churn_params(rng: random.Random, number: int, names: list[str]) -> dict[str, Any]:
    return {"max_depth": rng.randint(3, 10), "eta": rng.choice([0.01, 0.02, 0.03, 0.05, 0.1]),
            "n_estimators": rng.randint(1800, 2200), "subsample": round(rng.uniform(0.6, 1), 2),
            "colsample_bytree": round(rng.uniform(0.5, 1), 2),
            "min_child_weight": rng.choice([1, 3, 5, 10]), "seed": number,
            "features": {"window_days": rng.choice([30, 60, 90]),
                         "encoding": rng.choice(["target", "onehot"]),
                         "clip_sigma": rng.choice([3.0, 4.0, None]), "include": names}}


def churn_version(rng: random.Random, number: int, start: datetime) -> dict[str, Any]:
    feats = [f for f in CHURN_FEATURES
             if (number >= 8 or f[0] not in ("nps_score", "discount_pct"))
             and (number < 15 or f[0] != "total_charges")]
    names = [f[0] for f in feats]
    params = _churn_params(rng, number, names)
    depth, eta, rounds = params["max_depth"], params["eta"], params["n_estimators"]
    skill = 0.80 + 0.07 * number / 25 + rng.gauss(0, 0.012) - 0.01 * abs(depth - 6) / 4
    charts, metrics = dc.binary_eval(rng, min(0.93, max(0.72, skill)))
    minutes = rounds * rng.uniform(0.4, 1.2) / 60
    training = training_run(rng, start, minutes)
    floor = 0.52 - 0.45 * (metrics["auc"] - 0.7) - 0.012 * depth
    curve = partial(dc.curve, rng, rounds, start, minutes, start=0.693, tau=3 / eta)
    series = {"train/logloss": curve(end=floor, noise=0.004),
              "eval/logloss": curve(end=floor + 0.05, noise=0.008, rise=0.004 * depth),
              "eval/auc": curve(start=0.5, end=metrics["auc"], noise=0.002, every=10)}
    metrics["logloss"] = series["eval/logloss"]["values"][-1]
    charts["feature_importance"] = dc.importance(rng, feats)
    charts["feature_stats"] = dc.feature_stats(rng, feats, 182_000 + 97 * number)
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
    return [{"role": role, "name": f"churn-{role}", "rows": rows,
             "digest": dataset_digest(snapshot, role),
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


# 4. a model whose strings try to break whatever displays them
HOSTILE = ("Renders as text, never markup: \x1b[31mred\x1b[0m, \x1b[2J a CSI clear, an OSC 52 "
           "clipboard write \x1b]52;c;ZXZpbA==\x07, a bidi override \u202etxt.exe\u202c, "
           "[@click=app.quit]quit[/] and [link=file:///etc/passwd]x[/link] [bold]unclosed")


def fixture_version(rng: random.Random, number: int, start: datetime) -> dict[str, Any]:
    training = training_run(rng, start, 45.0, (("mallory", "lab-[b]1"),))
    return {"description": HOSTILE, "tags": {"note": "[bold]", "team": "qa"},
            "training": training, "params": {"layers": "[0]", "depth": 50, "block": "[/]"},
            "metrics": {"top1": 0.70 + 0.03 * number},
            "metric_series": {"train/loss": dc.curve(rng, 2000, start, 45.0, start=6.9,
                                                     end=1.2, tau=300, noise=0.03)},
            "files": {"model.safetensors": df.safetensors_bytes(
                df.vit_tensors(10), {"format": "pt", "note": "[red]x[/red]"})}}
