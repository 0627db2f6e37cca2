"""Every filter string of MLflow's own search tests (`search_filters.json`), run through real
MLflow 3 (`search_workload.py`, in the cached MLflow environment, SQLite and file backends)
and through modelyard after `import-mlflow` of the same store; the result sets are compared
run by run.

The scoreboard is printed at the end (`pytest -s` shows it) and may not fall below `FLOOR`;
raise the floor when a fix makes more filters agree. Filters MLflow rejects that modelyard
accepts on purpose are `EXTENSIONS`, each documented in the README's query section.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.errors import QueryError
from modelyard.store.ingest.mlflow.sync import import_mlflow

from .conftest import BACKENDS, CACHE, mlflow_python

HERE = Path(__file__).parent
FILTERS = HERE / "search_filters.json"

# MLflow refuses these; modelyard answers them on purpose (README, "The query language").
EXTENSIONS = {
    "metrics.A > 0.1 OR params.B = 'LR'": "OR",
    "metrics.A > 0.1 AND (params.B = 'LR')": "parentheses",
    "metrics.acc IS NULL": "IS NULL on a metric",
    "attribute.status IS NULL": "IS NULL on an attribute",
    "params.acc = 5": "an unquoted number compares a param as a number",
    "metrics.common > 0 NAND metrics.m_a > 0": "",  # never: a typo (kept to fail loudly)
}
EXTENSIONS = {k: v for k, v in EXTENSIONS.items() if v}

# The scoreboard this code reaches; a change may raise these, never lower them.
FLOOR = {"accepted-and-equal": 195, "accepted-but-different": 0, "wrongly rejected": 0,
         "wrongly accepted": 0}


@pytest.fixture(scope="session")
def mlflow_search() -> dict[str, tuple[Path, dict]]:
    """`{backend: (MLflow store, what MLflow answered for every filter)}`, both backends
    written at once. MLflow's side depends only on the workload, the filters and the MLflow
    environment, so it is kept in the test cache under their digest and written again only
    when one of them changes (about 45 s; comparing takes a few)."""
    python = mlflow_python()
    digest = hashlib.sha256()
    for part in (HERE / "search_workload.py", FILTERS, python.parents[1] / "installed"):
        digest.update(part.read_bytes())
    base = CACHE / f"mlflow-search-{digest.hexdigest()[:16]}"
    with open(CACHE / "mlflow-search.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all((base / b / "results.json").exists() for b in BACKENDS):
            shutil.rmtree(base, ignore_errors=True)
            base.mkdir(parents=True)
            _write_mlflow_side(python, base)
    return {b: (base / b / "work", json.loads((base / b / "results.json").read_text()))
            for b in BACKENDS}


def _write_mlflow_side(python: Path, base: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD", "MLFLOW"))}
    env.update(HOME=str(base), PYTHONDONTWRITEBYTECODE="1", MLFLOW_ALLOW_FILE_STORE="true")
    runs = {b: subprocess.Popen([str(python), str(HERE / "search_workload.py"), b,
                                 str(FILTERS), str(base / b)], env=env, cwd=base,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for b in BACKENDS}
    for backend, proc in runs.items():
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            shutil.rmtree(base, ignore_errors=True)
            pytest.fail(f"the MLflow search workload ({backend}) failed:\n{out[-3000:]}")


def modelyard_answer(store: Store, text: str) -> dict:
    try:
        found = store.search(text, limit=None)
    except QueryError as error:
        return {"ok": False, "error": str(error)}
    return {"ok": True, "runs": sorted(v.origin.get("run_id", "") for v in found)}


def outcome(theirs: dict, ours: dict, filter_text: str) -> str:
    if theirs["ok"] and ours["ok"]:
        return "accepted-and-equal" if theirs["runs"] == ours["runs"] else \
            "accepted-but-different"
    if theirs["ok"]:
        return "wrongly rejected"
    if not ours["ok"]:
        return "rejected by both"
    return "documented extension" if filter_text in EXTENSIONS else "wrongly accepted"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_mlflow_filter_answers_as_mlflow(mlflow_search: dict[str, tuple[Path, dict]],
                                               backend: str, tmp_path: Path) -> None:
    work, seen = mlflow_search[backend]
    sources = {e["filter"]: e["source"] for e in json.loads(FILTERS.read_text())["filters"]}
    store = Store.init(tmp_path / "store")
    import_mlflow(store, work)
    board: Counter[str] = Counter()
    lines = []
    templates = [e["filter"] for e in json.loads(FILTERS.read_text())["filters"]]
    for template, theirs in zip(templates, seen["results"], strict=True):
        text = theirs["filter"]
        ours = modelyard_answer(store, text)
        result = outcome(theirs, ours, text)
        board[result] += 1
        if result in ("accepted-but-different", "wrongly rejected", "wrongly accepted"):
            why = ours.get("error") or (f"mlflow {len(theirs.get('runs', []))} runs, "
                                        f"modelyard {len(ours.get('runs', []))}"
                                        if theirs["ok"] else theirs["error"][:80])
            lines.append(f"  {result}: {text}  [{why}]  ({sources[template].split('::')[-1]})")
    print("\n".join(["", f"MLflow search conformance ({backend} backend):", *sorted(lines)]))
    print("scoreboard: " + ", ".join(f"{k} {board[k]}" for k in (
        "accepted-and-equal", "accepted-but-different", "wrongly rejected", "wrongly accepted",
        "documented extension", "rejected by both")) + f" (of {sum(board.values())})")
    assert board["accepted-and-equal"] >= FLOOR["accepted-and-equal"]
    for bad in ("accepted-but-different", "wrongly rejected", "wrongly accepted"):
        assert board[bad] <= FLOOR[bad], bad
