"""Every filter string and every order of MLflow's own search tests (`search_filters.json`,
`search_orders.json`), run through real MLflow 3 (`search_workload.py` and `search_suites.py`,
in the cached MLflow environment, SQLite and file backends) and through modelyard after
`import-mlflow` of the same stores: filters are compared as sets (of runs, or of registered
model names), orders as lists.

The two scoreboards are printed at the end (`pytest -s` shows them) and may not fall below
`FLOOR` and `ORDER_FLOOR`; raise a floor when a fix makes more agree. Filters MLflow refuses
that modelyard answers on purpose are `EXTENSIONS`; orders carry their documented extension
or difference in `search_orders.json`. The README's query section lists them all.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.errors import QueryError
from modelyard.store.ingest.mlflow.sync import import_mlflow

from .conftest import BACKENDS, CACHE, mlflow_python

HERE = Path(__file__).parent
FILTERS = HERE / "search_filters.json"
ORDERS = HERE / "search_orders.json"
WORKLOAD = (HERE / "search_workload.py", HERE / "search_suites.py")

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

# The scoreboards this code reaches; a change may raise these, never lower them.
FLOOR = {"accepted-and-equal": 233, "accepted-but-different": 0, "wrongly rejected": 0,
         "wrongly accepted": 0}
# MLflow's two backends refuse different registered-model orders (search_orders.json), so
# each has its own count of orders both answer
ORDER_FLOOR = {"same order": {"sqlite": 53, "file": 46}, "different order": 0,
               "wrongly rejected": 0, "wrongly accepted": 0}
# A model version's times as modelyard's query language names them (search_orders.json)
VERSION_KEYS = {"creation_timestamp": "created", "last_updated_timestamp": "created"}


@pytest.fixture(scope="session")
def mlflow_search() -> dict[str, tuple[Path, dict]]:
    """`{backend: (folder of the MLflow stores, what MLflow answered)}`, both backends
    written at once. MLflow's side depends only on the workload, the filters, the orders
    and the MLflow environment, so it is kept in the test cache under their digest and
    written again only when one of them changes (a few minutes; comparing takes seconds)."""
    python = mlflow_python()
    digest = hashlib.sha256()
    for part in (*WORKLOAD, python.parents[1] / "installed"):
        digest.update(part.read_bytes())
    digest.update(_asked_of_mlflow().encode())
    base = CACHE / f"mlflow-search-{digest.hexdigest()[:16]}"
    with open(CACHE / "mlflow-search.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all((base / b / "results.json").exists() for b in BACKENDS):
            shutil.rmtree(base, ignore_errors=True)
            base.mkdir(parents=True)
            _write_mlflow_side(python, base)
    return {b: (base / b, json.loads((base / b / "results.json").read_text()))
            for b in BACKENDS}


def _asked_of_mlflow() -> str:
    """What MLflow is asked, without sources and notes: editing those keeps the cache."""
    asked = [[e.get(k) for k in ("kind", "suite", "experiment", "filter", "order_by")]
             for path, key in ((FILTERS, "filters"), (ORDERS, "orders"))
             for e in json.loads(path.read_text())[key]]
    return json.dumps(asked)


def _write_mlflow_side(python: Path, base: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD", "MLFLOW"))}
    env.update(HOME=str(base), PYTHONDONTWRITEBYTECODE="1", MLFLOW_ALLOW_FILE_STORE="true")
    runs = {b: subprocess.Popen([str(python), str(HERE / "search_workload.py"), b,
                                 str(FILTERS), str(ORDERS), str(base / b)], env=env, cwd=base,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for b in BACKENDS}
    for backend, proc in runs.items():
        out, _ = proc.communicate(timeout=1200)
        if proc.returncode != 0:
            shutil.rmtree(base, ignore_errors=True)
            pytest.fail(f"the MLflow search workload ({backend}) failed:\n{out[-3000:]}")


@pytest.fixture(scope="session")
def imported(mlflow_search: dict[str, tuple[Path, dict]],
             tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, Store]]:
    """`imported(backend)`: one modelyard store per MLflow store (suite), imported once."""
    done: dict[str, dict[str, Store]] = {}

    def stores(backend: str) -> dict[str, Store]:
        if backend not in done:
            folder, seen = mlflow_search[backend]
            base = tmp_path_factory.mktemp(f"imported-{backend}")
            done[backend] = {}
            for suite in seen["suites"]:
                store = Store.init(base / suite, index=base / f"{suite}.index")
                import_mlflow(store, folder / suite / "work")
                done[backend][suite] = store
        return done[backend]

    return stores


def modelyard_order(kind: str, order_by: list[str] | None) -> str:
    """MLflow's order_by list as modelyard's `order by` (registered models take the list)."""
    if not order_by:
        return ""
    if kind == "model_versions":
        order_by = [re.sub(r"^\s*(\w+)", lambda m: VERSION_KEYS.get(m[1], m[1]), item)
                    for item in order_by]
    return " order by " + ", ".join(order_by)


def modelyard_answer(stores: dict[str, Store], suites: dict, entry: dict, text: str) -> dict:
    kind, suite = entry.get("kind", "runs"), entry.get("suite", "search")
    order = entry.get("order_by")
    try:
        if kind == "registered_models":
            found = [m.name for m in stores[suite].models(text, order_by=order or [])]
        else:  # MLflow searches one experiment's runs: here, the model they are registered as
            model = (suites[suite]["models"][entry.get("experiment", "search")]
                     if kind == "runs" else None)
            found = [v.origin.get("run_id", "") for v in stores[suite].search(
                text + modelyard_order(kind, order), limit=None, model=model)]
    except QueryError as error:
        return {"ok": False, "error": str(error)}
    return {"ok": True, "found": found}


def outcome(theirs: dict, ours: dict, *, ordered: bool, extension: bool,
            difference: bool = False) -> str:
    if theirs["ok"] and ours["ok"]:
        same = theirs["found"] == ours["found"] if ordered else \
            sorted(theirs["found"]) == sorted(ours["found"])
        if same:
            return "same order" if ordered else "accepted-and-equal"
        if difference:
            return "documented difference"
        return "different order" if ordered else "accepted-but-different"
    if theirs["ok"]:
        return "wrongly rejected"
    if not ours["ok"]:
        return "rejected by both"
    return "documented extension" if extension else "wrongly accepted"


def _why(theirs: dict, ours: dict) -> str:
    if ours.get("error"):
        return ours["error"]
    if not theirs["ok"]:
        return theirs["error"][:80]
    return f"mlflow {theirs['found']}, modelyard {ours['found']}"


def _report(title: str, board: Counter[str], lines: list[str], keys: tuple[str, ...]) -> None:
    print("\n".join(["", title, *sorted(lines)]))
    print("scoreboard: " + ", ".join(f"{k} {board[k]}" for k in keys)
          + f" (of {sum(board.values())})")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_mlflow_filter_answers_as_mlflow(
        mlflow_search: dict[str, tuple[Path, dict]],
        imported: Callable[[str], dict[str, Store]], backend: str) -> None:
    _, seen = mlflow_search[backend]
    stores = imported(backend)
    entries = json.loads(FILTERS.read_text())["filters"]
    board: Counter[str] = Counter()
    kinds: Counter[tuple[str, str]] = Counter()
    lines = []
    for entry, theirs in zip(entries, seen["results"], strict=True):
        text = theirs["filter"]
        ours = modelyard_answer(stores, seen["suites"], {**entry, "order_by": None}, text)
        result = outcome(theirs, ours, ordered=False, extension=text in EXTENSIONS)
        board[result] += 1
        kinds[(entry.get("kind", "runs"), result)] += 1
        if result in ("accepted-but-different", "wrongly rejected", "wrongly accepted"):
            lines.append(f"  {result}: {text}  [{_why(theirs, ours)}]  "
                         f"({entry['source'].split('::')[-1]})")
    keys = ("accepted-and-equal", "accepted-but-different", "wrongly rejected",
            "wrongly accepted", "documented extension", "rejected by both")
    _report(f"MLflow search conformance ({backend} backend):", board, lines, keys)
    for kind in ("runs", "model_versions", "registered_models"):
        print(f"  {kind}: " + ", ".join(f"{k} {kinds[(kind, k)]}" for k in keys
                                        if kinds[(kind, k)]))
    assert board["accepted-and-equal"] >= FLOOR["accepted-and-equal"]
    for bad in ("accepted-but-different", "wrongly rejected", "wrongly accepted"):
        assert board[bad] <= FLOOR[bad], bad


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_mlflow_order_answers_as_mlflow(
        mlflow_search: dict[str, tuple[Path, dict]],
        imported: Callable[[str], dict[str, Store]], backend: str) -> None:
    _, seen = mlflow_search[backend]
    stores = imported(backend)
    entries = json.loads(ORDERS.read_text())["orders"]
    board: Counter[str] = Counter()
    lines = []
    for entry, theirs in zip(entries, seen["orders"], strict=True):
        ours = modelyard_answer(stores, seen["suites"], entry, theirs["filter"])
        note = entry.get("modelyard", {})
        result = outcome(theirs, ours, ordered=True, extension="extension" in note,
                         difference="difference" in note)
        board[result] += 1
        if result not in ("same order", "rejected by both"):
            shown = f"{entry.get('kind', 'runs')} {theirs['filter']!r} {entry['order_by']}"
            why = next(iter(note.values()), "") if result.startswith("documented") else \
                _why(theirs, ours)
            lines.append(f"  {result}: {shown}  [{why[:160]}]  "
                         f"({entry['source'].split('::')[-1]})")
    keys = ("same order", "different order", "wrongly rejected", "wrongly accepted",
            "documented extension", "documented difference", "rejected by both")
    _report(f"MLflow order-by conformance ({backend} backend):", board, lines, keys)
    assert board["same order"] >= ORDER_FLOOR["same order"][backend]
    for bad in ("different order", "wrongly rejected", "wrongly accepted"):
        assert board[bad] <= ORDER_FLOOR[bad], bad
