"""The synthetic files inside the demo store: weights and the sources that made them.

Weights are tiny (a few KB) so the demo stays small, yet each one is what its format
detector expects: ONNX protobuf, a protocol-4 pickle (only builtins, and never loaded),
safetensors with a valid header. Sources read like the scripts a team would commit, with
a git commit, a branch and now and then an uncommitted diff.
"""

from __future__ import annotations

import difflib
import json
import math
import pickle
import random
import struct
from collections.abc import Sequence

import yaml

_DTYPE_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}
Tensor = tuple[str, str, Sequence[int]]


def hexdigest(rng: random.Random, bits: int = 256) -> str:
    """A made-up but well-formed hex digest (dataset checksums, git commits, run ids)."""
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def onnx_bytes(rng: random.Random, size: int) -> bytes:
    """An ONNX ModelProto prefix (ir_version, producer) and an opaque graph field."""
    producer, version = b"onnxmltools", b"1.12.0"
    head = (b"\x08\x08" + b"\x12" + _varint(len(producer)) + producer
            + b"\x1a" + _varint(len(version)) + version + b"\x28" + _varint(1))
    graph = rng.randbytes(size)
    return head + b"\x3a" + _varint(len(graph)) + graph


def pickle_bytes(rng: random.Random, size: int, features: Sequence[str]) -> bytes:
    """A real protocol-4 pickle of plain data, so the pickle warning has something to flag."""
    body = {"booster": rng.randbytes(size), "feature_names": list(features),
            "objective": "binary:logistic"}
    return pickle.dumps(body, protocol=4)


def safetensors_bytes(tensors: Sequence[Tensor], metadata: dict[str, str]) -> bytes:
    """Header length, JSON header padded to 8 bytes, then zeroed tensor data."""
    header: dict[str, object] = {"__metadata__": metadata}
    offset = 0
    for name, dtype, shape in tensors:
        size = math.prod(shape) * _DTYPE_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def vit_tensors(labels: int, hidden: int = 8, layers: int = 2) -> list[Tensor]:
    """ViT parameter names with shapes scaled down (the real sizes are in summary)."""
    out: list[Tensor] = [
        ("vit.embeddings.cls_token", "F16", (1, 1, hidden)),
        ("vit.embeddings.position_embeddings", "F16", (1, 17, hidden)),
        ("vit.embeddings.patch_embeddings.projection.weight", "F16", (hidden, 3, 4, 4)),
    ]
    for i in range(layers):
        pre = f"vit.encoder.layer.{i}"
        out += [(f"{pre}.attention.attention.{p}.weight", "F16", (hidden, hidden))
                for p in ("query", "key", "value")]
        out += [(f"{pre}.attention.output.dense.weight", "F16", (hidden, hidden)),
                (f"{pre}.intermediate.dense.weight", "F16", (4 * hidden, hidden)),
                (f"{pre}.output.dense.weight", "F16", (hidden, 4 * hidden)),
                (f"{pre}.layernorm_before.weight", "F16", (hidden,))]
    return out + [("classifier.weight", "F16", (labels, hidden)),
                  ("classifier.bias", "F16", (labels,))]


def llama_tensors(vocab: int = 256, hidden: int = 8, layers: int = 2) -> list[Tensor]:
    out: list[Tensor] = [("model.embed_tokens.weight", "BF16", (vocab, hidden))]
    for i in range(layers):
        pre = f"model.layers.{i}"
        out += [(f"{pre}.self_attn.{p}_proj.weight", "BF16", (hidden, hidden))
                for p in ("q", "k", "v", "o")]
        out += [(f"{pre}.mlp.gate_proj.weight", "BF16", (44, hidden)),
                (f"{pre}.mlp.up_proj.weight", "BF16", (44, hidden)),
                (f"{pre}.mlp.down_proj.weight", "BF16", (hidden, 44)),
                (f"{pre}.input_layernorm.weight", "BF16", (hidden,))]
    return out + [("model.norm.weight", "BF16", (hidden,)),
                  ("lm_head.weight", "BF16", (vocab, hidden))]


def lora_tensors(rank: int, modules: Sequence[str], hidden: int = 8,
                 layers: int = 2) -> list[Tensor]:
    out: list[Tensor] = []
    for i in range(layers):
        for m in modules:
            pre = f"base_model.model.model.layers.{i}.self_attn.{m}"
            out += [(f"{pre}.lora_A.weight", "F32", (rank, hidden)),
                    (f"{pre}.lora_B.weight", "F32", (hidden, rank))]
    return out


def json_bytes(data: object) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True).encode() + b"\n"


def yaml_bytes(data: object) -> bytes:
    return yaml.safe_dump(data, sort_keys=False).encode()


