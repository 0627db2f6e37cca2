"""The small metadata files of a Hugging Face folder, read with size limits: JSON configs,
and the README model card (YAML front matter and body) turned into card fields.

The model card gives the description, tags, training and evaluation data sets, model-index
metrics and the model's name; a malformed card is refused with the file named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.store.errors import InvalidManifest, InvalidName
from modelyard.store.ingest.safe_read import (
    clean_tags,
    dict_at,
    front_matter,
    load_json,
    read_text,
)
from modelyard.store.names import check_model_name

MAX_CONFIG_BYTES = 10 * 1024 * 1024
MAX_README_BYTES = 2 * 1024 * 1024
MAX_DESCRIPTION = 20_000


def json_object(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> dict[str, Any]:
    """A JSON file's top-level object; {} when the file is absent or holds something else."""
    if not path.is_file():
        return {}
    where = f"{path.parent.name}/{path.name}"
    try:
        data = load_json(path, limit=limit, where=where)
    except (ValueError, OverflowError) as exc:  # e.g. a 5,000-digit integer
        raise InvalidManifest(f"{where} cannot be read: {str(exc)[:200]}; fix or remove "
                              "the value") from None
    return data if isinstance(data, dict) else {}


def as_float(value: int | float) -> float:
    """A number as a float; an integer too large for one is ±inf, never an OverflowError."""
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def as_list(value: Any) -> list:
    """YAML allows one value where a list is meant (`tags: nlp`); None is an empty list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def model_card(folder: Path) -> tuple[dict[str, Any], str]:
    """README.md's front matter and body; ({}, "") without a README."""
    path = folder / "README.md"
    if not path.is_file():
        return {}, ""
    text = read_text(path, limit=MAX_README_BYTES, where=f"{folder.name}/README.md")
    return front_matter(text, f"{folder.name}/README.md")


def model_name(model: str | None, meta: dict[str, Any], folder: Path) -> str:
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


def description(body: str) -> str:
    """The card body, cut at a paragraph break when it is longer than 20,000 characters."""
    text = body.strip()
    if len(text) <= MAX_DESCRIPTION:
        return text
    cut = text.rfind("\n\n", 0, MAX_DESCRIPTION)
    return text[:cut if cut > 0 else MAX_DESCRIPTION].rstrip() + "\n\n[…]"


def card_tags(meta: dict[str, Any]) -> dict[str, str]:
    """Card tags as bare tags; license, pipeline_tag, language, library_name as key: value."""
    tags: dict[str, Any] = {str(t): "" for t in as_list(meta.get("tags")) if t is not None}
    for key in ("license", "pipeline_tag", "library_name"):
        if meta.get(key):
            tags[key] = str(meta[key])
    languages = [str(x) for x in as_list(meta.get("language"))]
    if languages:
        tags["language"] = ",".join(languages)
    return clean_tags(tags)


def card_datasets(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Card `datasets` were trained on; model-index result datasets were evaluated on."""
    out = [{"role": "train", "name": str(d)} for d in as_list(meta.get("datasets"))
           if isinstance(d, str) and d]
    seen: set[str] = set()
    for result in _results(meta):
        data = dict_at(result, "dataset")
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
            results += [r for r in as_list(entry.get("results")) if isinstance(r, dict)]
    return results


def index_metrics(meta: dict[str, Any]) -> dict[str, float]:
    """model-index results as `<dataset>[/<config>]/<metric type>`; split added on collision."""
    out: dict[str, float] = {}
    for result in _results(meta):
        data = dict_at(result, "dataset")
        dataset = str(data.get("type") or data.get("name") or "")
        config = str(data.get("config") or "")
        prefix = [p for p in (dataset, config if config != "default" else "") if p]
        for metric in as_list(result.get("metrics")):
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
        return as_float(value)
    try:
        return float(str(value)[:100])
    except ValueError:
        return None
