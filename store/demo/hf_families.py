"""What one demo version holds for the Hugging Face families.

vit-base and its vit-food101 fine-tunes (safetensors, a confusion matrix), llama-mini and
its support-desk LoRA adapters (adapter config, a parent link): each version's params,
curves, datasets, serving signature, files and Trainer script.
"""

from __future__ import annotations

import math
import random
from datetime import datetime
from functools import partial
from typing import Any

from modelyard.store.demo import charts as dc
from modelyard.store.demo import files as df
from modelyard.store.demo.families import TRAINERS, dataset_digest, training_run

# 2. an image base model and its food-101 fine-tunes
FOOD_LABELS = ("pizza", "sushi", "ramen", "tacos", "other")


def vit_version(rng: random.Random, number: int, start: datetime, *, tuned: bool
                ) -> dict[str, Any]:
    labels = 101 if tuned else 1000
    target = (0.80 + 0.07 * number / 16 + rng.gauss(0, 0.01)) if tuned else 0.78 + 0.015 * number
    accuracy = round(min(0.93, target), 4)
    n, warmup, minutes = rng.randint(4800, 5200), rng.choice([250, 500]), rng.uniform(90, 300)
    lr = rng.choice([2e-5, 3e-5, 5e-5, 1e-4]) if tuned else 1e-3
    training = training_run(rng, start, minutes if tuned else minutes * 20, TRAINERS[:3])
    curve = partial(dc.curve, rng, n, start, minutes)
    series = {"train/loss": curve(start=math.log(labels), end=-1.3 * math.log(accuracy),
                                  tau=400, noise=0.04),
              "eval/loss": curve(start=math.log(labels), end=-1.4 * math.log(accuracy),
                                 tau=400, noise=0.01, every=250, rise=0.05),
              "eval/accuracy": curve(start=1 / labels, end=accuracy, tau=500, noise=0.004,
                                     every=250),
              "learning_rate": dc.lr_schedule(n, lr, warmup, start, minutes)}
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
        "datasets": [{"role": r, "name": d, "rows": rows, "digest": dataset_digest(d, r),
                      "uri": f"hf://datasets/{d}/{r}"} for r, d, rows in data],
        "charts": {"confusion_matrix": dc.confusion(rng, FOOD_LABELS, accuracy)} if tuned else {},
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
def llama_version(rng: random.Random, number: int, start: datetime) -> dict[str, Any]:
    n, minutes = 5000, rng.uniform(3, 4) * 24 * 60
    training = training_run(rng, start, minutes, TRAINERS[3:])
    loss = 2.45 - 0.1 * number + rng.gauss(0, 0.02)
    series = {"train/loss": dc.curve(rng, n, start, minutes, start=10.4, end=loss, tau=300,
                                     noise=0.03),
              "learning_rate": dc.lr_schedule(n, 4e-4, 200, start, minutes)}
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
                            "digest": dataset_digest("slimpajama", str(number)),
                            "uri": "s3://acme-ml-data/pretrain/slimpajama-sample/"},
                           {"role": "validation", "name": "wikitext-103", "rows": 3_760,
                            "digest": dataset_digest("wikitext-103"), "uri": "hf://datasets/wikitext"}],
              "serving": _hf_serving(["input_ids", "int64", [-1, -1]],
                                     ["logits", "float32", [-1, -1, 32000]], "vllm-0.9"),
              "files": {"model.safetensors": df.safetensors_bytes(
                  df.llama_tensors(), {"format": "pt", "run": training["run_id"]}),
                  "config.json": df.json_bytes({"architectures": ["LlamaForCausalLM"],
                                                "model_type": "llama", "hidden_size": 2048,
                                                "num_hidden_layers": 22,
                                                "torch_dtype": "bfloat16"})}}
    return fields


def lora_version(rng: random.Random, number: int, start: datetime) -> dict[str, Any]:
    rank = rng.choice([8, 16, 32])
    modules = rng.choice([["q_proj", "v_proj"], ["q_proj", "k_proj", "v_proj", "o_proj"]])
    n, minutes = rng.randint(2500, 4000), rng.uniform(40, 160)
    training = training_run(rng, start, minutes, TRAINERS[2:])
    rouge = round(min(0.62, 0.41 + 0.012 * number + 0.002 * len(modules) + rng.gauss(0, 0.01)), 4)
    params: dict[str, Any] = {
        "r": rank, "lora_alpha": 2 * rank, "lora_dropout": rng.choice([0.05, 0.1]),
        "target_modules": modules, "learning_rate": rng.choice([1e-4, 2e-4, 3e-4]),
        "batch_size": rng.choice([8, 16]), "epochs": rng.randint(2, 4),
        "warmup_steps": 100, "eval_steps": 100, "max_seq_len": rng.choice([1024, 2048])}
    curve = partial(dc.curve, rng, n, start, minutes, start=2.3, tau=250)
    series = {"train/loss": curve(end=1.5 - rouge, noise=0.05),
              "eval/loss": curve(end=1.55 - rouge, noise=0.01, every=100, rise=0.08),
              "learning_rate": dc.lr_schedule(n, params["learning_rate"], 100, start, minutes)}
    fields = {
        "description": f"Support-desk LoRA r={rank} on {', '.join(modules)}.",
        "tags": {"team": "nlp", "task": "support-answers"}, "training": training,
        "params": params, "metric_series": series,
        "metrics": {"rougeL": rouge, "exact_match": round(rouge * 0.55 + rng.gauss(0, 0.01), 4),
                    "eval_loss": series["eval/loss"]["values"][-1]},
        "parents": [{"ref": "llama-mini:1", "relation": "adapter-of"}],
        "datasets": [{"role": r, "name": f"support-tickets-{r}", "rows": rows,
                      "digest": dataset_digest("support", "2026-05", r),
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
