"""App test fixtures: one demo store built per session at a fixed path (snapshots show it),
and fresh copies for tests that write."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from modelyard.store import Store


@pytest.fixture(scope="session")
def demo_store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, built once; tests must not write to it (use `writable_store`)."""
    from modelyard.store.demo.build import build_demo

    mp = pytest.MonkeyPatch()
    mp.setenv("MODELYARD_CACHE_DIR", str(tmp_path_factory.mktemp("session-cache")))
    path = tmp_path_factory.mktemp("demo") / "demo-store"
    build_demo(path).close()
    mp.undo()
    return path


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
