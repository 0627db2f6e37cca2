"""Every test gets its own store and cache folders; nothing reads the user's home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelyard.store import Store

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MODELYARD_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xcache"))
    monkeypatch.delenv("MODELYARD_STORE", raising=False)
    monkeypatch.delenv("MODELYARD_CRASH_AT", raising=False)
    monkeypatch.delenv("MODELYARD_CLOCK", raising=False)
    return home


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.init(tmp_path / "store")
    yield s
    s.close()


@pytest.fixture
def cli_env(isolated_env: Path) -> dict[str, str]:
    """Environment for running `python -m modelyard.app.cli.main` in a subprocess."""
    env = dict(os.environ)
    env["PYTHONIOENCODING"] = "utf-8"
    return env
