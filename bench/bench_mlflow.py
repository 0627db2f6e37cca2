"""modelyard against MLflow, each in its own environment: MLflow runs in a virtual
environment the bench creates (it is never a dependency of modelyard or its tests).

The workload is one realistic training run, N times: 20 params, 10 metrics x 100 steps, a
1 MB artifact and a registered model version. MLflow logs it with `log_batch` into its
SQLite backend; modelyard writes it through its SDK (a drop per run) and ingests the drops.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .measure import Result, Stats, ms, process_env

GROUP = "mlflow"
WORKER = Path(__file__).with_name("mlflow_worker.py")
TARGET_RATIO = 50.0
MEDIAN_MS = 20.0


class MlflowUnavailable(RuntimeError):
    pass


def venv_python(workdir: Path, packages: tuple[str, ...] = ("mlflow",)) -> Path:
    """The MLflow environment's python, created (and `pip install mlflow`) on first use.

    The tests share it (with `packages` such as scikit-learn added to it); `installed` lists
    what was installed, so a later caller only installs what is missing."""
    venv = workdir / "mlflow-venv"
    python = venv / "bin" / "python"
    marker = venv / "installed"
    if not marker.exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    have = marker.read_text().split() if marker.exists() else []
    missing = [p for p in packages if not any(h == p or h.startswith(p + "=") for h in have)]
    if missing:
        out = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *missing],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise MlflowUnavailable(f"pip install {' '.join(missing)} failed: "
                                    f"{out.stderr.strip()[-500:]}")
        marker.write_text("\n".join([*have, *missing]) + "\n")
    return python


def call(workdir: Path, command: str, **args: object) -> dict:
    env = process_env({k: v for k, v in os.environ.items() if not k.startswith("MODELYARD")})
    out = subprocess.run([str(venv_python(workdir)), str(WORKER), command],
                         input=json.dumps(args), capture_output=True, text=True, env=env)
    for line in out.stdout.splitlines():
        if line.startswith("MLFLOW-RESULT "):
            return json.loads(line.removeprefix("MLFLOW-RESULT "))
    raise MlflowUnavailable(f"the MLflow worker failed ({command}): "
                            f"{(out.stderr or out.stdout).strip()[-800:]}")


def artifacts(folder: Path, runs: int) -> list[Path]:
    """One distinct 1 MB artifact per run (content-addressing must not make later runs
    free), written before any timing starts."""
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(1 << 20)
    paths = []
    for i in range(runs):
        path = folder / f"artifact-{i}.bin"
        if not path.exists() or path.stat().st_size != len(block):
            path.write_bytes(i.to_bytes(8, "little") + block[8:])
        paths.append(path)
    return paths


def modelyard_workload(workdir: Path, runs: int, files: list[Path]) -> dict:
    """The workload through the SDK (drops), then ingested; seconds of each phase."""
    from modelyard import new_version
    from modelyard.store import Store
    from modelyard.store.ingest.drops import ingest_ready

    root = workdir / "ingest" / f"store-{runs}"
    index = workdir / "ingest" / f"index-{runs}.sqlite"
    shutil.rmtree(root, ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    Store.init(root, index=index).close()
    start = time.perf_counter()
    for i in range(runs):
        with new_version("bench-model", store=root) as v:
            v.log_params({f"param_{j}": 0.001 * (i + j) for j in range(20)})
            for step in range(100):
                v.log_metrics({f"metric_{k}": 1.0 / (1 + step + k + i) for k in range(10)},
                              step=step)
            v.add_file(files[i], name="model/artifact.bin")
    sdk = time.perf_counter() - start
    with Store.open(root, index=index) as store:
        results = ingest_ready(store, quiet_seconds=0)
        total = time.perf_counter() - start
        bad = [r.line() for r in results if r.status != "ingested"]
        if bad or len(results) != runs:
            raise AssertionError(f"{len(results)} drops of {runs}; problems: {bad[:3]}")
    return {"seconds": total, "sdk": sdk, "ingest": total - sdk, "root": root}


def workload(workdir: Path, runs_list: list[int], skipped: list[str], *,
             with_mlflow: bool = True, import_only: bool = False) -> list[Result]:
    """The workload through modelyard and through MLflow at each size; `import-mlflow` of
    MLflow's result at the smallest. `import_only` skips modelyard's side (the import at
    10,000 runs needs only MLflow's store)."""
    results = []
    for runs in runs_list:
        files = artifacts(workdir / "artifacts", runs)
        if import_only:
            folder = workdir / "mlflow" / f"workload-{runs}"
            shutil.rmtree(folder, ignore_errors=True)
            print(f"MLflow logs {runs:,} runs (about 0.15 s each)...", flush=True)
            call(workdir, "workload", folder=str(folder), runs=runs,
                 files=[str(f) for f in files])
            results.append(import_mlflow(workdir, folder, runs))
            continue
        ours = modelyard_workload(workdir, runs, files)
        ours_rate = runs / ours["seconds"]
        theirs = None
        if with_mlflow:
            folder = workdir / "mlflow" / f"workload-{runs}"
            shutil.rmtree(folder, ignore_errors=True)
            try:
                theirs = call(workdir, "workload", folder=str(folder), runs=runs,
                              files=[str(f) for f in files])
            except MlflowUnavailable as exc:
                skipped.append(f"MLflow workload at {runs} runs: {exc}")
        ratio = None if theirs is None else ours_rate / (runs / theirs["seconds"])
        note = (f"SDK {ours['sdk']:.1f} s ({runs / ours['sdk']:,.0f} drops/s), ingest "
                f"{ours['ingest']:.1f} s ({runs / ours['ingest']:,.0f} versions/s)")
        if theirs is not None:
            note += (f"; MLflow {theirs['seconds']:.1f} s = {runs / theirs['seconds']:.1f} "
                     f"runs/s, {theirs['db_bytes'] / theirs['points']:,.0f} B per point in "
                     "its SQLite")
        results.append(Result(
            GROUP, f"MLflow workload, {runs:,} runs: SDK + ingest",
            Stats(ours_rate, ours_rate, ours_rate, 1), "runs/s", "MLflow", ratio,
            f">= {TARGET_RATIO:g}x MLflow", None if ratio is None else ratio >= TARGET_RATIO,
            note=note,
            extra={"runs": runs} if theirs is None else
            {"runs": runs, "mlflow_runs_per_s": runs / theirs["seconds"]}))
        if theirs is not None and runs == min(runs_list):
            results.append(import_mlflow(workdir, folder, runs))
        shutil.rmtree(ours["root"], ignore_errors=True)
    return results


IMPORT_TARGET = 2.0  # the import within 2x of reading the same data through MlflowClient


def import_mlflow(workdir: Path, folder: Path, runs: int) -> Result:
    """`modelyard import-mlflow` of MLflow's own result, as a process (progress on its
    stderr), against reading the same versions, runs, histories and artifacts through
    MlflowClient in the same run (issue 13's target: within 2x at 10,000 runs of 1,000
    points; `--mlflow-runs 10000` measures that, about half an hour of MLflow logging)."""
    root = workdir / "ingest" / "imported"
    shutil.rmtree(root, ignore_errors=True)
    env = process_env(MODELYARD_CACHE_DIR=str(workdir / "ingest" / "import-cache"))
    cli = [sys.executable, "-m", "modelyard.app.cli.main", "--store", str(root)]
    subprocess.run([*cli, "init"], check=True, capture_output=True, env=env)
    start = time.perf_counter()
    out = subprocess.run([*cli, "import-mlflow", str(folder), "--json"], capture_output=True,
                         text=True, env=env)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise AssertionError(f"import-mlflow failed: {out.stderr[-800:]}")
    imported = len(json.loads(out.stdout)["versions"])
    shutil.rmtree(root, ignore_errors=True)
    read = call(workdir, "read_all", folder=str(folder))
    return Result(GROUP, f"import-mlflow of MLflow's {runs:,} runs vs reading them",
                  Stats(seconds, seconds, seconds, 1), "s", "MlflowClient reading",
                  read["seconds"] / seconds, f"<= {IMPORT_TARGET:g}x MlflowClient's time",
                  seconds <= IMPORT_TARGET * read["seconds"],
                  note=f"{imported} versions in {seconds:.1f} s (one process, progress "
                       f"shown); MlflowClient read {read['versions']} versions, "
                       f"{read['points']:,} points, {read['artifact_bytes'] / 1e6:.0f} MB "
                       f"in {read['seconds']:.1f} s")


def search(workdir: Path, store, size: int, *, repeat: int = 15) -> list[Result]:
    """The same filter on the same data: modelyard's index vs MLflow's search_runs."""
    from .bench_search import planned_search
    from .measure import timed

    folder = workdir / "mlflow" / f"search-{size}"
    done = folder / "populated.json"
    try:
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            info = call(workdir, "populate", folder=str(folder), index=str(store.index_path),
                        limit=size)
            done.write_text(json.dumps(info))
        info = json.loads(done.read_text())
        theirs = call(workdir, "search", folder=str(folder), experiment=info["experiment"],
                      filter_string="metrics.acc > 0.95 and params.`optimizer.name` = 'adam'",
                      order_by="metrics.acc DESC", repeat=min(repeat, 5))
        history = call(workdir, "history", folder=str(folder), points=10_000, repeat=5)
    except MlflowUnavailable:
        return []
    query = "metrics.acc > 0.95 and params.optimizer.name = 'adam' order by metrics.acc desc"
    ours = ms(timed(lambda: planned_search(store, query), repeat=repeat))
    mlflow_search = ms(Stats.of(theirs["samples"]))
    from .bench_search import _version_with_points

    version = _version_with_points(store, 10_000)
    full = ms(timed(lambda: store.get(version.ref).metric_series("train/loss"), repeat=repeat))
    mlflow_history = ms(Stats.of(history["samples"]))
    return [
        Result(GROUP, "search: metric + param filter, first 100 by metric", ours, "ms",
               "MLflow search_runs", mlflow_search.median / ours.median,
               f"median < {MEDIAN_MS:g} ms", ours.median < MEDIAN_MS, size=size,
               note=f"MLflow {mlflow_search.median:,.1f} ms (min {mlflow_search.min:,.1f}) "
                    f"for {theirs['found']} runs; same params and metrics in both"),
        Result(GROUP, "one metric's full history (10,000 points)", full, "ms",
               "MLflow get_metric_history", mlflow_history.median / full.median, size=size,
               note=f"MLflow {mlflow_history.median:,.1f} ms"),
    ]
