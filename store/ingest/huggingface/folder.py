"""A Hugging Face model folder (transformers, PEFT adapters, Trainer checkpoints) as a version.

Everything comes from small JSON/YAML files and safetensors headers: the weights themselves
are never read, and pickles beside them (`training_args.bin`, `optimizer.pt`) are stored as
files only (the writer's sniffer flags them). This module detects a folder and builds its
card from config.json and adapter_config.json; the model card (README) is read by
hf_metadata.py, the weights by hf_weights.py, the Trainer's state by hf_trainer.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from modelyard.store.errors import InvalidManifest
from modelyard.store.ingest.huggingface.metadata import (
    MAX_CONFIG_BYTES,
    MAX_DESCRIPTION,
    MAX_README_BYTES,
    as_float,
    as_list,
    card_datasets,
    card_tags,
    description,
    index_metrics,
    json_object,
    model_card,
    model_name,
)
from modelyard.store.ingest.huggingface.trainer import (
    trainer_series,
    trainer_settings,
    trainer_state,
)
from modelyard.store.ingest.huggingface.weights import LARGEST_TENSORS, weights_summary
from modelyard.store.ingest.manifest import FolderVersion
from modelyard.store.ingest.safe_read import load_json
from modelyard.store.ingest.writer import check_card_storable, files_of_folder

__all__ = ["LARGEST_TENSORS", "MAX_CONFIG_BYTES", "MAX_DESCRIPTION", "MAX_README_BYTES",
           "is_huggingface", "read_huggingface", "trainer_series", "weights_summary"]

_CONFIG_KEYS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
                "max_position_embeddings", "intermediate_size")


def is_huggingface(folder: Path) -> bool:
    """A transformers config, a PEFT adapter config or a sharded safetensors index."""
    folder = Path(folder)
    if (folder / "adapter_config.json").is_file() or \
            (folder / "model.safetensors.index.json").is_file():
        return True
    config = folder / "config.json"
    if not config.is_file() or config.is_symlink():
        return False
    try:
        data = load_json(config, limit=MAX_CONFIG_BYTES)
    except (InvalidManifest, ValueError, OverflowError):  # broken JSON, 5,000-digit numbers:
        return True  # read_huggingface refuses it naming config.json and why
    return isinstance(data, dict) and any(k in data for k in ("model_type", "architectures",
                                                               "transformers_version"))


def read_huggingface(folder: Path, *, model: str | None = None) -> FolderVersion:
    """Every regular file of the folder, with a card built from its metadata files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidManifest(f"{folder} is not a folder")
    config = json_object(folder / "config.json")
    meta, body = model_card(folder)
    adapter = json_object(folder / "adapter_config.json")
    state_path, state = trainer_state(folder)
    weights = weights_summary(folder)
    card: dict[str, Any] = {
        "description": description(body),
        "tags": card_tags(meta),
        "datasets": card_datasets(meta),
        "parents": _parents(config, meta, adapter),
        "metrics": index_metrics(meta),
        "params": _params(adapter, state),
        "summary": {**_config_summary(config), **weights},
        "serving": _serving(config, meta),
        "origin": {"kind": "huggingface", "folder": folder.name,
                   **({"trainer_state": state_path.relative_to(folder).as_posix()}
                      if state_path else {})},
    }
    if isinstance(state.get("best_metric"), (int, float)):
        card["metrics"]["best_metric"] = as_float(state["best_metric"])
    if state.get("best_model_checkpoint"):
        card["summary"]["best_model_checkpoint"] = str(state["best_model_checkpoint"])
    _check_card(folder, card)
    return FolderVersion(model_name(model, meta, folder), card, files_of_folder(folder),
                         trainer_series(state))


# which file each card field comes from, to name it when the value cannot be stored
_SOURCE_OF = {"params.peft": "adapter_config.json", "params.trainer": "trainer_state.json",
              "metrics.best_metric": "trainer_state.json", "summary.config": "config.json",
              "summary.best_model_checkpoint": "trainer_state.json", "serving": "config.json",
              "summary.architectures": "config.json", "summary.model_type": "config.json",
              "summary": "model.safetensors", "metrics": "README.md", "tags": "README.md",
              "datasets": "README.md", "description": "README.md",
              "parents": "config.json, adapter_config.json or README.md"}


def _check_card(folder: Path, card: dict[str, Any]) -> None:
    """Refuse now, naming the file, a value the record could not hold (a 400-digit `r` in
    adapter_config.json); add_version would refuse it naming only the card field."""
    try:
        check_card_storable(card)
    except InvalidManifest as exc:
        text = str(exc)
        source = next((f for k, f in sorted(_SOURCE_OF.items(), key=lambda kv: -len(kv[0]))
                       if text.startswith(k)), "its metadata files")
        raise InvalidManifest(f"{folder.name}/{source}: {text}") from None


def _is_local(path: str) -> bool:
    """A training machine's path rather than a Hub id (`org/name` or `name`)."""
    return (not path or path.startswith(("/", ".", "~")) or "\\" in path
            or bool(re.match(r"^[A-Za-z]:", path)) or path.count("/") > 1)


def _parents(config: dict, meta: dict, adapter: dict) -> list[dict[str, str]]:
    """Adapter base, card base_model, config _name_or_path: the most specific relation wins."""
    found: list[tuple[str, str]] = []
    if adapter.get("base_model_name_or_path"):
        found.append((str(adapter["base_model_name_or_path"]), "adapter-of"))
    found += [(str(b), "fine-tuned-from") for b in as_list(meta.get("base_model")) if b]
    if config.get("_name_or_path"):
        found.append((str(config["_name_or_path"]), "initialized-from"))
    parents: dict[str, str] = {}
    for ref, relation in found:
        if not _is_local(ref) and ref not in parents:
            parents[ref] = relation
    return [{"ref": ref, "relation": rel} for ref, rel in parents.items()]


def _params(adapter: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """PEFT settings (r, lora_alpha, target_modules…) and the Trainer's step settings."""
    params: dict[str, Any] = {}
    peft = {k: v for k, v in adapter.items() if v is not None and k != "base_model_name_or_path"}
    if peft:
        params["peft"] = peft
    trainer = trainer_settings(state)
    if trainer:
        params["trainer"] = trainer
    return params


def _config_summary(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if config.get("architectures"):
        out["architectures"] = [str(a) for a in as_list(config["architectures"])]
    for key in ("model_type", "transformers_version"):
        if config.get(key):
            out[key] = str(config[key])
    dtype = config.get("torch_dtype") or config.get("dtype")
    if dtype:
        out["torch_dtype"] = str(dtype)
    sizes = {k: config[k] for k in _CONFIG_KEYS if isinstance(config.get(k), int)}
    if sizes:
        out["config"] = sizes
    return out


def _serving(config: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """transformers on KServe's huggingface runtime; the task comes from pipeline_tag."""
    serving: dict[str, Any] = {"framework": "transformers", "runtime": "huggingface"}
    if config.get("transformers_version"):
        serving["framework_version"] = str(config["transformers_version"])
    if meta.get("pipeline_tag"):
        serving["task"] = str(meta["pipeline_tag"])
    if config.get("architectures"):
        serving["architectures"] = [str(a) for a in as_list(config["architectures"])]
    return serving
