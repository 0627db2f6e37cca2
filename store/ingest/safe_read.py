"""Read what other tools wrote (JSON, YAML, front matter, small text files) without trusting it.

Every importer reads files a training job or another machine produced. Sizes are bounded,
symbolic links are refused (a link to ~/.ssh would otherwise end up in a shared store), YAML
goes through the manifest's safe loader that also refuses aliases, and a YAML tag that builds
Python objects (`!!python/object/apply:os.system`) is an InvalidManifest naming the tag.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from modelyard.store import safe_yaml
from modelyard.store.disk import dropfs
from modelyard.store.errors import DropRejected, InvalidManifest
from modelyard.store.names import TAG_VALUE_MAX, tag_key_or_none

MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_YAML_BYTES = 1024 * 1024
MAX_DEPTH = 64


def read_text(path: Path, *, limit: int, where: str | None = None) -> str:
    """A small text file's content; InvalidManifest if it is a link or larger than `limit`.
    Opened as every drop file is (dropfs.py): inside a claimed drop, no link on the way."""
    where = where or path.name
    try:
        data = dropfs.read_bytes(path, limit, where)
    except DropRejected as exc:
        if "link" in str(exc):
            raise InvalidManifest(f"{where} is a symbolic link (or lies under one); copy the "
                                  "real file into the folder") from None
        raise InvalidManifest(str(exc)) from None
    return data.decode("utf-8", "replace")


def read_small(path: Path, limit: int = 1024 * 1024) -> str | None:
    """Content of a one-value file (MLflow tags, params): None for links, oversize or unreadable."""
    try:
        return dropfs.read_bytes(path, limit).decode("utf-8", "replace")
    except (OSError, DropRejected):
        return None


def load_json(path: Path, *, limit: int = MAX_JSON_BYTES, where: str | None = None) -> Any:
    """Parse a JSON file of bounded size and depth."""
    where = where or path.name
    return load_json_text(read_text(path, limit=limit, where=where), where)


def load_json_text(text: str, where: str) -> Any:
    """Parse JSON held in a string (MLmodel signatures are JSON inside YAML)."""
    return plain(_parse(text, where, json_only=True), where)


def load_yaml_text(text: str, where: str) -> Any:
    """Safe YAML: plain data only, no aliases, no Python tags; dates become ISO text."""
    return plain(_parse(text, where, json_only=False), where)


def _parse(text: str, where: str, *, json_only: bool) -> Any:
    try:
        return safe_yaml.parse(text, where=where, json_only=json_only)
    except safe_yaml.Unreadable as exc:
        raise InvalidManifest(str(exc)) from None


def load_yaml(path: Path, *, limit: int = MAX_YAML_BYTES, where: str | None = None) -> Any:
    return load_yaml_text(read_text(path, limit=limit, where=where), where or path.name)


def plain(value: Any, where: str, depth: int = 0) -> Any:
    """JSON-like data only: keys as text, dates as ISO text, bounded nesting."""
    if depth > MAX_DEPTH:
        raise InvalidManifest(f"{where} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        return {str(k): plain(v, where, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v, where, depth + 1) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def dict_at(data: dict[str, Any], key: str) -> dict[str, Any]:
    """`data[key]` when it is a mapping, else {}: a drop's file may hold any shape there."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def front_matter(text: str, where: str, *, limit: int = 256 * 1024) -> tuple[dict, str]:
    """Split a model card into its YAML front matter (between `---` lines) and its body."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            raw = "".join(lines[1:i])
            if len(raw) > limit:
                raise InvalidManifest(f"{where} front matter is {len(raw):,} characters; the "
                                      f"limit is {limit:,}")
            data = load_yaml_text(raw, f"{where} front matter")
            return (data if isinstance(data, dict) else {}), "".join(lines[i + 1:])
    return {}, text


def clean_tags(tags: dict[str, Any]) -> dict[str, str]:
    """Tags with their keys exactly as written (one this store cannot hold, such as a key
    with a control character, is left out) and values up to modelyard's limit."""
    out: dict[str, str] = {}
    for key, value in tags.items():
        name = tag_key_or_none(key)
        if name is not None:
            out[name] = ("" if value is None else str(value))[:TAG_VALUE_MAX]
    return out
