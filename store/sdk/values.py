"""Turning what training code logs (numpy arrays, torch tensors, sets, NaN) into plain JSON.

The SDK converts every value when it is logged, so the manifest written at exit holds only
JSON types and a value that cannot be stored fails on the line that logged it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from modelyard.store.errors import InvalidManifest


def plain_value(value: Any, depth: int = 0) -> Any:
    """JSON-safe data: numpy and torch values via .tolist(), other objects as their text."""
    if depth > 32:
        raise InvalidManifest("a logged value is nested more than 32 levels deep")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): plain_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return [plain_value(v, depth + 1) for v in sorted(value, key=str)]
    if callable(getattr(value, "tolist", None)):
        return plain_value(value.tolist(), depth + 1)
    return str(value)


def tolists(value: Any) -> Any:
    """Arrays and tuples as lists, numbers left as numbers (the card checks them)."""
    if callable(getattr(value, "tolist", None)):
        value = value.tolist()
    if isinstance(value, Mapping):
        return {k: tolists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [tolists(v) for v in value]
    return value


def finite_or_none(value: Any) -> float | None:
    """A chart score as a float; NaN, infinities, text and booleans become None."""
    if value is None or isinstance(value, (bool, str)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def tag_text(value: Any) -> str:
    """Tags are text: True as "true", None as ""."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(plain_value(value))


def deep_merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    """Merge nested params in place, so log_params(a={"x": 1}) keeps an earlier a.y."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            deep_merge(into[key], value)
        else:
            into[key] = value
