"""The type check, so that `pytest` alone catches a type error: mypy over store/ and app/
with the settings in pyproject.toml (CI also runs it on its own, in .ci/run)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINKS = REPO / ".typecheck"


def test_mypy_is_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    exit_code = out.returncode
    assert exit_code == 0, "mypy failed:\n" + out.stdout + out.stderr


def test_mypy_reads_every_installed_package_through_its_link() -> None:
    """mypy finds `modelyard.*` through .typecheck/modelyard/ (see [tool.mypy]): each
    folder pyproject installs needs its link there, or mypy would not check it."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    for package, folder in config["tool"]["setuptools"]["package-dir"].items():
        link = LINKS.joinpath(*package.split("."))
        if package == "modelyard":
            link, folder = link / "__init__.py", f"{folder}/__init__.py"
        assert link.resolve() == (REPO / folder).resolve(), (
            f"{link.relative_to(REPO)} must be a symlink to {folder}: "
            f"ln -s with a relative target, then commit it")
