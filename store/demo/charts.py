"""The synthetic numbers inside the demo store: metric curves and evaluation charts.

They have the shapes real training produces: noisy exponential decay that may rise again
late, warmup then cosine learning rates, ROC and PR from binormal scores of a chosen AUC,
confusion matrices, feature importances and per-feature histograms.
"""

from __future__ import annotations

import math
import random
import statistics
from datetime import datetime
from typing import Any


def curve(rng: random.Random, n: int, t0: datetime, minutes: float, *, start: float,
          end: float, tau: float, noise: float, every: int = 1, rise: float = 0.0,
          ) -> dict[str, list]:
    """An exponential approach from `start` to `end` with relative noise, optionally rising
    again late (overfitting), stamped like a logger would; 4 digits keep the Parquet small."""
    steps = list(range(every, n + 1, every))
    base_ms, ms = int(t0.timestamp() * 1000), minutes * 60_000 / n
    values = []
    for s in steps:
        clean = end + (start - end) * math.exp(-s / tau) + rise * max(0.0, s / n - 0.5)
        values.append(float(f"{clean * (1 + rng.gauss(0, noise)):.4g}"))
    return {"steps": steps, "values": values,
            "timestamps": [base_ms + int(s * ms) for s in steps]}


def lr_schedule(n: int, peak: float, warmup: int, t0: datetime, minutes: float,
                every: int = 10) -> dict[str, list]:
    """Linear warmup then cosine decay, the schedule the Trainer scripts use."""
    steps = list(range(every, n + 1, every))
    base_ms, ms = int(t0.timestamp() * 1000), minutes * 60_000 / n
    values = [peak * s / warmup if s < warmup else
              peak * 0.5 * (1 + math.cos(math.pi * (s - warmup) / (n - warmup))) for s in steps]
    return {"steps": steps, "values": [float(f"{v:.6g}") for v in values],
            "timestamps": [base_ms + int(s * ms) for s in steps]}


def binary_eval(rng: random.Random, auc: float, n: int = 3000, pos_rate: float = 0.22
                 ) -> tuple[dict[str, Any], dict[str, float]]:
    """ROC, PR and a confusion matrix from sampled binormal scores of about that AUC."""
    mu = math.sqrt(2) * statistics.NormalDist().inv_cdf(auc)
    pos = round(n * pos_rate)
    neg = n - pos
    scored = sorted([(rng.gauss(mu, 1), 1) for _ in range(pos)]
                    + [(rng.gauss(0, 1), 0) for _ in range(neg)], reverse=True)
    cut = mu / 2 + math.log(neg / pos) / mu  # the Bayes threshold for these classes
    tp = fp = 0
    area = ap = 0.0
    roc, pr = {"fpr": [0.0], "tpr": [0.0]}, {"precision": [1.0], "recall": [0.0]}
    for i, (_, label) in enumerate(scored, 1):
        tp, fp = tp + label, fp + (1 - label)
        area += 0 if label else tp
        ap += tp / i if label else 0
        if i % (n // 80) == 0 or i == n:
            roc["fpr"].append(round(fp / neg, 4))
            roc["tpr"].append(round(tp / pos, 4))
            pr["precision"].append(round(tp / i, 4))
            pr["recall"].append(round(tp / pos, 4))
    hit = sum(label for s, label in scored if s > cut)
    false = sum(1 - label for s, label in scored if s > cut)
    metrics = {"auc": round(area / (pos * neg), 4), "accuracy": round((neg - false + hit) / n, 4),
               "precision": round(hit / max(1, hit + false), 4), "recall": round(hit / pos, 4)}
    charts = {"roc": {**roc, "auc": metrics["auc"]}, "pr": {**pr, "ap": round(ap / pos, 4)},
              "confusion_matrix": {"labels": ["stay", "churn"],
                                   "matrix": [[neg - false, false], [pos - hit, hit]]}}
    return charts, metrics


def confusion(rng: random.Random, labels: tuple[str, ...], accuracy: float,
               per_class: int = 250) -> dict[str, Any]:
    matrix = []
    for i in range(len(labels)):
        right = round(per_class * min(0.99, accuracy + rng.gauss(0, 0.03)))
        wrong = [rng.random() for _ in labels]
        wrong[i] = 0.0
        spread = [round((per_class - right) * w / sum(wrong)) for w in wrong]
        spread[i] = per_class - sum(spread)
        matrix.append(spread)
    return {"labels": list(labels), "matrix": matrix}


def importance(rng: random.Random, feats: list) -> dict[str, Any]:
    raw = sorted(((f[6] * rng.uniform(0.6, 1.4), f[0]) for f in feats), reverse=True)
    total = sum(w for w, _ in raw)
    return {"type": "gain", "features": [n for _, n in raw],
            "importance": [round(w / total, 4) for w, _ in raw]}


def feature_stats(rng: random.Random, feats: list, rows: int) -> dict[str, Any]:
    """Per feature: moments and a 10-bin histogram of the training split."""
    out = []
    for name, _, mean, std, lo, hi, _ in feats:
        dist = statistics.NormalDist(mean * rng.uniform(0.97, 1.03), std * rng.uniform(0.95, 1.05))
        edges = [round(lo + (hi - lo) * k / 10, 3) for k in range(11)]
        mass = [dist.cdf(b) - dist.cdf(a) for a, b in zip(edges, edges[1:], strict=False)]
        counts = [round(rows * m / sum(mass)) for m in mass]
        out.append({"name": name, "count": sum(counts), "mean": round(dist.mean, 3),
                    "std": round(dist.stdev, 3), "min": lo, "max": hi,
                    "histogram": {"edges": edges, "counts": counts}})
    return {"features": out}
