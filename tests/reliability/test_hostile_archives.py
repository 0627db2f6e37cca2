"""Hostile archives: a .tar, .tar.gz or .zip dropped alone is unpacked into a hidden folder
inside its claim, with every member checked, then ingested as a folder; or rejected with a
reason and quarantined unchanged. Nothing is ever written outside the drop, no link is
followed or made, and a bomb stops at its budget.

The hostile *folder* drops of the ingestion issue (links, FIFOs, `..` in manifests, YAML
bombs, control characters in names, huge and deep trees) are in tests/test_drops_watcher.py
(test_hostile_drops_are_quarantined_with_reasons).
"""

from __future__ import annotations

import json
import os
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from reliability_kit import manifest_yaml, tar_bytes, tar_entry, visible, zip_bytes

from modelyard.store import Store
from modelyard.store.ingest import archives
from modelyard.store.ingest.drops import ingest_ready

pytestmark = pytest.mark.reliability

MANIFEST = ("modelyard.yaml", manifest_yaml("packed", files=["weights.bin"]))
WEIGHTS = ("weights.bin", b"packed weights " * 1000)


def _symlink_zip_entry(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16)
    return info, target.encode()


def _nameless_member_zip() -> bytes:
    """A zip whose second member has an empty name (zipfile's own is_dir fails on it)."""
    from io import BytesIO
    from unittest import mock

    out = BytesIO()
    with mock.patch.object(zipfile.ZipInfo, "is_dir", lambda self: False), \
            zipfile.ZipFile(out, "w") as zf:
        zf.writestr(*MANIFEST)
        nameless = zipfile.ZipInfo("x")
        nameless.filename = ""
        zf.writestr(nameless, b"data")
    return out.getvalue()


def _hostile(outside: Path) -> dict[str, tuple[bytes, str]]:
    """Each hostile archive by drop name, with a word its rejection reason must hold."""
    evil = ("../../../escaped.txt", b"escaped")
    deep = "/".join(["d"] * 40) + "/f.bin"
    return {
        "dotdot.tar.gz": (tar_bytes([MANIFEST, WEIGHTS, evil]), "leaves the archive"),
        "absolute.tar": (tar_bytes([MANIFEST, (str(outside), b"x")], "w"),
                         "not a plain relative path"),
        "symlink.tar.gz": (tar_bytes([MANIFEST, tar_entry("passwd", tarfile.SYMTYPE,
                                                          "/etc/passwd")]), "symbolic link"),
        "link-then-write.tgz": (tar_bytes([tar_entry("up", tarfile.SYMTYPE, "../.."),
                                           ("up/escaped.txt", b"x")]), "symbolic link"),
        "hardlink.tar.gz": (tar_bytes([MANIFEST, tar_entry("pw", tarfile.LNKTYPE,
                                                           "/etc/passwd")]), "hard link"),
        "device.tar.gz": (tar_bytes([MANIFEST, tar_entry("null", tarfile.CHRTYPE)]), "device"),
        "fifo.tar.gz": (tar_bytes([MANIFEST, tar_entry("pipe", tarfile.FIFOTYPE)]), "FIFO"),
        "twice.tar.gz": (tar_bytes([MANIFEST, WEIGHTS, WEIGHTS]), "twice"),
        "file-then-dir.tar.gz": (tar_bytes([MANIFEST, ("a", b"1"), ("a/b", b"2")]),
                                 "under a file"),
        "control.tar.gz": (tar_bytes([MANIFEST, ("\x1b]52;c;ZXZpbA==\x07.bin", b"x")]),
                           "not a plain relative path"),
        "deep.tar.gz": (tar_bytes([MANIFEST, (deep, b"x")]), "nests deeper than 32"),
        "broken.tar.gz": (tar_bytes([MANIFEST, WEIGHTS])[:-200], "cannot be unpacked"),
        "dotdot.zip": (zip_bytes([MANIFEST, evil]), "leaves the archive"),
        "backslash.zip": (zip_bytes([MANIFEST, ("..\\..\\escaped.txt", b"x")]),
                          "not a plain relative path"),
        "symlink.zip": (zip_bytes([MANIFEST, _symlink_zip_entry("pw", "/etc/passwd")]),
                        "symbolic link"),
        "nameless.zip": (_nameless_member_zip(), "member without a name"),
        "notreally.zip": (b"just text, named like an archive", "a drop must be a folder"),
        "checkpoint.pt": (zip_bytes([("archive/data.pkl", b"\x80\x04N.")]),
                          "a drop must be a folder"),
    }


