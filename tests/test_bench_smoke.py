"""The benchmark suite still runs: its store generator and the index and search benchmarks
on a 200-version store, in a few seconds. (Benchmarks are never unit tests: nothing here
checks a timing, only that the bench works end to end and its planner agrees with SQL.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_bench_generates_a_store_and_runs_the_search_benchmarks(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench", "--versions", "200", "--only", "index,search",
         "--repeat", "2", "--results", str(tmp_path / "RESULTS.md"),
         "--workdir", str(tmp_path / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "first 100: common word" in out.stdout
    assert "full reindex" in out.stdout
    results = (tmp_path / "RESULTS.md").read_text()
    assert "## Targets" in results and "results:end" in results
    assert not (REPO / "bench" / "stores").exists()  # generated data stays in the workdir
