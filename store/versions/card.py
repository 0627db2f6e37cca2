"""The model card: what one version records, checked field by field.

`check_card` takes what a caller or a manifest describes (plain JSON-like data) and returns
the normalized form that goes into the write-once record, or raises InvalidManifest naming
the field and the fix. Blobs (files, series, charts, source) are attached by the writer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from modelyard.store.errors import InvalidManifest
from modelyard.store.names import TAG_VALUE_MAX, check_tag_key, parse_ref, unsafe_char

DATASET_ROLES = ("train", "test", "eval", "validation", "other")
CHART_KINDS = ("roc", "pr", "confusion_matrix", "feature_importance", "feature_stats",
               "calibration")
MAX_TEXT = 100_000

CARD_FIELDS = ("description", "tags", "training", "params", "features", "datasets", "parents",
               "metrics", "charts", "summary", "serving", "origin")


def check_card(card: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalize the descriptive fields of a version."""
    if not isinstance(card, Mapping):
        raise InvalidManifest("a version description must be a mapping of fields")
    out: dict[str, Any] = {
        "description": _text(card.get("description", ""), "description", MAX_TEXT),
        "tags": _tags(card.get("tags") or {}),
        "training": _training(card.get("training") or {}),
        "params": _params(card.get("params") or {}),
        "features": _features(card.get("features") or []),
        "datasets": [_dataset(d, i) for i, d in enumerate(_list(card.get("datasets"),
                                                                 "datasets"))],
        "parents": [_parent(p, i) for i, p in enumerate(_list(card.get("parents"), "parents"))],
        "metrics": _metrics(card.get("metrics") or {}),
        "charts": _charts(card.get("charts") or {}),
        "summary": _plain(card.get("summary") or {}, "summary"),
        "serving": _serving(card.get("serving") or {}),
        "origin": _plain(card.get("origin") or {}, "origin"),
    }
    return out


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidManifest(f"{where} must be a list")
    return value


