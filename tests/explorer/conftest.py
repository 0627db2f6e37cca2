"""App test fixtures: one demo store built per session at a fixed path (snapshots show it),
and fresh copies for tests that write."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from modelyard.store import Store

SNAPSHOT_STORE = Path(tempfile.gettempdir()) / "modelyard-snapshots" / "demo-store"


@pytest.fixture(scope="session")
def demo_store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, built once; tests must not write to it (use `writable_store`)."""
    from modelyard.store.demo import build_demo

    mp = pytest.MonkeyPatch()
    mp.setenv("MODELYARD_CACHE_DIR", str(tmp_path_factory.mktemp("session-cache")))
    if SNAPSHOT_STORE.exists():
        shutil.rmtree(SNAPSHOT_STORE)
    SNAPSHOT_STORE.parent.mkdir(parents=True, exist_ok=True)
    build_demo(SNAPSHOT_STORE).close()
    mp.undo()
    return SNAPSHOT_STORE


@pytest.fixture
def demo_store(demo_store_path: Path) -> Store:
    store = Store.open(demo_store_path)
    yield store
    store.close()


@pytest.fixture
def writable_store(demo_store_path: Path, tmp_path: Path) -> Store:
    target = tmp_path / "demo-copy"
    shutil.copytree(demo_store_path, target, symlinks=True)
    for folder, _dirs, _files in os.walk(target):
        os.chmod(folder, 0o775)
    store = Store.open(target)
    yield store
    store.close()
