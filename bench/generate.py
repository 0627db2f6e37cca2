"""Deterministic stores of any size, written straight in the on-disk format.

Adding a million versions through `Store.add_version` would take hours, so this writes what
`store/ingest/writer.py` would have written: `models/<name>/versions/<n>.json` write-once records,
`events/<n>.json` alias moves and `blobs/sha256/aa/bb/<hex>` blobs. Blobs come from a small
pool (content addressing shares them anyway): metric series of 1,000 to 100,000 points,
charts, weights and source files. Every byte depends only on the seed and the size, so two
runs build the same store. Two processes write the records; the index is then built by
timing `reindex`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from modelyard.store.disk.blobs import BlobStore
from modelyard.store.disk.layout import Layout, init_store
from modelyard.store.series import frames as series_mod

BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: every timestamp counts from here
RARE_WORD, COMMON_WORD = "quokka", "finetune"
FAMILIES = ("resnet", "vit", "bert", "llama", "xgb", "whisper", "unet", "gpt", "t5", "clip")
OPTIMIZERS = ("adam", "adamw", "sgd", "lion")
WORDS = ("baseline", "retrain", "ablation", "sweep", "distilled", "pruned", "quantized",
         "augmented", "longer", "warmup", "cosine", "mixup", "cutmix", "ema", "frozen",
         "unfrozen", "multilingual", "domain", "adapter", "lora", "checkpoint", "nightly")
FINAL_METRICS = ("acc", "auc", "f1", "precision", "recall", "loss", "val_loss", "val_acc",
                 "throughput", "latency_ms")
USERS = ("alice", "bob", "carol", "dana", "erin", "frank", "grace", "heidi")


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    extra: dict


def _put_blob(layout: Layout, data: bytes) -> str:
    hexdigest = hashlib.sha256(data).hexdigest()
    path = BlobStore(layout.blobs).path(f"sha256:{hexdigest}")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{hexdigest}.{os.getpid()}")
        tmp.write_bytes(data)
        os.chmod(tmp, 0o444)
        os.rename(tmp, path)
    return "sha256:" + hexdigest


def make_curve(rng: random.Random, n: int, start: float, end: float,
               noise: float) -> list[float]:
    """A training-like curve: exponential approach from `start` to `end`, plus noise."""
    rate = 5.0 / max(1, n)
    return [end + (start - end) * math.exp(-rate * i) + rng.gauss(0, noise) for i in range(n)]


def series_points(rng: random.Random, keys: dict[str, int], start_ms: int) -> dict:
    """{key: (steps, values, timestamps)} as the SDK logs them: a point every ~2 s."""
    out = {}
    for key, n in keys.items():
        lo, hi = (0.05, 2.5) if "loss" in key else (0.95, 0.1) if "acc" in key else (1e-3, 1e-5)
        values = make_curve(rng, n, hi, lo, 0.01 * abs(hi - lo))
        stamps = [start_ms + i * 2000 + rng.randrange(50) for i in range(n)]
        out[key] = (list(range(n)), values, stamps)
    return out


def _series_pool(layout: Layout, rng: random.Random) -> list[Blob]:
    """Series blobs: most runs log 5 curves of 200 points; a few log 10,000 or 100,000."""
    shapes = [200] * 24 + [2_000] * 6 + [10_000] * 2 + [100_000]
    pool = []
    for i, n in enumerate(shapes):
        keys = {"train/loss": n, "train/acc": n, "eval/loss": max(1, n // 10),
                "eval/acc": max(1, n // 10), "lr": n}
        points = series_points(rng, keys, BASE_MS + i * 1000)
        data = series_mod.to_parquet(points)
        summary = series_mod.summarize(points)
        pool.append(Blob(_put_blob(layout, data), len(data), {"keys": summary}))
    return pool


def _charts_pool(layout: Layout, rng: random.Random) -> list[Blob]:
    pool = []
    for _ in range(16):
        fpr = sorted(rng.random() for _ in range(50))
        tpr = sorted(min(1.0, x + rng.random() * 0.3) for x in fpr)
        charts = {
            "roc": {"fpr": [0.0, *fpr, 1.0], "tpr": [0.0, *tpr, 1.0], "auc": 0.9},
            "confusion_matrix": {"labels": ["a", "b", "c"],
                                 "matrix": [[rng.randrange(1000) for _ in range(3)]
                                            for _ in range(3)]},
            "feature_importance": {f"f{j}": rng.random() for j in range(20)},
        }
        raw = json.dumps(charts, sort_keys=True).encode()
        pool.append(Blob(_put_blob(layout, raw), len(raw), {"kinds": sorted(charts)}))
    return pool


def _files_pool(layout: Layout, rng: random.Random) -> list[Blob]:
    """Weights-like files (safetensors headers, 16-256 KiB) and source files."""
    pool = []
    for i in range(32):
        header = json.dumps({"w": {"dtype": "F32", "shape": [i + 1], "data_offsets": [0, 4]}})
        header += " " * (-len(header) % 8)
        body = rng.randbytes(16384 * (1 + i % 16))
        data = len(header).to_bytes(8, "little") + header.encode() + body
        pool.append(Blob(_put_blob(layout, data), len(data), {"format": "safetensors"}))
    for i in range(8):
        data = f"# train.py revision {i}\nimport torch\n".encode() * 40
        pool.append(Blob(_put_blob(layout, data), len(data), {"format": "python"}))
    return pool


def model_sizes(versions: int) -> list[int]:
    """About 100 versions per model, unevenly: some models have 10, some 400."""
    pattern = (10, 40, 60, 100, 100, 150, 250, 400, 20, 70)
    sizes: list[int] = []
    total = 0
    while total < versions:
        n = min(pattern[len(sizes) % len(pattern)], versions - total)
        sizes.append(n)
        total += n
    return sizes


def model_name(i: int) -> str:
    return f"{FAMILIES[i % len(FAMILIES)]}-{i:05d}"


def build_record(rng: random.Random, model: str, number: int, serial: int, pools: dict,
                 parent: str | None) -> dict:
    """One version record, shaped exactly like `writer.prepare_record` plus `claim_version`."""
    created_ms = BASE_MS + serial * 37_000
    started = created_ms - 3_600_000 - rng.randrange(3_600_000)
    optimizer = OPTIMIZERS[rng.randrange(len(OPTIMIZERS))]
    params = {
        "lr": rng.choice((1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5)),
        "batch_size": rng.choice((16, 32, 64, 128, 256)), "epochs": rng.randrange(1, 100),
        "seed": rng.randrange(10_000), "dropout": round(rng.random() * 0.5, 3),
        "warmup_steps": rng.choice((0, 100, 500, 1000)),
        "scheduler": rng.choice(("cosine", "linear", "constant")),
        "precision": rng.choice(("fp32", "bf16", "fp16")),
        "grad_clip": rng.choice((0.5, 1.0, 5.0)), "label_smoothing": rng.choice((0.0, 0.1)),
        "optimizer": {"name": optimizer, "beta1": 0.9, "beta2": rng.choice((0.98, 0.999)),
                      "weight_decay": rng.choice((0.0, 0.01, 0.05))},
        "model": {"depth": rng.choice((12, 24, 48)), "width": rng.choice((256, 512, 1024)),
                  "heads": rng.choice((4, 8, 16))},
        "data": {"augment": rng.random() < 0.5, "shuffle": True,
                 "max_len": rng.choice((128, 512, 2048))},
    }
    acc = round(rng.betavariate(8, 2), 4)
    metrics = {"acc": acc, "auc": round(min(1.0, acc + rng.random() * 0.1), 4),
               "f1": round(acc * (0.8 + rng.random() * 0.2), 4),
               "precision": round(rng.random(), 4), "recall": round(rng.random(), 4),
               "loss": round(rng.expovariate(3), 4), "val_loss": round(rng.expovariate(2.5), 4),
               "val_acc": round(acc - rng.random() * 0.05, 4),
               "throughput": round(rng.uniform(100, 5000), 1),
               "latency_ms": round(rng.uniform(1, 200), 2)}
    series_blob = pools["series"][(serial * 7) % len(pools["series"])]
    for key, s in series_blob.extra["keys"].items():
        metrics.setdefault(key, s["last"])
    charts_blob = pools["charts"][serial % len(pools["charts"])]
    weights = pools["weights"][(serial * 13) % len(pools["weights"])]
    source = pools["source"][serial % len(pools["source"])]
    words = [rng.choice(WORDS) for _ in range(4)]
    if serial % 2 == 0:
        words.append(COMMON_WORD)
    if serial % 99_991 == 777:  # one version in 100,000
        words.append(RARE_WORD)
    family = model.split("-")[0]
    description = f"{family} {' '.join(words)} run {serial} with {optimizer}"
    user = USERS[rng.randrange(len(USERS))]
    host = f"gpu-{rng.randrange(40):02d}"
    files = [{"path": "model.safetensors", "size": weights.size, "digest": weights.digest,
              "format": "safetensors", "pickle": False},
             {"path": "config.json", "size": charts_blob.size, "digest": charts_blob.digest,
              "format": "json", "pickle": False}]
    record = {
        "schema": "modelyard.version/1", "model": model, "description": description,
        "tags": {"team": f"team-{serial % 12}", "stage": rng.choice(("dev", "staging", "prod"))},
        "training": {"user": user, "host": host, "started_at": _iso(started),
                     "ended_at": _iso(created_ms - 60_000), "status": "finished",
                     "run_id": hashlib.md5(f"{model}:{number}".encode()).hexdigest()},
        "params": params,
        "features": [{"name": f"feature_{j}", "type": "double"} for j in range(8)],
        "datasets": [{"role": "train", "name": f"{family}-train-{serial % 50}",
                      "uri": f"s3://data/{family}/train/{serial % 50}",
                      "digest": "sha256:" + hashlib.sha256(b"t%d" % (serial % 50)).hexdigest(),
                      "rows": 100_000 + serial % 5000},
                     {"role": "test", "name": f"{family}-test-{serial % 50}",
                      "uri": f"s3://data/{family}/test/{serial % 50}",
                      "digest": "sha256:" + hashlib.sha256(b"e%d" % (serial % 50)).hexdigest()}],
        "parents": [{"ref": parent, "relation": "fine-tuned-from"}] if parent else [],
        "metrics": metrics,
        "summary": {"param_count": rng.choice((25_000_000, 86_000_000, 350_000_000, 7 * 10**9))},
        "serving": {"framework": "pytorch", "framework_version": "2.5",
                    "resources": {"cpu": "4", "memory": "16Gi", "gpu": 1}},
        "origin": {"kind": "sdk"},
        "metric_series": {"digest": series_blob.digest, "size": series_blob.size,
                          "keys": series_blob.extra["keys"]},
        "charts": {"digest": charts_blob.digest, "kinds": charts_blob.extra["kinds"]},
        "files": files,
        "source": {"files": [{"path": "train.py", "size": source.size,
                              "digest": source.digest}], "entrypoint": "train.py",
                   "git": {"commit": hashlib.sha1(b"%d" % (serial // 10)).hexdigest(),
                           "branch": "main", "dirty": False}},
    }
    record["content_digest"] = "sha256:" + hashlib.sha256(
        json.dumps(record, sort_keys=True).encode()).hexdigest()
    record.update(version=number, created_at=_iso(created_ms),
                  created_by={"user": user, "host": host})
    return record


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event(model: str, seq: int, version: int, alias: str, at_ms: int) -> dict:
    return {"seq": seq, "type": "alias.set", "model": model, "version": version,
            "at": _iso(at_ms), "user": "alice", "host": "gpu-00", "data": {"alias": alias}}


def _write(path: Path, body: dict) -> None:
    path.write_bytes(json.dumps(body, sort_keys=True, ensure_ascii=False, indent=1).encode()
                     + b"\n")


def _write_models(args: tuple[str, int, list[tuple[int, int, int]], dict]) -> int:
    """Worker: write every record and event of the models given as (index, size, serial0)."""
    root, seed, models, pools = args
    layout = Layout(Path(root))
    written = 0
    for index, size, serial0 in models:
        name = model_name(index)
        rng = random.Random(f"{seed}:{index}")
        versions_dir, events_dir = layout.versions_dir(name), layout.events_dir(name)
        versions_dir.mkdir(parents=True, exist_ok=True)
        events_dir.mkdir(parents=True, exist_ok=True)
        base = model_name(index - 1) if index and index % 3 == 0 else None
        for number in range(1, size + 1):
            parent = f"{name}:{number - 1}" if number > 1 else (f"{base}:1" if base else None)
            record = build_record(rng, name, number, serial0 + number - 1, pools, parent)
            _write(layout.record_path(name, number), record)
        at = BASE_MS + (serial0 + size) * 37_000
        moves = [(max(1, size // 2), "champion"), (size, "staging"), (size, "champion")]
        for seq, (version, alias) in enumerate(moves, start=1):
            _write(layout.event_path(name, seq), _event(name, seq, version, alias, at + seq))
        written += size
    return written


def generate_store(root: Path, versions: int, *, seed: int = 1, workers: int = 2) -> Path:
    """Build a store of `versions` versions at `root` (which must not exist yet)."""
    root = Path(root)
    init_store(root, user="bench")
    config_path = root / "modelyard.json"
    config = json.loads(config_path.read_text())
    config["store_id"] = hashlib.sha256(f"bench:{seed}:{versions}".encode()).hexdigest()[:32]
    config["created_at"] = _iso(BASE_MS)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    layout = Layout(root)
    rng = random.Random(seed)
    files = _files_pool(layout, rng)
    pools = {"series": _series_pool(layout, rng), "charts": _charts_pool(layout, rng),
             "weights": files[:32], "source": files[32:]}
    _pools_path(root).write_text(json.dumps(
        {kind: [[b.digest, b.size, b.extra] for b in blobs] for kind, blobs in pools.items()}))
    plan, serial = [], 1
    for index, size in enumerate(model_sizes(versions)):
        plan.append((index, size, serial))
        serial += size
    chunks = [plan[i::workers * 8] for i in range(workers * 8)]
    jobs = [(str(root), seed, chunk, pools) for chunk in chunks if chunk]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        total = sum(pool.map(_write_models, jobs))
    assert total == versions, (total, versions)
    return root


def _pools_path(root: Path) -> Path:
    return root.parent / f"{root.name}.pools.json"


def pools_of(root: Path) -> dict[str, list[Blob]]:
    """The blob pools a generated store's records point at (for writing more records)."""
    raw = json.loads(_pools_path(Path(root)).read_text())
    return {kind: [Blob(d, size, extra) for d, size, extra in blobs]
            for kind, blobs in raw.items()}
