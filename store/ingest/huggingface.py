"""A Hugging Face model folder (transformers, PEFT adapters, Trainer checkpoints) as a version.

Everything comes from small JSON/YAML files and safetensors headers: the weights themselves
are never read, and pickles beside them (`training_args.bin`, `optimizer.pt`) are stored as
files only (the writer's sniffer flags them).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ..errors import InvalidManifest, InvalidName
from ..manifest import FolderVersion
from ..names import check_model_name
from ..sniff import safetensors_header
from ..writer import files_of_folder, safe_relpath
from .safe_read import clean_tags, front_matter, load_json, read_text

MAX_CONFIG_BYTES = 10 * 1024 * 1024
MAX_README_BYTES = 2 * 1024 * 1024
MAX_DESCRIPTION = 20_000
LARGEST_TENSORS = 5
_CONFIG_KEYS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
                "max_position_embeddings", "intermediate_size")
_TRAINER_KEYS = ("global_step", "max_steps", "num_train_epochs", "train_batch_size",
                 "logging_steps", "eval_steps", "save_steps")
_CHECKPOINT = re.compile(r"checkpoint-(\d+)$")


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
    except InvalidManifest:
        return False
    return isinstance(data, dict) and any(k in data for k in ("model_type", "architectures",
                                                               "transformers_version"))


def read_huggingface(folder: Path, *, model: str | None = None) -> FolderVersion:
    """Every regular file of the folder, with a card built from its metadata files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidManifest(f"{folder} is not a folder")
    config = _json_object(folder / "config.json")
    meta, body = _model_card(folder)
    adapter = _json_object(folder / "adapter_config.json")
    state_path, state = _trainer_state(folder)
    weights = weights_summary(folder)
    card: dict[str, Any] = {
        "description": _description(body),
        "tags": _tags(meta),
        "datasets": _datasets(meta),
        "parents": _parents(config, meta, adapter),
        "metrics": _index_metrics(meta),
        "params": _params(adapter, state),
        "summary": {**_config_summary(config), **weights},
        "serving": _serving(config, meta),
        "origin": {"kind": "huggingface", "folder": folder.name,
                   **({"trainer_state": state_path.relative_to(folder).as_posix()}
                      if state_path else {})},
    }
    if isinstance(state.get("best_metric"), (int, float)):
        card["metrics"]["best_metric"] = float(state["best_metric"])
    if state.get("best_model_checkpoint"):
        card["summary"]["best_model_checkpoint"] = str(state["best_model_checkpoint"])
    return FolderVersion(_model_name(model, meta, folder), card, files_of_folder(folder),
                         trainer_series(state))