CHURN_TRAIN = '''"""Train the churn classifier and export it for serving."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import xgboost as xgb
import yaml
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from churn.features import build_features, load_split

LABEL = "churned_within_90d"


def train(config: dict, out: Path) -> dict:
    train_df = build_features(load_split("train"), **config["features"])
    eval_df = build_features(load_split("eval"), **config["features"])
    features = [c for c in train_df.columns if c != LABEL]
    dtrain = xgb.DMatrix(train_df[features], label=train_df[LABEL])
    deval = xgb.DMatrix(eval_df[features], label=eval_df[LABEL])
    params = {
        "objective": "binary:logistic",
        "eval_metric": ["logloss", "auc"],
        "max_depth": config["max_depth"],
        "eta": config["eta"],
        "subsample": config["subsample"],
        "colsample_bytree": config["colsample_bytree"],
        "min_child_weight": config["min_child_weight"],
        "tree_method": "hist",
        "seed": config.get("seed", 0),
    }
    history: dict = {}
    booster = xgb.train(params, dtrain, num_boost_round=config["n_estimators"],
                        evals=[(dtrain, "train"), (deval, "eval")],
                        evals_result=history, verbose_eval=100)
    scores = booster.predict(deval)
    metrics = {
        "auc": roc_auc_score(eval_df[LABEL], scores),
        "accuracy": accuracy_score(eval_df[LABEL], scores > 0.5),
        "logloss": log_loss(eval_df[LABEL], scores),
    }
    out.mkdir(parents=True, exist_ok=True)
    booster.save_model(out / "model.json")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "history.json").write_text(json.dumps(history))
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--out", type=Path, default=Path("drops/churn-xgb"))
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    metrics = train(config, args.out)
    print(pd.Series(metrics).to_string())


if __name__ == "__main__":
    main()
'''

HF_TRAIN = '''"""Fine-tune {base} with the Hugging Face Trainer and drop the result."""

import yaml
from datasets import load_dataset
from transformers import {auto_cls}, Trainer, TrainingArguments
{extra_import}
config = yaml.safe_load(open("config.yaml"))
data = load_dataset("{dataset}")
model = {auto_cls}.from_pretrained("{base}")
{extra_setup}
args = TrainingArguments(
    output_dir="out",
    learning_rate=config["learning_rate"],
    per_device_train_batch_size=config["batch_size"],
    num_train_epochs=config["epochs"],
    warmup_steps=config["warmup_steps"],
    lr_scheduler_type="cosine",
    weight_decay=config.get("weight_decay", 0.0),
    bf16=True,
    logging_steps=1,
    eval_strategy="steps",
    eval_steps=config["eval_steps"],
    save_strategy="no",
    report_to=[],
)
trainer = Trainer(model=model, args=args, train_dataset=data["train"],
                  eval_dataset=data["{eval_split}"])
trainer.train()
trainer.save_model("drops/{drop}")
'''


def churn_train_py() -> bytes:
    return CHURN_TRAIN.encode()


def hf_train_py(*, base: str, dataset: str, drop: str, lora: bool) -> bytes:
    """One Trainer script for both image fine-tunes and LoRA adapters."""
    text = HF_TRAIN.format(
        base=base, dataset=dataset, drop=drop,
        auto_cls="AutoModelForCausalLM" if lora else "AutoModelForImageClassification",
        eval_split="test" if lora else "validation",
        extra_import="from peft import LoraConfig, get_peft_model\n" if lora else "",
        extra_setup=("model = get_peft_model(model, LoraConfig(r=config['r'], "
                     "lora_alpha=config['lora_alpha'],\n    target_modules=config"
                     "['target_modules'], task_type='CAUSAL_LM'))\n") if lora else "")
    return text.encode()


def dirty_diff(path: str, original: bytes, rng: random.Random) -> str:
    """A small uncommitted local edit, as `git diff` would print it."""
    before = original.decode().splitlines(keepends=True)
    after = list(before)
    spot = rng.randrange(len(after) // 3, len(after) - 2)
    after.insert(spot, "    # TODO(local): revert before merging\n")
    after[spot + 1] = after[spot + 1].replace("config", "dict(config)", 1)
    body = "".join(difflib.unified_diff(before, after, fromfile=f"a/{path}",
                                        tofile=f"b/{path}", n=3))
    return (f"diff --git a/{path} b/{path}\nindex {hexdigest(rng, 28)}..{hexdigest(rng, 28)}"
            f" 100644\n{body}")


def git_info(rng: random.Random, repo: str, branches: Sequence[str]) -> dict[str, str]:
    return {"commit": hexdigest(rng, 160), "branch": rng.choice(list(branches)),
            "remote": f"git@github.com:acme-ml/{repo}.git"}
