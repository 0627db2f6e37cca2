"""Helpers shared by the reliability tests: child processes, inventories of what a store
holds on disk, hostile archive builders, and the byte patterns a terminal must never get."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from helpers import wait_for  # noqa: F401  (re-exported: reliability tests import it from here)

HERE = Path(__file__).parent
ACTOR = HERE / "actor.py"
PRODUCERS = HERE.parent / "drop_producers.py"
WRITER = HERE.parent / "writer_process.py"

# What must never reach a terminal: ESC (CSI, OSC 52 …), BEL, other C0 but newline, DEL,
# C1 controls (UTF-8 C2 80-9F) and bidi overrides/isolates/marks (UTF-8 of U+202A-202E,
# U+2066-2069, U+200E/F, U+061C).
TERMINAL_UNSAFE = re.compile(
    rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae\x8e\x8f]|\xe2\x81[\xa6-\xa9]"
    rb"|\xd8\x9c")


def run(script: Path, *args: object, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True,
                          text=True, env=env or dict(os.environ), timeout=timeout)


def actor(*args: object, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess:
    return run(ACTOR, *args, env=env, timeout=timeout)


def with_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, **extra)


def temp_files(root: Path) -> list[str]:
    """Every temp file left in the store's own areas (not drops: those are people's)."""
    found = [p.name for p in root.glob(".tmp-*")]
    for top in ("blobs", "models"):
        found += [str(p.relative_to(root)) for p in (root / top).rglob(".tmp-*")]
    return sorted(found)


def visible(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if not n.startswith(".")) \
        if folder.exists() else []


def record_numbers(root: Path, model: str) -> list[int]:
    from modelyard.store.disk.layout import Layout, numbered_files

    return numbered_files(Layout(root).versions_dir(model))


# archives ------------------------------------------------------------------------------------

def tar_bytes(members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w:gz") -> bytes:
    """A tar archive of (name, bytes) files and ready-made TarInfo entries (links, devices)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tar_entry(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o777
    return info


def zip_bytes(members: list[tuple[str, bytes] | zipfile.ZipInfo | tuple[zipfile.ZipInfo, bytes]]
              ) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member in members:
            if isinstance(member, tuple) and isinstance(member[0], zipfile.ZipInfo):
                zf.writestr(member[0], member[1])
            else:
                name, data = member
                zf.writestr(name, data)
    return buf.getvalue()


def manifest_yaml(model: str, **fields: object) -> bytes:
    import yaml

    return yaml.safe_dump({"model": model, "params": {"lr": 0.1}, **fields}).encode()
