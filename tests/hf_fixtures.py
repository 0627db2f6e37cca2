"""Hugging Face folders built by hand from the formats' facts (no transformers, no torch)."""

from __future__ import annotations

import json
import os
import pickle
import struct
from collections.abc import Sequence
from pathlib import Path

import yaml

DTYPE_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "U8": 1}
Tensor = tuple[str, str, Sequence[int]]

BERT_TENSORS: list[Tensor] = [
    ("bert.embeddings.word_embeddings.weight", "F32", [30, 8]),      # 240
    ("bert.encoder.layer.0.attention.self.query.weight", "F32", [8, 8]),  # 64
    ("classifier.weight", "BF16", [2, 8]),                             # 16
    ("classifier.bias", "BF16", [2]),                                  # 2
    ("bert.embeddings.position_ids", "I64", [1, 16]),                  # 16
]
BERT_PARAMS = 338

LOG_HISTORY = [
    {"epoch": 0.5, "step": 1, "loss": 0.9, "learning_rate": 1e-5, "grad_norm": 3.25},
    {"epoch": 1.0, "step": 2, "loss": 0.7, "learning_rate": 2e-5, "grad_norm": 2.5},
    {"epoch": 1.0, "step": 2, "eval_loss": 0.65, "eval_accuracy": 0.8, "eval_runtime": 1.5},
    {"epoch": 1.5, "step": 3, "loss": 0.5, "learning_rate": 1.5e-5, "grad_norm": 2.0},
    {"epoch": 2.0, "step": 4, "loss": 0.4, "learning_rate": 1e-5, "grad_norm": 1.75},
    {"epoch": 2.0, "step": 4, "eval_loss": 0.55, "eval_accuracy": 0.86, "eval_runtime": 1.4},
    {"epoch": 2.0, "step": 4, "train_runtime": 12.5, "train_loss": 0.625, "total_flos": 1234.0},
]


def safetensors_bytes(tensors: Sequence[Tensor], metadata: dict[str, str] | None = None
                      ) -> bytes:
    """A valid safetensors file: 8-byte length, space-padded JSON header, zeroed data."""
    header: dict = {"__metadata__": metadata or {"format": "pt"}}
    offset = 0
    for name, dtype, shape in tensors:
        size = DTYPE_BYTES[dtype]
        for dim in shape:
            size *= dim
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset,
                                                                               offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def _json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


def model_card(front: dict, body: str) -> str:
    return "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n\n" + body


CARD_FRONT = {
    "language": ["en"],
    "license": "apache-2.0",
    "library_name": "transformers",
    "tags": ["generated_from_trainer", "text classification"],
    "datasets": ["glue"],
    "metrics": ["accuracy", "f1"],
    "base_model": "bert-base-uncased",
    "pipeline_tag": "text-classification",
    "model-index": [{"name": "bert-mrpc", "results": [{
        "task": {"type": "text-classification", "name": "Text Classification"},
        "dataset": {"type": "glue", "name": "GLUE MRPC", "config": "mrpc",
                    "split": "validation"},
        "metrics": [{"type": "accuracy", "value": 0.86, "name": "Accuracy"},
                    {"type": "f1", "value": 0.9, "name": "F1"},
                    {"type": "note", "value": "n/a"}]}]}],
}
CARD_BODY = ("# bert-mrpc\n\nThis model is a fine-tuned version of bert-base-uncased on the "
             "GLUE MRPC dataset.\n\n## Training procedure\n\nTwo epochs.\n")


