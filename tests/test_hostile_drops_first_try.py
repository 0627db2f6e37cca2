"""The three hostile drops of issue 11 defect 8 under `watch --once`: a safetensors header
nested 200,000 deep, a tensor shape [1e999] and a model name of 100 `é` are each rejected at
the first pass, quarantined with REJECTED.txt/json saying what, where and how to fix; no
traceback, and nothing left in drops/."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from modelyard.store import Store

from helpers import run_cli, write_manifest_folder


def _safetensors(path: Path, header: str) -> None:
    raw = header.encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(24))


def _hf_drop(drops: Path, name: str, header: str) -> None:
    folder = drops / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "bert"}')
    _safetensors(folder / "model.safetensors", header)
    (folder / "COMPLETE").write_text("")


def test_hostile_drops_are_rejected_at_the_first_pass(tmp_path: Path,
                                                      cli_env: dict[str, str]) -> None:
    root = tmp_path / "store"
    Store.init(root).close()
    drops = root / "drops"
    _hf_drop(drops, "deep", '{"w": ' + "[" * 200_000 + "]" * 200_000 + "}")
    _hf_drop(drops, "huge", '{"w": {"dtype": "F32", "shape": [1e999], '
                            '"data_offsets": [0, 24]}}')
    write_manifest_folder(drops / "long", model="\u00e9" * 100)
    (drops / "long" / "COMPLETE").write_text("")
    out = run_cli(["--store", str(root), "watch", "--once"], cli_env)
    text, err = out.stdout.decode(), out.stderr.decode()
    assert out.returncode == 0 and "Traceback" not in err + text, err + text
    expect = {"deep": "model.safetensors: its safetensors header is nested too deeply",
              "huge": "model.safetensors: tensor 'w' has shape [inf]",
              "long": "600-byte folder name"}
    for name, says in expect.items():
        assert f"rejected {name}: " in text and says in text, text
        assert not (drops / name).exists()
    reasons = {}
    for qdir in (root / "quarantine").iterdir():
        why = json.loads((qdir / "REJECTED.json").read_text())
        assert (qdir / "REJECTED.txt").read_text().strip()
        assert "bug" not in why["hint"]
        reasons[why["drop"]] = why
    assert len(reasons) == 3
    assert all(says in reasons[name]["reason"] for name, says in expect.items())
