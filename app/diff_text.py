"""Unified diffs of two versions, as text for a pager: their params (the whole config, as
YAML) or a file both have (stored or source). No UI here; control characters in stored
text are made visible, so the pager never receives a terminal escape from a drop."""

from __future__ import annotations

import difflib

from modelyard.store import Version

from .safe_text import human_size, printable

PARAMS = "params"
MAX_BYTES = 20_000_000  # a larger file is not diffed as text


def diff_choices(a: Version, b: Version) -> list[tuple[str, str]]:
    """(id, label) of what can be diffed: params, then files present in both versions."""
    choices = [(PARAMS, "params (the whole config, as YAML)")]
    digests_b = {f["path"]: f["digest"] for f in b.files}
    for f in a.files:
        if f["path"] in digests_b:
            same = " (same content)" if digests_b[f["path"]] == f["digest"] else ""
            choices.append((f"file:{f['path']}", f"file {f['path']}{same}"))
    source_b = {f["path"] for f in b.source.get("files") or []}
    for f in a.source.get("files") or []:
        if f["path"] in source_b:
            choices.append((f"source:{f['path']}", f"source {f['path']}"))
    return choices


def _lines(data: bytes) -> list[str] | None:
    if b"\0" in data[:8192]:
        return None  # binary
    return data.decode("utf-8", "replace").splitlines(keepends=True)


def _params_yaml(v: Version) -> list[str]:
    import yaml

    return yaml.safe_dump(v.params, sort_keys=True, allow_unicode=True,
                          default_flow_style=False).splitlines(keepends=True)


def diff_text(a: Version, b: Version, choice: str) -> str:
    """The unified diff for one of `diff_choices`, with a first line saying what it is."""
    kind, _, path = choice.partition(":")
    left: list[str] | None
    right: list[str] | None
    if kind == PARAMS:
        what, left, right = "params", _params_yaml(a), _params_yaml(b)
    else:
        what = f"{kind} {path}"
        sizes = {f["path"]: f["size"] for f in (a.files if kind == "file" else [])}
        if sizes.get(path, 0) > MAX_BYTES:
            return printable(f"# {what} is {human_size(sizes[path])}: too large to diff "
                             f"here; export both with `modelyard export`\n", multiline=True)
        read = (lambda v: v.open(path)) if kind == "file" else (lambda v: v.source_file(path))
        left, right = _lines(read(a)), _lines(read(b))
        if left is None or right is None:
            return printable(f"# {what}: binary files differ (or are the same; compare "
                             "their digests in the Files tab)\n", multiline=True)
    head = f"# modelyard: {what} of {a.ref} (---) and {b.ref} (+++)\n"
    body = "".join(difflib.unified_diff(left, right, f"{a.ref}/{what}", f"{b.ref}/{what}"))
    if not body:
        body = f"# {what} is the same in both\n"
    return printable(head + body, multiline=True)