def test_hostile_archives_are_quarantined_and_nothing_escapes(store: Store,
                                                              tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "abs.bin"
    cases = _hostile(outside)
    for name, (data, _) in cases.items():
        (store.layout.drops / name).write_bytes(data)
    results = {r.drop: r for r in ingest_ready(store, quiet_seconds=0)}
    assert sorted(results) == sorted(cases)
    for name, (data, word) in cases.items():
        result = results[name]
        assert result.status == "rejected" and word in result.reason, (name, result)
        kept = result.quarantine / "drop"
        assert kept.read_bytes() == data  # quarantined unchanged
        assert json.loads((result.quarantine / "REJECTED.json").read_text())["drop"] == name
        assert sorted(os.listdir(result.quarantine)) == ["REJECTED.json", "REJECTED.txt",
                                                         "drop"]
    assert not list(tmp_path.rglob("escaped.txt")) and not outside.exists()
    assert store.search("") == [] and visible(store.layout.drops) == []
    assert os.listdir(store.layout.drops / ".claims") == []


def test_bombs_stop_at_their_budget(store: Store, monkeypatch) -> None:
    monkeypatch.setattr(archives, "MIN_ALLOWANCE", 4 << 20)
    zeros = ("zeros.bin", bytes(64 << 20))  # 64 MiB that compress to about 64 KiB
    for name, data in (("bomb.zip", zip_bytes([MANIFEST, zeros])),
                       ("bomb.tar.gz", tar_bytes([MANIFEST, zeros]))):
        assert len(data) < 1 << 20
        (store.layout.drops / name).write_bytes(data)
    started = time.monotonic()
    results = ingest_ready(store, quiet_seconds=0)
    assert time.monotonic() - started < 10
    assert [r.status for r in results] == ["rejected", "rejected"]
    assert all("unpacks to more than" in r.reason for r in results)


def test_too_many_members_stop_early(store: Store, monkeypatch) -> None:
    monkeypatch.setattr(archives, "MAX_MEMBERS", 50)
    many = [(f"f{i}", b"") for i in range(60)]
    (store.layout.drops / "many.zip").write_bytes(zip_bytes([MANIFEST, *many]))
    (store.layout.drops / "many.tar").write_bytes(tar_bytes([MANIFEST, *many], "w"))
    results = ingest_ready(store, quiet_seconds=0)
    assert [r.status for r in results] == ["rejected", "rejected"]
    assert all("members" in r.reason and "50" in r.reason for r in results), results


@pytest.mark.parametrize("name", ["packed.tar.gz", "packed.tgz", "packed.tar", "packed.zip",
                                  "packed.tar.xz"])
def test_good_archives_are_ingested_like_folders(store: Store, name: str) -> None:
    members = [(f"packed/{n}", d) for n, d in (MANIFEST, WEIGHTS, ("sub/notes.txt", b"n"))]
    if name.endswith(".zip"):
        data = zip_bytes([("./" + n, d) for n, d in members[:2]])  # no single top folder
    else:
        mode = {"tar": "w", "tgz": "w:gz", "gz": "w:gz", "xz": "w:xz"}[name.rsplit(".", 1)[1]]
        data = tar_bytes(members, mode)
    (store.layout.drops / name).write_bytes(data)
    [result] = ingest_ready(store, quiet_seconds=0)
    assert result.status == "ingested" and result.refs == ["packed:1"], result
    version = store.get("packed:1")
    assert version.open("weights.bin") == WEIGHTS[1]
    [done] = visible(store.layout.drops / ".ingested")
    assert (store.layout.drops / ".ingested" / done).read_bytes() == data  # kept as dropped
    assert not list(store.layout.drops.rglob(archives.UNPACKED))
    assert os.listdir(store.layout.drops / ".claims") == []
    (store.layout.drops / name).write_bytes(data)  # dropped again: the same version
    [again] = ingest_ready(store, quiet_seconds=0)
    assert again.refs == ["packed:1"]
    assert store.fsck(read_data=True).clean