def _text(value: Any, where: str, limit: int = 10_000) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidManifest(f"{where} must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidManifest(f"{where} is {len(value)} characters; the limit is {limit}")
    return value


def _label(value: Any, where: str) -> str:
    """Short single-line text used as a key or label: no control characters."""
    text = _text(value, where, 1000)
    bad = unsafe_char(text)
    if bad is not None:
        raise InvalidManifest(f"{where} holds control character U+{ord(bad):04X}; remove it")
    return text


def _tags(tags: Any) -> dict[str, str]:
    if not isinstance(tags, Mapping):
        raise InvalidManifest("tags must map keys to values, e.g. {team: risk}")
    out = {}
    for key, value in tags.items():
        check_tag_key(str(key))
        out[str(key)] = _text("" if value is None else str(value), f"tags.{key}",
                              TAG_VALUE_MAX)
    return out


def parse_time(value: Any, where: str) -> str | None:
    """Accept ISO-8601 text, epoch seconds or epoch milliseconds; return ISO-8601 UTC."""
    try:
        return _parse_time(value, where)
    except (OverflowError, ValueError, OSError):
        raise InvalidManifest(f"{where} is {value!r}; not a time between the years 1 and "
                              "9999") from None


def _parse_time(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidManifest(f"{where} must be a time, not a boolean")
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidManifest(
                f"{where} is {value!r}; write an ISO-8601 time such as 2026-03-01T12:00:00Z"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise InvalidManifest(f"{where} must be a time")


def _training(training: Any) -> dict[str, Any]:
    if not isinstance(training, Mapping):
        raise InvalidManifest("training must be a mapping (user, host, started_at, ended_at)")
    out = {
        "user": _label(training.get("user") or "", "training.user"),
        "host": _label(training.get("host") or "", "training.host"),
        "started_at": parse_time(training.get("started_at"), "training.started_at"),
        "ended_at": parse_time(training.get("ended_at"), "training.ended_at"),
        "status": _label(training.get("status") or "", "training.status"),
        "run_id": _label(training.get("run_id") or "", "training.run_id"),
    }
    extra = {k: v for k, v in training.items() if k not in out}
    if extra:
        out["extra"] = _plain(extra, "training")
    if out["started_at"] and out["ended_at"] and out["ended_at"] < out["started_at"]:
        raise InvalidManifest("training.ended_at is before training.started_at; swap them")
    return out


def _plain(value: Any, where: str, depth: int = 0) -> Any:
    """JSON-safe data only (no NaN in the record: it is not JSON), bounded in depth."""
    if depth > 32:
        raise InvalidManifest(f"{where} is nested more than 32 levels deep")
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}", depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    raise InvalidManifest(f"{where} holds a {type(value).__name__}; use plain JSON values")


def _params(params: Any) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise InvalidManifest("params must be a mapping of hyper-parameters (nesting allowed)")
    return _plain(params, "params")


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested configs as dotted keys: {'optimizer': {'lr': 0.1}} -> {'optimizer.lr': 0.1}."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_params(value, name + "."))
        else:
            flat[name] = value
    return flat


def _features(features: Any) -> list[dict[str, Any]]:
    if not isinstance(features, list):
        raise InvalidManifest("features must be a list of names or {name, type} mappings")
    out = []
    for i, feat in enumerate(features):
        if isinstance(feat, str):
            feat = {"name": feat}
        if not isinstance(feat, Mapping) or not feat.get("name"):
            raise InvalidManifest(f"features[{i}] needs a name")
        out.append(_plain(dict(feat), f"features[{i}]"))
    return out


def _dataset(d: Any, i: int) -> dict[str, Any]:
    where = f"datasets[{i}]"
    if not isinstance(d, Mapping):
        raise InvalidManifest(f"{where} must be a mapping with role, name, uri and digest")
    role = str(d.get("role") or "other").lower()
    if role not in DATASET_ROLES:
        raise InvalidManifest(f"{where}.role is {role!r}; use one of {', '.join(DATASET_ROLES)}")
    if not d.get("name") and not d.get("uri"):
        raise InvalidManifest(f"{where} needs a name or a uri")
    out = {
        "role": role,
        "name": _label(d.get("name") or "", f"{where}.name"),
        "uri": _label(d.get("uri") or "", f"{where}.uri"),
        "digest": _label(d.get("digest") or "", f"{where}.digest"),
    }
    for key in ("rows", "size"):
        if d.get(key) is not None:
            if isinstance(d[key], bool) or not isinstance(d[key], int):
                raise InvalidManifest(f"{where}.{key} must be a whole number")
            out[key] = d[key]
    extra = {k: v for k, v in d.items() if k not in out and k not in ("rows", "size")}
    if extra:
        out["extra"] = _plain(extra, where)
    return out


def _parent(p: Any, i: int) -> dict[str, Any]:
    where = f"parents[{i}]"
    if isinstance(p, str):
        p = {"ref": p}
    if not isinstance(p, Mapping) or not p.get("ref"):
        raise InvalidManifest(f"{where} must be a ref such as 'base-model:3' or {{ref: ...}}")
    ref = _label(p["ref"], f"{where}.ref")
    try:
        parsed = parse_ref(ref)
        model, number = parsed.model, parsed.version
    except Exception:  # an outside name such as a Hugging Face id with '@' or ':'
        model, number = ref, None
    return {"ref": ref, "model": model, "version": number,
            "relation": _label(p.get("relation") or "derived-from", f"{where}.relation")}


def _metrics(metrics: Any) -> dict[str, float | None]:
    if not isinstance(metrics, Mapping):
        raise InvalidManifest("metrics must map names to final values, e.g. {auc: 0.93}")
    out: dict[str, float | None] = {}
    for key, value in metrics.items():
        where = f"metrics.{key}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    raise InvalidManifest(f"{where} is {value!r}; it must be a number") from None
            else:
                raise InvalidManifest(f"{where} must be a number")
        out[_label(str(key), "metric name")] = _float(value, where)
    return out


def _float(value: int | float, where: str) -> float:
    try:
        return float(value)
    except OverflowError:
        raise InvalidManifest(f"{where} is too large for a number") from None


def _numbers(value: Any, where: str) -> list[float]:
    if not isinstance(value, (list, tuple)):
        raise InvalidManifest(f"{where} must be a list of numbers")
    out = []
    for i, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise InvalidManifest(f"{where}[{i}] is {x!r}; it must be a number")
        number = _float(x, f"{where}[{i}]")
        out.append(number if math.isfinite(number) else 0.0)
    return out


def _charts(charts: Any) -> dict[str, Any]:
    if not isinstance(charts, Mapping):
        raise InvalidManifest("charts must be a mapping: roc, pr, confusion_matrix, ...")
    out: dict[str, Any] = {}
    for kind, data in charts.items():
        if kind not in CHART_KINDS:
            known = ", ".join(CHART_KINDS)
            raise InvalidManifest(f"charts.{kind} is not a known chart; use one of {known}")
        where = f"charts.{kind}"
        if not isinstance(data, Mapping):
            raise InvalidManifest(f"{where} must be a mapping")
        if kind == "roc":
            fpr, tpr = _numbers(data.get("fpr"), f"{where}.fpr"), _numbers(data.get("tpr"),
                                                                         f"{where}.tpr")
            if len(fpr) != len(tpr):
                raise InvalidManifest(f"{where}: fpr and tpr differ in length")
            out[kind] = {"fpr": fpr, "tpr": tpr, "auc": data.get("auc")}
        elif kind == "pr":
            p = _numbers(data.get("precision"), f"{where}.precision")
            r = _numbers(data.get("recall"), f"{where}.recall")
            if len(p) != len(r):
                raise InvalidManifest(f"{where}: precision and recall differ in length")
            out[kind] = {"precision": p, "recall": r, "ap": data.get("ap")}
        elif kind == "confusion_matrix":
            labels = [str(x) for x in data.get("labels") or []]
            matrix = data.get("matrix")
            if not isinstance(matrix, list) or any(not isinstance(r, list) for r in matrix):
                raise InvalidManifest(f"{where}.matrix must be a list of rows")
            if labels and (len(matrix) != len(labels) or any(len(r) != len(labels)
                                                            for r in matrix)):
                raise InvalidManifest(f"{where}.matrix must be {len(labels)}x{len(labels)}")
            out[kind] = {"labels": labels,
                         "matrix": [_numbers(r, f"{where}.matrix") for r in matrix]}
        elif kind == "feature_importance":
            out[kind] = _importance(data, where)
        else:
            out[kind] = _plain(dict(data), where)
    return out


def _importance(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Either {feature: score} or {features: [...], importance: [...]}; kept as two lists
    sorted by score so every reader draws the same bars."""
    if "features" in data:
        names = [str(n) for n in data.get("features") or []]
        scores = _numbers(data.get("importance"), f"{where}.importance")
        if len(names) != len(scores):
            raise InvalidManifest(f"{where}: features and importance differ in length")
        pairs = list(zip(names, scores, strict=True))
        kind = str(data.get("type") or "")
    else:
        pairs = [(str(k), _numbers([v], f"{where}.{k}")[0]) for k, v in data.items()]
        kind = ""
    pairs.sort(key=lambda p: -p[1])
    return {"type": kind, "features": [p[0] for p in pairs], "importance": [p[1] for p in pairs]}


def _serving(serving: Any) -> dict[str, Any]:
    if not isinstance(serving, Mapping):
        raise InvalidManifest("serving must be a mapping: framework, signature, resources")
    out = _plain(dict(serving), "serving")
    for key in ("framework", "framework_version", "runtime"):
        if key in out:
            out[key] = _label(str(out[key]), f"serving.{key}")
    sig = out.get("signature")
    if sig is not None and not isinstance(sig, Mapping):
        raise InvalidManifest("serving.signature must be a mapping with inputs and outputs")
    return out


NONFINITE_JSON = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def json_numbers(value: Any) -> Any:
    """`value` with NaN and ±inf floats as the strings "NaN", "Infinity" and "-Infinity":
    JSON has no such numbers, and `--json` output must stay valid JSON (the same spelling
    JavaScript's Number() and Python's float() read back)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else NONFINITE_JSON[repr(value)]
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_numbers(v) for v in value]
    return value