def build_hf_folder(folder: Path) -> Path:
    """A Trainer output: config, card, tokenizer, weights, checkpoints, pickled args."""
    folder.mkdir(parents=True)
    _json(folder / "config.json", {
        "_name_or_path": "bert-base-uncased", "architectures": ["BertForSequenceClassification"],
        "model_type": "bert", "torch_dtype": "float32", "transformers_version": "4.44.2",
        "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 30})
    _json(folder / "generation_config.json", {"transformers_version": "4.44.2"})
    (folder / "README.md").write_text(model_card(CARD_FRONT, CARD_BODY))
    _json(folder / "tokenizer.json", {"version": "1.0", "model": {"type": "WordPiece"}})
    _json(folder / "tokenizer_config.json", {"do_lower_case": True})
    _json(folder / "special_tokens_map.json", {"cls_token": "[CLS]"})
    (folder / "vocab.txt").write_text("[PAD]\n[CLS]\n[SEP]\nhello\n")
    (folder / "model.safetensors").write_bytes(safetensors_bytes(BERT_TENSORS))
    (folder / "training_args.bin").write_bytes(pickle.dumps({"learning_rate": 2e-5}, 4))
    _json(folder / "trainer_state.json", _state(3, LOG_HISTORY[:4]))
    _json(folder / "checkpoint-2" / "trainer_state.json", _state(2, LOG_HISTORY[:3]))
    (folder / "checkpoint-2" / "optimizer.pt").write_bytes(pickle.dumps({"step": 2}, 4))
    _json(folder / "checkpoint-4" / "trainer_state.json", _state(4, LOG_HISTORY))
    (folder / "checkpoint-4" / "scheduler.pt").write_bytes(pickle.dumps({"step": 4}, 4))
    return folder


def _state(step: int, history: list[dict]) -> dict:
    return {"global_step": step, "max_steps": 4, "num_train_epochs": 2, "train_batch_size": 8,
            "logging_steps": 1, "best_metric": 0.55, "is_world_process_zero": True,
            "best_model_checkpoint": f"out/checkpoint-{step}", "log_history": history}


SHARD_TENSORS: list[list[Tensor]] = [[("a.weight", "F16", [4, 4])],
                                     [("b.weight", "F16", [4]), ("c.bias", "F32", [3])]]


def build_sharded_folder(folder: Path) -> Path:
    """Two shards and their index; `_name_or_path` is a local path, so no parent."""
    folder.mkdir(parents=True)
    _json(folder / "config.json", {"_name_or_path": "/home/alice/runs/out",
                                   "architectures": ["LlamaForCausalLM"], "model_type": "llama",
                                   "dtype": "float16", "transformers_version": "4.56.0"})
    weight_map, total = {}, 0
    for i, tensors in enumerate(SHARD_TENSORS, 1):
        name = f"model-{i:05d}-of-{len(SHARD_TENSORS):05d}.safetensors"
        data = safetensors_bytes(tensors)
        (folder / name).write_bytes(data)
        weight_map.update({t[0]: name for t in tensors})
        total += len(data)
    _json(folder / "model.safetensors.index.json",
          {"metadata": {"total_size": total}, "weight_map": weight_map})
    return folder


def build_peft_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    _json(folder / "adapter_config.json", {
        "base_model_name_or_path": "meta-llama/Llama-2-7b-hf", "peft_type": "LORA",
        "task_type": "CAUSAL_LM", "r": 8, "lora_alpha": 16, "lora_dropout": 0.05,
        "target_modules": ["q_proj", "v_proj"], "bias": "none", "layers_pattern": None})
    (folder / "adapter_model.safetensors").write_bytes(safetensors_bytes([
        ("base_model.model.layers.0.q_proj.lora_A.weight", "F32", [8, 32]),
        ("base_model.model.layers.0.q_proj.lora_B.weight", "F32", [32, 8])]))
    (folder / "README.md").write_text(model_card(
        {"base_model": "meta-llama/Llama-2-7b-hf", "library_name": "peft"},
        "# my-lora\n\nA LoRA adapter.\n"))
    return folder


class Canary:
    """Unpickling this creates `path`: proof that a loader ran code it should not have."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def canary_pickle(path: Path) -> bytes:
    return pickle.dumps(Canary(path), protocol=4)


def build_canary_folder(folder: Path, canary: Path) -> Path:
    """A Hugging Face folder whose model.safetensors is really a code-running pickle."""
    folder.mkdir(parents=True)
    _json(folder / "config.json", {"architectures": ["BertModel"], "model_type": "bert"})
    (folder / "model.safetensors").write_bytes(canary_pickle(canary))
    return folder


def python_tag_yaml(canary: Path) -> str:
    """YAML that runs a shell command when loaded with an unsafe loader."""
    return f"!!python/object/apply:os.system ['touch {os.fspath(canary)}']\n"
