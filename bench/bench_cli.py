"""The CLI as whole processes, start to exit, against a bare `python -c pass`; and which
heavy modules the listing path imports (none of Textual or polars may be among them)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .measure import Result, Stats, process_env

GROUP = "cli"
LS_MS, SHOW_MS, INIT_MS = 150.0, 150.0, 50.0
HEAVY = ("textual", "polars", "rich")
PROBE = ("import sys; from modelyard.app.cli.main import main; code = main(sys.argv[1:]); "
         "bad = sorted(set(m.split('.')[0] for m in sys.modules) & set(HEAVY)); "
         "print('HEAVY ' + ','.join(bad), file=sys.stderr); sys.exit(code)")


def _time(argv: list[str], env: dict[str, str], repeat: int,
          prepare=None) -> tuple[Stats, subprocess.CompletedProcess]:
    samples, out = [], None
    for i in range(repeat + 1):
        if prepare is not None:
            prepare()
        start = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, text=True, env=env)
        if i:
            samples.append((time.perf_counter() - start) * 1000)
        if out.returncode != 0:
            raise AssertionError(f"{argv[3:]} failed: {out.stderr[-500:]}")
    return Stats.of(samples), out


def run(workdir: Path, root: Path, index: Path, size: int, *, repeat: int = 7) -> list[Result]:
    env = process_env(MODELYARD_CACHE_DIR=str(workdir / "cache"))
    python = [sys.executable, "-c"]
    bare, _ = _time([*python, "pass"], env, repeat)
    cli = [*python, f"HEAVY = {HEAVY!r}; " + PROBE, "--store", str(root), "--index", str(index)]
    ls, out = _time([*cli, "ls"], env, repeat)
    heavy_ls = out.stderr.rsplit("HEAVY ", 1)[-1].strip()
    listed = json.loads(subprocess.run([*cli, "ls", "--json", "--limit", "1"], env=env,
                                       capture_output=True, text=True).stdout)
    show, out = _time([*cli, "show", listed[0]["ref"]], env, repeat)
    heavy_show = out.stderr.rsplit("HEAVY ", 1)[-1].strip()
    target = workdir / "cli-init"

    def clean() -> None:
        shutil.rmtree(target, ignore_errors=True)

    init, _ = _time([*python, f"HEAVY = {HEAVY!r}; " + PROBE, "--index",
                     str(workdir / "cli-init.sqlite"), "init", str(target)], env, repeat,
                    prepare=clean)
    imports, _ = _time([*python, "import modelyard.app.cli.main, modelyard.store"], env, repeat)
    base = f"python start alone {bare.median:.0f} ms"
    return [
        Result(GROUP, "ls (whole process)", ls, "ms", "python -c pass", bare.median / ls.median,
               f"< {LS_MS:g} ms, no Textual/polars", ls.median < LS_MS and not heavy_ls,
               size=size, note=f"{base}; heavy modules imported: {heavy_ls or 'none'}"),
        Result(GROUP, "show (whole process)", show, "ms", "python -c pass",
               bare.median / show.median, f"< {SHOW_MS:g} ms, no Textual/polars",
               show.median < SHOW_MS and not heavy_show, size=size,
               note=f"{base}; heavy modules imported: {heavy_show or 'none'}"),
        Result(GROUP, "init (whole process)", init, "ms", "python -c pass",
               bare.median / init.median, f"< {INIT_MS:g} ms", init.median < INIT_MS,
               note=base),
        Result(GROUP, "import of the CLI and store", imports, "ms", "python -c pass",
               bare.median / imports.median, note=base),
    ]