def _json_object(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = load_json(path, limit=MAX_CONFIG_BYTES if path.name != "trainer_state.json"
                     else 64 * 1024 * 1024, where=f"{path.parent.name}/{path.name}")
    return data if isinstance(data, dict) else {}


def _model_card(folder: Path) -> tuple[dict[str, Any], str]:
    path = folder / "README.md"
    if not path.is_file():
        return {}, ""
    text = read_text(path, limit=MAX_README_BYTES, where=f"{folder.name}/README.md")
    return front_matter(text, f"{folder.name}/README.md")


def _model_name(model: str | None, meta: dict[str, Any], folder: Path) -> str:
    """The `model=` argument, else the card's model-index name if valid, else the folder."""
    if model:
        return model
    index = meta.get("model-index")
    if isinstance(index, list) and index and isinstance(index[0], dict):
        try:
            return check_model_name(str(index[0].get("name") or ""))
        except InvalidName:
            pass
    return folder.resolve().name


def _description(body: str) -> str:
    """The card body, cut at a paragraph break when it is longer than 20,000 characters."""
    text = body.strip()
    if len(text) <= MAX_DESCRIPTION:
        return text
    cut = text.rfind("\n\n", 0, MAX_DESCRIPTION)
    return text[:cut if cut > 0 else MAX_DESCRIPTION].rstrip() + "\n\n[…]"


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _tags(meta: dict[str, Any]) -> dict[str, str]:
    """Card tags as bare tags; license, pipeline_tag, language, library_name as key: value."""
    tags: dict[str, Any] = {str(t): "" for t in _as_list(meta.get("tags")) if t is not None}
    for key in ("license", "pipeline_tag", "library_name"):
        if meta.get(key):
            tags[key] = str(meta[key])
    languages = [str(x) for x in _as_list(meta.get("language"))]
    if languages:
        tags["language"] = ",".join(languages)
    return clean_tags(tags)


def _datasets(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Card `datasets` were trained on; model-index result datasets were evaluated on."""
    out = [{"role": "train", "name": str(d)} for d in _as_list(meta.get("datasets"))
           if isinstance(d, str) and d]
    seen: set[str] = set()
    for result in _results(meta):
        data = result.get("dataset") if isinstance(result.get("dataset"), dict) else {}
        name = str(data.get("type") or data.get("name") or "")
        if name and name not in seen:
            seen.add(name)
            extra = {k: str(data[k]) for k in ("config", "split") if data.get(k)}
            out.append({"role": "eval", "name": name, **extra})
    return out


def _results(meta: dict[str, Any]) -> list[dict[str, Any]]:
    index = meta.get("model-index")
    results = []
    for entry in index if isinstance(index, list) else []:
        if isinstance(entry, dict):
            results += [r for r in _as_list(entry.get("results")) if isinstance(r, dict)]
    return results


def _index_metrics(meta: dict[str, Any]) -> dict[str, float]:
    """model-index results as `<dataset>[/<config>]/<metric type>`; split added on collision."""
    out: dict[str, float] = {}
    for result in _results(meta):
        data = result.get("dataset") if isinstance(result.get("dataset"), dict) else {}
        dataset = str(data.get("type") or data.get("name") or "")
        config = str(data.get("config") or "")
        prefix = [p for p in (dataset, config if config != "default" else "") if p]
        for metric in _as_list(result.get("metrics")):
            if not isinstance(metric, dict):
                continue
            value = _number(metric.get("value"))
            name = str(metric.get("type") or metric.get("name") or "")
            if value is None or not name:
                continue
            key = "/".join([*prefix, name])
            if key in out and data.get("split"):
                key = "/".join([*prefix, str(data["split"]), name])
            out[key] = value
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _is_local(path: str) -> bool:
    """A training machine's path rather than a Hub id (`org/name` or `name`)."""
    return (not path or path.startswith(("/", ".", "~")) or "\\" in path
            or bool(re.match(r"^[A-Za-z]:", path)) or path.count("/") > 1)


def _parents(config: dict, meta: dict, adapter: dict) -> list[dict[str, str]]:
    """Adapter base, card base_model, config _name_or_path: the most specific relation wins."""
    found: list[tuple[str, str]] = []
    if adapter.get("base_model_name_or_path"):
        found.append((str(adapter["base_model_name_or_path"]), "adapter-of"))
    found += [(str(b), "fine-tuned-from") for b in _as_list(meta.get("base_model")) if b]
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
    trainer = {k: state[k] for k in _TRAINER_KEYS if isinstance(state.get(k), (int, float))}
    if trainer:
        params["trainer"] = trainer
    return params


def _config_summary(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if config.get("architectures"):
        out["architectures"] = [str(a) for a in _as_list(config["architectures"])]
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
        serving["architectures"] = [str(a) for a in _as_list(config["architectures"])]
    return serving


def weights_summary(folder: Path) -> dict[str, Any]:
    """Parameter count, dtypes and largest tensors from safetensors headers alone."""
    files, notes = _weight_files(folder)
    tensors: list[tuple[str, str, list[int]]] = []
    for path in files:
        try:
            header = safetensors_header(path)
            tensors += [(name, str(spec["dtype"]), [max(int(x), 0) for x in spec["shape"]])
                        for name, spec in header.items() if name != "__metadata__"]
        except (ValueError, KeyError, TypeError, OSError) as exc:
            notes.append(f"{path.relative_to(folder).as_posix()}: not a readable safetensors "
                         f"file ({exc})")
    out: dict[str, Any] = {}
    if tensors:
        dtypes: dict[str, int] = {}
        for _, dtype, shape in tensors:
            dtypes[dtype] = dtypes.get(dtype, 0) + math.prod(shape)
        out["param_count"] = sum(dtypes.values())
        out["dtypes"] = dict(sorted(dtypes.items()))
        out["tensors"] = len(tensors)
        biggest = sorted(tensors, key=lambda t: (-math.prod(t[2]), t[0]))[:LARGEST_TENSORS]
        out["largest_tensors"] = [{"name": n, "dtype": d, "shape": s} for n, d, s in biggest]
        out["weights_format"] = "safetensors"
    if notes:
        out["weights_notes"] = notes
    return out


def _weight_files(folder: Path) -> tuple[list[Path], list[str]]:
    """Shards named by the index, else top-level .safetensors files (not checkpoint copies)."""
    index_path = folder / "model.safetensors.index.json"
    if not index_path.is_file():
        return sorted(p for p in folder.glob("*.safetensors")
                      if p.is_file() and not p.is_symlink()), []
    index = _json_object(index_path)
    weight_map = index.get("weight_map") if isinstance(index.get("weight_map"), dict) else {}
    files, notes = [], []
    for name in sorted(set(map(str, weight_map.values()))):
        try:
            rel = safe_relpath(name, "model.safetensors.index.json weight_map")
        except InvalidManifest:
            notes.append(f"index names {name!r}, which is outside the folder; ignored")
            continue
        path = folder / rel
        if path.is_file() and not path.is_symlink():
            files.append(path)
        else:
            notes.append(f"index names {rel}, which is missing")
    return files, notes


def _trainer_state(folder: Path) -> tuple[Path | None, dict[str, Any]]:
    """trainer_state.json with the highest global_step: top level or in checkpoint-*/."""
    candidates = [folder / "trainer_state.json"]
    candidates += [d / "trainer_state.json" for d in sorted(folder.iterdir())
                   if d.is_dir() and not d.is_symlink() and _CHECKPOINT.match(d.name)]
    best: tuple[tuple[int, int], Path | None, dict[str, Any]] = ((-2, -2), None, {})
    for path in candidates:
        if not path.is_file():
            continue
        state = _json_object(path)
        step = state.get("global_step") if isinstance(state.get("global_step"), int) else -1
        checkpoint = _CHECKPOINT.match(path.parent.name)
        rank = (step, int(checkpoint.group(1)) if checkpoint and path.parent != folder else -1)
        if rank > best[0]:
            best = (rank, path, state)
    return best[1], best[2]


def trainer_series(state: dict[str, Any]) -> dict[str, Any]:
    """log_history as full curves: every numeric field of every entry, keyed by its step."""
    series: dict[str, dict[str, list]] = {}
    for entry in state.get("log_history") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("step"), int):
            continue
        for key, value in entry.items():
            if key == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            curve = series.setdefault(str(key), {"steps": [], "values": []})
            curve["steps"].append(entry["step"])
            curve["values"].append(float(value))
    return series

