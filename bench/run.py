"""`python -m bench`: generate stores, run every benchmark, print the table, write RESULTS.md.

    python -m bench --versions 1000 100000            # all groups, both sizes
    python -m bench --versions 200 --only search      # one group (the smoke test does this)

Generated stores are kept in --workdir (never in the repository) and reused by later runs:
they are deterministic, so a store of a given size and seed is the same store.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from . import report
from .generate import generate_store
from .measure import Result, text_table

GROUPS = ("index", "search", "cli", "series", "ingest", "files", "mlflow", "app", "watcher",
          "snapshot", "network")
SIZED = {"index", "search", "app", "snapshot", "network"}  # run once per --versions size


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--versions", type=int, nargs="+", default=[1000, 100_000],
                   help="store sizes to generate and measure (default: 1000 100000)")
    p.add_argument("--only", default=",".join(GROUPS),
                   help=f"comma-separated groups (default: all of {', '.join(GROUPS)})")
    p.add_argument("--workdir", default=os.environ.get("MODELYARD_BENCH_DIR",
                                                       "/tmp/modelyard-bench"),
                   help="where stores, indexes and venvs go (default /tmp/modelyard-bench)")
    p.add_argument("--repeat", type=int, default=15, help="timed runs per benchmark")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mlflow-runs", type=int, nargs="+", default=[200, 2000],
                   help="runs in the MLflow-equivalent ingest workload (default 200 2000)")
    p.add_argument("--mlflow-import-only", action="store_true",
                   help="the ingest group measures only import-mlflow against MlflowClient "
                        "reading (with --mlflow-runs 10000: the issue's import target)")
    p.add_argument("--mlflow-search-sizes", type=int, nargs="+", default=[1000, 100_000])
    p.add_argument("--big-files", type=float, nargs="+", default=[1, 10],
                   help="GiB sizes of the weights files to ingest (default 1 10)")
    p.add_argument("--app-sizes", type=int, nargs="+", default=None,
                   help="store sizes for the app benchmarks (default: those >= 100000, else "
                        "the largest)")
    p.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")),
                   help="where to write the Markdown results ('-' for none)")
    p.add_argument("--fresh", action="store_true", help="regenerate stores even if present")
    p.add_argument("--merge", action="store_true",
                   help="keep the results of earlier runs (RESULTS.json) for benchmarks this "
                        "run does not measure")
    return p.parse_args(argv)


def ensure_store(workdir: Path, size: int, seed: int, fresh: bool) -> Path:
    """The generated store of `size` versions, built now unless a complete one exists."""
    import shutil

    root = workdir / "stores" / f"v{size}-s{seed}"
    done = root.parent / f"{root.name}.complete"
    if fresh or not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        done.unlink(missing_ok=True)
        root.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        generate_store(root, size, seed=seed)
        done.write_text(f"{time.perf_counter() - start:.1f}\n")
        print(f"generated {size:,} versions in {done.read_text().strip()} s: {root}",
              flush=True)
    return root


def _compile_package() -> None:
    """Write the package's bytecode cache, as installing it does: the timed processes then
    start the way an installed modelyard starts (see measure.process_env)."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for folder in ("store", "app", "bench"):
        compileall.compile_dir(root / folder, quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        print(f"unknown group(s): {', '.join(sorted(unknown))}; groups are {', '.join(GROUPS)}",
              file=sys.stderr)
        return 2
    workdir = Path(args.workdir).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["MODELYARD_CACHE_DIR"] = str(workdir / "cache")  # never the user's home
    os.environ.setdefault("MODELYARD_USER", "bench")
    started = time.time()
    from .machine import describe

    machine = describe(workdir)
    _compile_package()
    results: list[Result] = []
    skipped: list[str] = []

    partial = Path(args.workdir) / "results-so-far.json"

    def add(new: list[Result]) -> None:
        results.extend(new)
        print(text_table(new), flush=True)
        report.save(partial, results, [])  # a crash later loses nothing measured

    sizes = sorted(set(args.versions))
    app_sizes = args.app_sizes or [s for s in sizes if s >= 100_000] or sizes[-1:]
    for size in sizes:
        if not SIZED & set(groups) and not ("mlflow" in groups
                                            and size in args.mlflow_search_sizes):
            continue
        root = ensure_store(workdir, size, args.seed, args.fresh)
        index = workdir / "index" / f"v{size}-s{args.seed}.sqlite"
        index.parent.mkdir(parents=True, exist_ok=True)
        store = None
        if "index" in groups:
            from . import bench_index

            store, rebuilt = bench_index.reindex(root, index, size)
            add([rebuilt, bench_index.catch_up(store, size)])
        if store is None:
            from modelyard.store import Store

            store = Store.open(root, index=index)
        if "search" in groups:
            from . import bench_search

            add(bench_search.run(store, size, repeat=args.repeat))
        if "mlflow" in groups and size in args.mlflow_search_sizes:
            from . import bench_mlflow

            add(bench_mlflow.search(workdir, store, size, repeat=args.repeat))
        store.close()
        if "snapshot" in groups:
            from . import bench_snapshots

            add(bench_snapshots.run(root, index, size, workdir))
        if "network" in groups:
            from . import bench_network

            if size == sizes[0]:  # the smallest: minutes per pass
                add(bench_network.run(workdir, root, size, skipped))
            add(bench_network.first_open(workdir, root, index, size, skipped))
        if "app" in groups and size in app_sizes:
            from . import bench_app

            add(bench_app.run(root, index, size, workdir))
    if "cli" in groups:
        from . import bench_cli

        root = ensure_store(workdir, sizes[-1], args.seed, False)
        add(bench_cli.run(workdir, root, workdir / "index" / f"v{sizes[-1]}-s{args.seed}.sqlite",
                          sizes[-1]))
    if "series" in groups:
        from . import bench_series

        add(bench_series.run(workdir, repeat=args.repeat))
    if "ingest" in groups:
        from . import bench_mlflow

        workload = bench_mlflow.workload(workdir, args.mlflow_runs, skipped,
                                         import_only=args.mlflow_import_only)
        add(workload)
        if not args.mlflow_import_only:
            from . import bench_batch

            runs = min(args.mlflow_runs)
            mlflow = [r.extra["mlflow_runs_per_s"] for r in workload
                      if r.extra.get("runs") == runs and "mlflow_runs_per_s" in r.extra]
            add(bench_batch.run(workdir, runs, mlflow[0] if mlflow else None))
    if "files" in groups:
        from . import bench_files

        add(bench_files.run(workdir, args.big_files, skipped))
    if "watcher" in groups:
        from . import bench_watcher

        add(bench_watcher.run(workdir))
    print()
    print(text_table(results))
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    if args.results != "-":
        path, commands = Path(args.results), [command]
        if args.merge:
            results, commands = report.merged(path, results, commands)
        report.save(path, results, commands)
        report.write(path, results, machine=machine, command="\n".join(commands),
                     seconds=time.time() - started, skipped=skipped)
        print(f"\nwrote {args.results}")
    return 0
