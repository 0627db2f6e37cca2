"""Big weights files against the machine's limits: ingesting a 1 GiB and a 10 GiB file vs
hashing the same bytes alone and vs `cp` with fsync; `fsck --read-data` in GB/s; and what
BLAKE3 would change. Files are read from the page cache in every case (each is read once
before timing), so the comparison is of work done, not of the disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from .measure import Result, Stats

GROUP = "files"
BLOCK = 64 << 20
TARGET_SHARE = 0.8


def _make(path: Path, gib: float) -> int:
    """A file of `gib` GiB of random-looking bytes (a 64 MiB random block, varied)."""
    size = int(gib * (1 << 30))
    path.parent.mkdir(parents=True, exist_ok=True)
    block = bytearray(os.urandom(BLOCK))
    with open(path, "wb") as f:
        written = 0
        while written < size:
            block[:8] = written.to_bytes(8, "little")
            n = min(BLOCK, size - written)
            f.write(block[:n])
            written += n
    return size


def _read_all(path: Path) -> None:
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 22):
            pass


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _blake3(path: Path) -> float | None:
    try:
        from blake3 import blake3
    except ImportError:
        return None
    start = time.perf_counter()
    h = blake3(max_threads=blake3.AUTO)
    h.update_mmap(str(path))
    h.hexdigest()
    return time.perf_counter() - start


def _cp_fsync(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["cp", str(src), str(dst)], check=True)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - start


def _drop(drops: Path, name: str, weights: Path) -> Path:
    folder = drops / f".tmp-{name}"
    folder.mkdir(parents=True)
    os.rename(weights, folder / "model.safetensors")
    (folder / "modelyard.json").write_text(
        '{"model": "big", "description": "a big weights file", "files": ["model.safetensors"]}')
    (folder / "COMPLETE").write_text("")
    os.rename(folder, drops / name)
    return drops / name


def one(workdir: Path, gib: float) -> list[Result]:
    from modelyard.store import Store
    from modelyard.store.ingest.drops import ingest_drop

    base = workdir / "files"
    shutil.rmtree(base, ignore_errors=True)
    src = base / "weights.bin"
    size = _make(src, gib)
    gb = size / 1e9
    _read_all(src)
    start = time.perf_counter()
    _sha256(src)
    hashing = time.perf_counter() - start
    b3 = _blake3(src)
    copied = _cp_fsync(src, base / "copy.bin")
    (base / "copy.bin").unlink()
    root, index = base / "store", base / "index.sqlite"
    store = Store.init(root, index=index)
    drop = _drop(root / "drops", "big-1", src)
    start = time.perf_counter()
    result = ingest_drop(store, drop)
    ingest = time.perf_counter() - start
    assert result.status == "ingested", result.line()
    # the API path: a file the caller keeps, so it is copied (hashed while copying)
    src2 = base / "weights-2.bin"
    _make(src2, gib)
    _read_all(src2)
    start = time.perf_counter()
    store.add_version("big-api", files={"model.safetensors": src2})
    api = time.perf_counter() - start
    mlflow = _mlflow_log_artifact(workdir, src2) if gib <= 1 else None
    start = time.perf_counter()
    report = store.fsck(read_data=True)
    fsck = time.perf_counter() - start
    store.close()
    label = f"{gib:g} GiB"
    share = hashing / ingest
    blake = "" if b3 is None else (
        f"; BLAKE3 hashes it in {b3:.2f} s ({gb / b3:.2f} GB/s): with it the drop ingest "
        f"would take ~{ingest - 2 * hashing + 2 * b3:.2f} s (two passes) or "
        f"~{ingest - 2 * hashing + b3:.2f} s (one)")
    results = [
        Result(GROUP, f"ingest a {label} weights file (drop: hash + link)",
               Stats(gb / ingest, gb / ingest, gb / ingest, 1), "GB/s", "sha256 alone",
               hashing / ingest, f">= {TARGET_SHARE:.0%} of hashing alone",
               hashing / ingest >= TARGET_SHARE,
               note=f"{ingest:.2f} s; sha256 alone {hashing:.2f} s ({gb / hashing:.2f} GB/s) "
                    f"= {share:.0%} of the ingest; cp+fsync {copied:.2f} s "
                    f"({gb / copied:.2f} GB/s){blake}"),
        Result(GROUP, f"add_version of a {label} file (API: kernel copy beside the hashing)",
               Stats(gb / api, gb / api, gb / api, 1), "GB/s", "sha256 alone", hashing / api,
               f">= {TARGET_SHARE:.0%} of hashing alone", hashing / api >= TARGET_SHARE,
               note=f"{api:.2f} s; sha256 alone {hashing:.2f} s, cp+fsync {copied:.2f} s "
                    f"({copied / api:.2f}x this)"),
        Result(GROUP, f"fsck --read-data ({2 * gib:g} GiB of blobs)",
               Stats(report.bytes_hashed / 1e9 / fsck, report.bytes_hashed / 1e9 / fsck,
                     report.bytes_hashed / 1e9 / fsck, 1), "GB/s", "sha256 alone",
               hashing / gb * report.bytes_hashed / 1e9 / fsck,
               note=f"{report.bytes_hashed / 1e9:.1f} GB in {fsck:.2f} s"),
    ]
    if mlflow is not None:
        results.append(Result(
            GROUP, f"add_version of a {label} file vs MLflow's log_artifact",
            Stats(api, api, api, 1), "s", "MLflow log_artifact", mlflow / api,
            note=f"add_version {api:.2f} s (copied, hashed, fsynced); MLflow "
                 f"{mlflow:.2f} s (median of 3: a copy, neither hashed nor fsynced)"))
    shutil.rmtree(base, ignore_errors=True)
    return results


def _mlflow_log_artifact(workdir: Path, path: Path) -> float | None:
    """Median seconds of MLflow's `log_artifact` of the same file, or None without MLflow."""
    from .bench_mlflow import MlflowUnavailable, call

    folder = workdir / "files" / "mlflow"
    try:
        seconds = call(workdir, "log_big_artifact", folder=str(folder), path=str(path),
                       repeat=3)["seconds"]
    except MlflowUnavailable:
        return None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return sorted(seconds)[len(seconds) // 2]


def run(workdir: Path, sizes: list[float], skipped: list[str]) -> list[Result]:
    results = []
    for gib in sizes:
        free = shutil.disk_usage(workdir).free / (1 << 30)
        if free < gib * 3.5:
            skipped.append(f"{gib:g} GiB file ingest: {free:.0f} GiB free, {gib * 3.5:g} needed")
            continue
        results += one(workdir, gib)
    return results
