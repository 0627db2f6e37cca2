"""Real MLflow for the tests: a virtual environment cached outside the repository, and the
workload of `workload.py` written once per test session by both MLflow backends.

The environment is `bench/`'s (`bench.bench_mlflow.venv_python`), kept in
`$MODELYARD_TEST_CACHE` (default `~/.cache/modelyard-tests`), with scikit-learn added. MLflow
is never a dependency of modelyard: when it cannot be installed the tests skip and say why.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = Path(__file__).with_name("workload.py")
CACHE = Path(os.environ.get("MODELYARD_TEST_CACHE")
             or Path.home() / ".cache" / "modelyard-tests")  # read before tests move HOME
BACKENDS = ("sqlite", "file")


def mlflow_python() -> Path:
    """The cached environment's python; one session at a time installs into it."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from bench.bench_mlflow import MlflowUnavailable, venv_python

    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "mlflow-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return venv_python(CACHE, ("mlflow", "scikit-learn"))
        except (MlflowUnavailable, subprocess.CalledProcessError) as exc:
            pytest.skip(f"real MLflow is not available: {exc}")


@pytest.fixture(scope="session")
def mlflow_workload(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`{backend: folder}`; each folder holds `p1/`, `p2/` (the store after each phase) and
    `p1.json`, `p2.json` (what MlflowClient said then)."""
    python = mlflow_python()
    base = tmp_path_factory.mktemp("mlflow-workload")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD", "MLFLOW"))}
    env.update(HOME=str(base), PYTHONDONTWRITEBYTECODE="1", MLFLOW_ALLOW_FILE_STORE="true")
    runs = {b: subprocess.Popen([str(python), str(WORKLOAD), b, str(base / b)], env=env,
                                cwd=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for b in BACKENDS}
    for backend, proc in runs.items():
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            pytest.fail(f"the MLflow workload ({backend}) failed:\n{out[-3000:]}")
    return {b: base / b for b in BACKENDS}


def mlflow_view(folder: Path, phase: int) -> dict:
    return json.loads((folder / f"p{phase}.json").read_text())
