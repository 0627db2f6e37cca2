"""Formats told by content, never by name: pickles of every protocol (0 and 1 have no
header, and protocol 0 is text), compressed pickles, pickles inside zips, ONNX and JSON."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import zipfile
import zlib
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.demo.files import onnx_bytes
from modelyard.store.ingest.sniff import sniff_file, sniff_head

REPO = Path(__file__).resolve().parent.parent


def _payload(canary: Path) -> bytes:
    """Protocol 0, by hand: what `pickle.loads` would turn into os.system('touch ...')."""
    return f"cos\nsystem\n(S'touch {canary}'\ntR.".encode()


def sniff(data: bytes, tmp_path: Path, name: str = "file.bin"):
    path = tmp_path / name
    path.write_bytes(data)
    from_file = sniff_file(path)
    assert sniff_head(data[:4096], size=len(data), whole=lambda: io.BytesIO(data)) == from_file
    return from_file


@pytest.mark.parametrize("name", ["notes.txt", "model.onnx", "config.json", "weights.bin"])
def test_a_protocol_0_payload_is_a_pickle_whatever_its_name(tmp_path: Path, name: str) -> None:
    canary = tmp_path / "canary"
    found = sniff(_payload(canary), tmp_path, name)
    assert (found.format, found.pickle, found.detail) == ("pickle", True, "protocol 0")
    cut = sniff(_payload(canary)[:-1] + b" and then text", tmp_path, name)  # still runs
    assert cut.pickle
    assert not canary.exists()


@pytest.mark.parametrize("protocol", range(6))
@pytest.mark.parametrize("value", [None, 7, "text", [1, 2.5, None], {"w": list(range(2000))},
                                   {"nested": {"a": (1, b"\x00" * 5000)}}, {1, 2}],
                         ids=["none", "int", "str", "list", "big", "nested", "set"])
def test_every_protocol_is_a_pickle(tmp_path: Path, protocol: int, value: object) -> None:
    found = sniff(pickle.dumps(value, protocol=protocol), tmp_path)
    assert found.pickle and found.format == "pickle"
    assert found.detail == f"protocol {protocol if protocol >= 2 else 0 if protocol == 0 else 1}" \
        or (protocol == 1 and found.detail == "protocol 0")  # protocol 1 may use only 0's


@pytest.mark.parametrize("path", ["README.md", "pyproject.toml", "store/api.py",
                                  "store/ingest/pickles.py", ".ci/run", "tests/conftest.py"])
def test_text_is_not_a_pickle(tmp_path: Path, path: str) -> None:
    found = sniff((REPO / path).read_bytes(), tmp_path)
    assert (found.format, found.pickle) == ("text", False)


@pytest.mark.parametrize("text", [b"N.", b"Git v2.31.7 Release Notes\n===", b"hello.",
                                  b"import os\nimport sys\n", b"class A:\n    x = 1\n"])
def test_short_text_that_parses_as_opcodes_is_still_text(tmp_path: Path, text: bytes) -> None:
    found = sniff(text + b"\nmore words follow here.\n", tmp_path)
    assert (found.format, found.pickle) == ("text", False)


@pytest.mark.parametrize("kind,pack", [("zlib", zlib.compress), ("gzip", gzip.compress),
                                       ("bz2", bz2.compress), ("xz", lzma.compress)])
def test_compressed_pickles_are_flagged(tmp_path: Path, kind: str, pack) -> None:
    found = sniff(pack(pickle.dumps({"w": list(range(100))}, protocol=4)), tmp_path, "m.bin")
    assert (found.format, found.pickle, found.detail) == ("joblib", True,
                                                          f"{kind}-compressed pickle")
    plain = sniff(pack(b"just some bytes " * 100), tmp_path, "m.joblib")
    assert not plain.pickle


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_zips_are_told_by_their_members_bytes(tmp_path: Path) -> None:
    torch = _zip({"archive/data.pkl": pickle.dumps({"w": 1}, protocol=2),
                  "archive/data/0": b"\x00" * 64})
    assert sniff(torch, tmp_path, "model.zip") == sniff(torch, tmp_path, "model.pt")
    assert sniff(torch, tmp_path).format == "pytorch" and sniff(torch, tmp_path).pickle
    hidden = sniff(_zip({"weights.bin": _payload(tmp_path / "c"), "README": b"hi\n"}), tmp_path)
    assert (hidden.format, hidden.pickle) == ("zip", True)
    assert "weights.bin" in hidden.detail
    named = sniff(_zip({"data.pkl": b"not a pickle at all\n"}), tmp_path)
    assert (named.format, named.pickle) == ("zip", False)


def test_onnx_json_and_text_by_content(tmp_path: Path) -> None:
    import random

    assert sniff(onnx_bytes(random.Random(1), 5000), tmp_path, "weights.bin").format == "onnx"
    assert sniff(b"\x08\x07\x12\x04onnx", tmp_path, "m").format == "onnx"
    saved_model = b"\x08\x01\x12\x90\x4e" + b"\x0a\x00\x01\x02" * 2500  # TF SavedModel-like
    assert sniff(saved_model, tmp_path, "model.onnx").format != "onnx"
    assert sniff(b'{"a": [1, 2]}\n', tmp_path, "a.txt").format == "json"
    assert sniff(b"a: 1\nb: [2]\n", tmp_path, "a.json").format == "text"


def test_a_stored_protocol_0_pickle_is_flagged(store: Store, tmp_path: Path) -> None:
    v = store.add_version("m", files={"notes.txt": _payload(tmp_path / "canary"),
                                      "model.py": b"print('hi')\n"})
    files = {f["path"]: f for f in v.record["files"]}
    assert files["notes.txt"]["pickle"] and files["notes.txt"]["format"] == "pickle"
    assert files["model.py"]["format"] == "text" and not files["model.py"]["pickle"]
    assert v.has_pickle
