"""Producer and watcher processes for the drop tests, each a real separate process.

    python drop_producers.py slow DROPS NAME MB      a big file copied in slow chunks, no marker
    python drop_producers.py rename DROPS NAME       written under a hidden name, renamed in
    python drop_producers.py complete DROPS NAME     written slowly, COMPLETE last
    python drop_producers.py watch STORE [--poll S] [--quiet S] [--once] [--claim-timeout S]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from pathlib import Path

from helpers import write_manifest_folder

CHUNK = 128 * 1024


def payload(name: str, size: int) -> bytes:
    """Deterministic bytes per drop, so a test can recompute the digest it expects."""
    return random.Random(name).randbytes(size)


def expected_digest(name: str, size: int) -> str:
    return "sha256:" + hashlib.sha256(payload(name, size)).hexdigest()


def _manifest(folder: Path, name: str) -> None:
    """Manifest first: a watcher that ingested too early would miss or truncate big.bin."""
    write_manifest_folder(folder, model=name, files=["model.safetensors", "big.bin"])


def _write_slowly(path: Path, data: bytes, pause: float, long_pause_at: int = -1) -> None:
    with open(path, "wb") as f:
        for i in range(0, len(data), CHUNK):
            f.write(data[i:i + CHUNK])
            f.flush()
            time.sleep(pause * (8 if i // CHUNK == long_pause_at else 1))


def slow(drops: Path, name: str, megabytes: int) -> None:
    folder = drops / name
    _manifest(folder, name)
    data = payload(name, megabytes << 20)
    _write_slowly(folder / "big.bin", data, 0.04, long_pause_at=len(data) // CHUNK // 2)


def rename(drops: Path, name: str) -> None:
    hidden = drops / f".{name}.partial"
    _manifest(hidden, name)
    _write_slowly(hidden / "big.bin", payload(name, 1 << 20), 0.05)
    os.rename(hidden, drops / name)


def complete(drops: Path, name: str) -> None:
    folder = drops / name
    _manifest(folder, name)
    _write_slowly(folder / "big.bin", payload(name, 1 << 20), 0.1)
    (folder / "COMPLETE").write_bytes(b"")


def watch(args: argparse.Namespace) -> int:
    from modelyard.store.ingest.watcher import run_watch

    return run_watch(args.store, poll=args.poll, once=args.once, quiet_seconds=args.quiet,
                     claim_timeout=args.claim_timeout, log=lambda line: print(line, flush=True))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["slow", "rename", "complete", "watch"])
    parser.add_argument("path", type=Path)
    parser.add_argument("name", nargs="?", default="")
    parser.add_argument("megabytes", nargs="?", type=int, default=8)
    parser.add_argument("--poll", type=float, default=None)
    parser.add_argument("--quiet", type=float, default=None)
    parser.add_argument("--claim-timeout", type=float, default=600.0)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    if args.kind == "watch":
        args.store = args.path
        return watch(args)
    {"slow": lambda: slow(args.path, args.name, args.megabytes),
     "rename": lambda: rename(args.path, args.name),
     "complete": lambda: complete(args.path, args.name)}[args.kind]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
