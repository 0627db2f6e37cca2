"""A drop's Parquet metric file already in the stored shape (the SDK's) is stored as it is,
after one checking query; anything else, hostile or just unsorted, takes the general path
with its specific errors."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import polars as pl
import pytest

from modelyard import new_version
from modelyard.store import InvalidManifest, Store
from modelyard.store.ingest.manifest import read_folder
from modelyard.store.series import frames as series_mod


def _frame(keys: list[str], steps: list[int], values: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame({"key": pl.Series(keys, dtype=pl.String),
                         "step": pl.Series(steps, dtype=pl.Int64),
                         "value": pl.Series(values, dtype=pl.Float64),
                         "timestamp": pl.Series([1000 + s for s in steps], dtype=pl.Int64)})


def _drop(folder: Path, frame: pl.DataFrame) -> Path:
    folder.mkdir(parents=True)
    frame.write_parquet(folder / "curves.parquet")
    (folder / "modelyard.yaml").write_text("model: m\nmetric_series: curves.parquet\n"
                                           "files: []\n")
    return folder


def _add(store: Store, folder: Path):
    fv = read_folder(folder)
    return store.add_version(fv.model, metric_series=fv.metric_series)


def test_an_sdk_series_is_stored_byte_for_byte_with_its_summary(store: Store) -> None:
    with new_version("m", store=store.root) as v:
        for step in range(50):
            v.log_metrics({"loss": 1.0 / (1 + step), "acc": step / 50}, step=step)
        v.log_metric("loss", math.nan, step=50)
    sent = (v.drop_path / "_modelyard" / "metrics.parquet").read_bytes()
    version = _add(store, v.drop_path)
    info = version.record["metric_series"]
    assert info["digest"] == "sha256:" + hashlib.sha256(sent).hexdigest()
    assert info["keys"]["loss"] == {"last": None, "step": 50, "min": 1.0 / 50, "max": 1.0,
                                    "points": 51}
    assert info["keys"]["acc"]["last"] == 49 / 50
    assert version.metric_series("acc")["step"].to_list() == list(range(50))


def test_the_sdk_writes_points_logged_out_of_order_sorted(store: Store) -> None:
    with new_version("m", store=store.root) as v:
        for step in (3, 1, 2, 1):
            v.log_metric("b", float(step), step=step)
        v.log_metric("a", 0.5)
    frame = series_mod.read_series((v.drop_path / "_modelyard" / "metrics.parquet")
                                   .read_bytes())
    assert frame["key"].to_list() == ["a", "b", "b", "b", "b"]
    assert frame["step"].to_list() == [0, 1, 1, 2, 3]


@pytest.mark.parametrize("keys, steps, values, error", [
    (["loss\x1b[31m", "loss\x1b[31m"], [0, 1], [1.0, 2.0], "control character"),
    (["\u202eevil"], [0], [1.0], "control character"),
    (["loss", "loss"], [0, 1], [1.0, None], "has no value"),
])
def test_a_hostile_file_in_the_stored_shape_is_still_refused(
        store: Store, tmp_path: Path, keys, steps, values, error: str) -> None:
    folder = _drop(tmp_path / "d", _frame(keys, steps, values))
    with pytest.raises(InvalidManifest, match=error):
        _add(store, folder)


def test_a_file_out_of_order_is_sorted_not_passed_through(store: Store,
                                                          tmp_path: Path) -> None:
    frame = _frame(["b", "a", "b", "a"], [1, 0, 0, 1], [1.0, 2.0, 3.0, 4.0])
    folder = _drop(tmp_path / "d", frame)
    sent = (folder / "curves.parquet").read_bytes()
    version = _add(store, folder)
    info = version.record["metric_series"]
    assert info["digest"] != "sha256:" + hashlib.sha256(sent).hexdigest()
    stored = version.metric_series()
    assert list(zip(stored["key"].to_list(), stored["step"].to_list(), strict=True)) == \
        [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    assert info["keys"]["b"]["last"] == 1.0 and info["keys"]["a"]["last"] == 4.0


def test_a_key_split_in_two_runs_is_not_taken_as_sorted(tmp_path: Path) -> None:
    frame = _frame(["a", "b", "a"], [0, 0, 1], [1.0, 2.0, 3.0])
    assert series_mod.sorted_summary(frame) is None
    ordered = _frame(["a", "a", "b"], [0, 1, 0], [1.0, 3.0, 2.0])
    assert series_mod.sorted_summary(ordered) == series_mod.summarize(ordered)


def test_extra_columns_are_dropped_not_stored(store: Store, tmp_path: Path) -> None:
    frame = _frame(["a"], [0], [1.0]).with_columns(pl.lit("x" * 100).alias("junk"))
    version = _add(store, _drop(tmp_path / "d", frame))
    assert version.metric_series().columns == ["key", "step", "value", "timestamp"]


def test_too_many_rows_are_refused_before_the_summary(store: Store, tmp_path: Path,
                                                      monkeypatch) -> None:
    monkeypatch.setattr(series_mod, "MAX_POINTS", 3)
    monkeypatch.setattr("modelyard.store.series.columns.MAX_POINTS", 3)
    folder = _drop(tmp_path / "d", _frame(["a"] * 4, [0, 1, 2, 3], [1.0] * 4))
    with pytest.raises(InvalidManifest, match="4 points"):
        read_folder(folder)


def test_a_failed_fsync_of_any_drop_file_leaves_no_drop(store: Store, tmp_path: Path,
                                                        monkeypatch) -> None:
    """The SDK fsyncs a drop's files and folders together, in threads: one failure among
    them still stops the drop before it is renamed into place, and nothing is left."""
    import os

    from modelyard.store.disk import atomic

    weights = tmp_path / "w.bin"
    weights.write_bytes(b"weights" * 1000)
    real_fsync = os.fsync

    def failing(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("w.bin"):
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", failing)
    with pytest.raises(OSError, match="Input/output"):
        with new_version("m", store=store.root) as v:
            v.log_metric("loss", 1.0)
            v.add_file(weights)
    assert os.listdir(store.layout.drops) == []


def test_one_curve_is_read_whole_even_when_the_files_statistics_lie() -> None:
    """A stored-as-it-came file whose footer claims a row group holds other keys than it
    does: reading one curve must not skip that group (a reader trusting the statistics
    returns nothing for it), or the card would hide points its summary counts."""
    import io
    import struct

    n = 1000
    frame = _frame(["key_alpha"] * n + ["key_bravo"] * n, list(range(n)) * 2,
                   [float(i) for i in range(2 * n)])
    buf = io.BytesIO()
    frame.write_parquet(buf, statistics=True, row_group_size=n)  # one row group per key
    data = buf.getvalue()
    footer = len(data) - 8 - struct.unpack("<I", data[-8:-4])[0]
    assert data[footer:].count(b"key_bravo") == 2  # the second group's min and max
    lying = data[:footer] + data[footer:].replace(b"key_bravo", b"key_zulu0")
    trusting = pl.scan_parquet(io.BytesIO(lying)).filter(pl.col("key") == "key_bravo")
    assert trusting.collect().height == 0  # the lie works on a reader that believes it

    curve = series_mod.read_series(lying, "key_bravo")
    assert curve["step"].to_list() == list(range(n))
    assert curve["value"].to_list() == [float(i) for i in range(n, 2 * n)]
