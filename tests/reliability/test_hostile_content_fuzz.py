"""Hostile content in every file a drop reader parses (issue 11 defect 8): safetensors
headers, Hugging Face configs, Trainer state, adapter configs, model cards, MLmodel files and
native manifests, fed deep nesting, huge and non-finite numbers and wrong types.

Each example goes through the watcher's real path (`ingest_drop`: claim, inspect, read, add)
and must end at the FIRST try as either an ingested version that reads back, or a rejection
quarantined with REJECTED.json whose reason names the file at fault. Never a retry, never a
traceback. The examples that once crashed the watcher are pinned with @example.
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from modelyard.store import Store
from modelyard.store.ingest.drops import ingest_drop

from helpers import FUZZ_EXAMPLES

pytestmark = pytest.mark.reliability

DEEP = "[" * 200_000 + "]" * 200_000  # RecursionError in json.loads
DEEP_DICT = '{"a":' * 50_000 + "1" + "}" * 50_000
HUGE_INT = "9" * 5000  # ValueError: beyond Python's int-to-text limit
BIG = "1" + "0" * 400  # an int no float holds: OverflowError in float()
RAW = st.sampled_from([DEEP, DEEP_DICT, HUGE_INT, BIG, "1e999", "-1e999", "NaN", "Infinity",
                       "-Infinity", "1e-400", "null", "true", '"x"', "[]", "{}", '"\\ud800"',
                       "[1e999]", "[NaN]", "[-1]", '[1, "2"]', "[1.5]", f"[{BIG}]",
                       "[1000000000000000000, 1000000000000000000, 1000000000000000000]",
                       '{"step": 1e999}', '[{"step": 1, "loss": ' + BIG + "}]",
                       '[{"step": ' + BIG + ', "loss": 1}]', '[{"step": 1, "loss": NaN}]'])
LEAVES = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63)
          | st.floats() | st.text(max_size=8))
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=10)
VALUE_TEXT = RAW | VALUES.map(lambda v: json.dumps(v))  # json writes NaN and Infinity


def _safetensors(header: str) -> bytes:
    raw = header.encode("utf-8", "surrogatepass")
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + bytes(24)


def _hf(folder: Path, files: dict[str, str | bytes]) -> None:
    base: dict[str, str | bytes] = {
        "config.json": '{"model_type": "bert", "architectures": ["BertModel"]}',
        "model.safetensors": _safetensors(
            '{"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}')}
    for name, body in {**base, **files}.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body, encoding="utf-8", errors="surrogatepass")


# (file at fault, how a value becomes the drop's files); each builds a whole drop
PLACES: dict[str, tuple[str, Any]] = {
    "shape": ("model.safetensors", lambda v: {"model.safetensors": _safetensors(
        '{"w": {"dtype": "F32", "shape": ' + v + ', "data_offsets": [0, 24]}}')}),
    "dtype": ("model.safetensors", lambda v: {"model.safetensors": _safetensors(
        '{"w": {"dtype": ' + v + ', "shape": [2], "data_offsets": [0, 8]}}')}),
    "header": ("model.safetensors", lambda v: {"model.safetensors": _safetensors(v)}),
    "config": ("config.json", lambda v: {"config.json": '{"model_type": "bert", '
                                         '"hidden_size": ' + v + ', "architectures": ' + v
                                         + ', "_name_or_path": ' + v + "}"}),
    "trainer": ("trainer_state.json", lambda v: {"trainer_state.json": '{"global_step": '
                                                 + v + ', "best_metric": ' + v
                                                 + ', "log_history": ' + v + "}"}),
    "adapter": ("adapter_config.json", lambda v: {"adapter_config.json":
                                                  '{"base_model_name_or_path": ' + v
                                                  + ', "r": ' + v + "}"}),
    "card": ("README.md", lambda v: {"README.md": "---\nmodel-index: " + v + "\ntags: " + v
                                     + "\nbase_model: " + v + "\n---\nA card.\n"}),
    "index": ("model.safetensors.index.json", lambda v: {
        "model.safetensors.index.json": '{"weight_map": ' + v + "}"}),
    "mlmodel": ("MLmodel", lambda v: {"MLmodel": '{"flavors": ' + v + ', "signature": '
                                      + v + ', "run_id": ' + v + "}"}),
    "manifest": ("modelyard.json", lambda v: {"modelyard.json": '{"model": "m", "metrics": '
                                              + v + ', "summary": {"n": ' + v
                                              + '}, "params": {"p": ' + v + "}}"}),
    "series": ("modelyard.json", lambda v: {"modelyard.json": '{"model": "m", '
                                            '"metric_series": {"loss": ' + v + "}}"}),
}

FUZZ = settings(max_examples=40, deadline=None, database=FUZZ_EXAMPLES,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store.init(tmp_path_factory.mktemp("hostile") / "store")
    yield store
    store.close()


def _check_one(store: Store, place: str, value: str) -> None:
    at_fault, build = PLACES[place]
    drops = store.root / "drops"
    drops.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{place}-", dir=drops))
    try:
        files = build(value)
        if place in ("mlmodel", "manifest", "series"):
            (folder / "w.bin").write_bytes(b"weights")
            for name, body in files.items():
                (folder / name).write_text(body, encoding="utf-8", errors="surrogatepass")
        else:
            _hf(folder, files)
        result = ingest_drop(store, folder)
        assert result.status in ("ingested", "rejected"), (
            f"{place}={value[:80]!r}: {result.status} at the first try: {result.reason}")
        if result.status == "ingested":
            for ref in result.refs:
                v = store.get(ref)
                assert v.model and isinstance(v.metrics, dict)
            return
        assert result.quarantine is not None
        why = json.loads((result.quarantine / "REJECTED.json").read_text())
        assert (result.quarantine / "REJECTED.txt").is_file()
        reason = why["reason"]
        assert at_fault in reason or place == "series" and "loss" in reason, (
            f"{place}={value[:80]!r}: the reason does not name {at_fault}: {reason}")
        assert "Traceback" not in reason and "bug" not in why.get("hint", "")
        shutil.rmtree(result.quarantine.parent)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("place", sorted(PLACES))
@FUZZ
@given(value=VALUE_TEXT)
@example(value=DEEP)
@example(value="[1e999]")
@example(value="1e999")
@example(value="[NaN]")
@example(value=HUGE_INT)
@example(value=BIG)
@example(value=DEEP_DICT)
@example(value='[{"step": 1, "loss": ' + BIG + "}]")
def test_hostile_values_are_ingested_or_rejected_naming_the_file(
        fuzz_store: Store, place: str, value: str) -> None:
    _check_one(fuzz_store, place, value)
