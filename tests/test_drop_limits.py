"""Byte limits of a drop (issue 12.6): `max_file_bytes` and `max_drop_bytes` in the store
settings, counted in apparent size, so a sparse file (a few KB on disk) counts whole."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.disk import dropfs
from modelyard.store.disk.drop_limits import (
    DEFAULT_MAX_DROP_BYTES,
    DEFAULT_MAX_FILE_BYTES,
    ByteLimits,
)
from modelyard.store.errors import DropRejected, ModelNotFound
from modelyard.store.ingest.drops import ingest_ready


def _limit(store: Store, **settings: int) -> Store:
    config = json.loads(store.layout.config_path.read_text())
    config["settings"].update(settings)
    store.layout.config_path.write_text(json.dumps(config))
    return Store.open(store.root)


def _drop(store: Store, name: str, files: dict[str, int], *, sparse: bool = True) -> Path:
    folder = store.layout.drops / name
    folder.mkdir(parents=True)
    for rel, size in files.items():
        with open(folder / rel, "wb") as f:
            if sparse:
                f.truncate(size)  # what `truncate -s` makes: no block written
            else:
                f.write(os.urandom(size))
    (folder / "modelyard.json").write_text(json.dumps({"model": name, "files": list(files)}))
    (folder / "COMPLETE").write_bytes(b"")
    return folder


def _blob_bytes(store: Store) -> int:
    return sum(p.stat().st_size for p in (store.root / "blobs").rglob("*") if p.is_file())


def test_new_stores_write_the_generous_defaults(store: Store) -> None:
    settings = json.loads(store.layout.config_path.read_text())["settings"]
    assert settings["max_drop_bytes"] == DEFAULT_MAX_DROP_BYTES == 1 << 40
    assert settings["max_file_bytes"] == DEFAULT_MAX_FILE_BYTES == 512 << 30


def test_a_sparse_file_beyond_the_file_limit_is_rejected_before_hashing(store: Store) -> None:
    small = _limit(store, max_file_bytes=512 << 20)
    folder = _drop(small, "sparse", {"huge.bin": 1 << 30})
    assert os.stat(folder / "huge.bin").st_blocks * 512 < 64 * 1024  # sparse: ~nothing on disk
    before = _blob_bytes(small)
    [result] = ingest_ready(small)
    assert result.status == "rejected", result.line()
    assert "huge.bin is 1,073,741,824 bytes" in result.reason
    assert "at most 536,870,912" in result.reason
    quarantined = (result.quarantine / "REJECTED.txt").read_text()
    assert "max_file_bytes" in quarantined  # the hint says which setting to raise
    assert _blob_bytes(small) == before  # not one byte of it stored
    small.close()


def test_a_drop_beyond_the_drop_limit_is_rejected(store: Store) -> None:
    small = _limit(store, max_drop_bytes=3 << 20, max_file_bytes=2 << 20)
    _drop(small, "many", {"a.bin": 2 << 20, "b.bin": 2 << 20}, sparse=False)
    [result] = ingest_ready(small)
    assert result.status == "rejected", result.line()
    assert "the drop holds 4,194," in result.reason and "at most 3,145,728" in result.reason
    assert "max_drop_bytes" in (result.quarantine / "REJECTED.txt").read_text()
    small.close()


def test_a_drop_within_the_limits_is_ingested(store: Store) -> None:
    small = _limit(store, max_drop_bytes=5 << 20, max_file_bytes=2 << 20)
    _drop(small, "fits", {"a.bin": 2 << 20, "b.bin": 2 << 20}, sparse=False)
    [result] = ingest_ready(small)
    assert result.status == "ingested", result.line()
    small.close()


def test_storing_counts_again_what_the_first_look_saw(store: Store, tmp_path: Path) -> None:
    """A file that grew after the drop's sizes were checked is refused as it is stored."""
    folder = tmp_path / "grown"
    folder.mkdir()
    (folder / "w.bin").write_bytes(os.urandom(3 << 20))
    with dropfs.anchored(folder, ByteLimits(drop=10 << 20, file=2 << 20)), \
            pytest.raises(DropRejected, match="w.bin is 3,145,728 bytes"):
        store.add_version("grown", files={"w.bin": folder / "w.bin"})
    with pytest.raises(ModelNotFound):
        store.versions("grown")


def test_malformed_settings_keep_the_defaults() -> None:
    limits = ByteLimits.of({"max_drop_bytes": "lots", "max_file_bytes": -1})
    assert limits == ByteLimits(DEFAULT_MAX_DROP_BYTES, DEFAULT_MAX_FILE_BYTES)
