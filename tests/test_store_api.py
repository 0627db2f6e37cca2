"""The Python API on fresh temporary stores: every field written comes back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modelyard.store import (
    BlobCorrupt,
    InvalidManifest,
    InvalidName,
    InvalidRef,
    ModelNotFound,
    NotAStore,
    Store,
    StoreExists,
    VersionNotFound,
)
from modelyard.store.ingest.manifest import read_folder

from helpers import HOSTILE_DESCRIPTION, MARKUP_MODEL, write_manifest_folder


def add_folder(store: Store, folder: Path):
    fv = read_folder(folder)
    return store.add_version(fv.model, files=fv.files, metric_series=fv.metric_series,
                             source=fv.source, **fv.card)


def test_manifest_version_round_trips_every_card_field(store: Store, tmp_path: Path) -> None:
    v = add_folder(store, write_manifest_folder(tmp_path / "drop"))
    assert v.ref == "resnet:1"
    assert (v.user, v.host) == ("alice", "gpu-1")
    assert v.training["started_at"] == "2026-01-01T10:00:00.000000Z"
    assert v.training["ended_at"] == "2026-01-01T12:30:00.000000Z"
    assert v.params["optimizer"] == {"name": "adam", "beta1": 0.9}
    assert [f["name"] for f in v.features] == ["age", "income"]
    assert {d["role"] for d in v.datasets} == {"train", "test"}
    assert v.datasets[0]["digest"] == "sha256:" + "a" * 64
    assert v.parents == [{"ref": "resnet-base:1", "model": "resnet-base", "version": 1,
                          "relation": "fine-tuned-from"}]
    assert v.metrics == {"acc": 0.91, "loss": 0.25}
    assert v.metric_keys == ["acc", "loss"]
    loss = v.metric_series("loss")
    assert loss["step"].to_list() == [0, 1, 2] and loss["value"].to_list() == [1.0, 0.5, 0.25]
    assert v.charts["confusion_matrix"]["matrix"] == [[5.0, 1.0], [2.0, 7.0]]
    assert v.charts["feature_importance"] == {"type": "", "features": ["age", "income"],
                                              "importance": [0.7, 0.3]}
    assert set(v.charts) == {"roc", "pr", "confusion_matrix", "feature_importance",
                             "feature_stats"}
    assert v.files[0]["path"] == "model.safetensors"
    assert v.files[0]["format"] == "safetensors" and v.format == "safetensors"
    assert v.open("model.safetensors") == (tmp_path / "drop/model.safetensors").read_bytes()
    assert v.source["git"]["commit"] == "0123456789abcdef" and v.source["git"]["dirty"]
    assert v.source_file("train.py").startswith(b"import math")
    assert "+y" in v.source_diff()
    assert v.serving["resources"]["gpu"] == 1
    assert v.summary["param_count"] == 24 and v.param_count == 24
    assert v.tags == {"team": "vision"}
    assert v.description == "a test model"
    assert v.created_by["user"]


def test_versions_number_from_one_and_refs_resolve(store: Store) -> None:
    for lr in (0.1, 0.2, 0.3):
        store.add_version("m", params={"lr": lr})
    assert [v.number for v in store.versions("m")] == [3, 2, 1]
    assert store.get("m").number == 3
    assert store.get("m:2").params == {"lr": 0.2}
    assert store.get("m@latest").number == 3
    store.set_alias("m:1", "champion")
    assert store.get("m@champion").number == 1
    store.set_alias("m:2", "champion")  # a move
    assert store.get("m@champion").number == 2
    assert store.get("m:1").aliases == []


def test_identical_content_is_deduplicated(store: Store) -> None:
    a = store.add_version("m", params={"lr": 0.1}, files={"w.bin": b"123"})
    b = store.add_version("m", params={"lr": 0.1}, files={"w.bin": b"123"})
    assert a.ref == b.ref == "m:1" and b.deduplicated
    c = store.add_version("m", params={"lr": 0.1}, files={"w.bin": b"123"}, dedupe=False)
    assert c.ref == "m:2"


def test_events_change_state_and_are_kept_in_history(store: Store) -> None:
    store.add_version("m", params={"lr": 0.1}, tags={"team": "a"})
    store.tag("m:1", "stage", "prod")
    store.untag("m:1", "team")
    store.describe("m:1", "better now")
    store.deprecate("m:1", reason="old")
    store.set_alias("m:1", "champion")
    store.remove_alias("m", "champion")
    v = store.get("m:1")
    assert v.tags == {"stage": "prod"}
    assert v.description == "better now" and v.deprecated
    assert v.aliases == []
    kinds = [e.type for e in store.history("m")]
    assert kinds == ["version.created", "tag.set", "tag.removed", "description.set",
                     "deprecated.set", "alias.set", "alias.removed"]
    assert all(e.user and e.host and e.at for e in store.history("m"))
    events_dir = store.layout.events_dir("m")
    assert sorted(os.listdir(events_dir)) == [f"{i}.json" for i in range(1, 7)]


def test_nothing_is_edited_in_place(store: Store) -> None:
    store.add_version("m", params={"lr": 0.1})
    record = store.layout.record_path("m", 1)
    before = record.read_bytes()
    store.describe("m:1", "new text")
    store.tag("m:1", "k", "v")
    assert record.read_bytes() == before
    assert json.loads(before)["description"] == ""


def test_blobs_are_read_only_and_named_by_digest(store: Store) -> None:
    v = store.add_version("m", files={"w.bin": b"weights"})
    path = store.blobs.path(v.files[0]["digest"])
    assert path.name == v.files[0]["digest"][7:]
    assert oct(path.stat().st_mode & 0o777) == "0o444"


def test_reading_a_corrupt_blob_raises(store: Store) -> None:
    v = store.add_version("m", files={"w.bin": b"weights"})
    path = store.blobs.path(v.files[0]["digest"])
    os.chmod(path, 0o644)
    path.write_bytes(b"weightz")
    with pytest.raises(BlobCorrupt, match="fsck"):
        v.open("w.bin")


def test_named_errors_say_what_to_do(store: Store, tmp_path: Path) -> None:
    store.add_version("resnet", params={})
    with pytest.raises(ModelNotFound, match="did you mean resnet"):
        store.get("resnt")
    with pytest.raises(VersionNotFound, match="no version 9"):
        store.get("resnet:9")
    with pytest.raises(VersionNotFound, match="alias @prod"):
        store.get("resnet@prod")
    with pytest.raises(InvalidRef):
        store.get("resnet:x")
    with pytest.raises(InvalidName, match="control character"):
        store.add_version("bad\x1bname")
    with pytest.raises(InvalidName, match="separates"):
        store.add_version("a:b")
    with pytest.raises(InvalidName, match="reserved"):
        store.set_alias("resnet:1", "latest")
    with pytest.raises(NotAStore, match="modelyard init"):
        Store.open(tmp_path / "nowhere")
    with pytest.raises(StoreExists):
        Store.init(store.root)
    with pytest.raises(InvalidManifest, match="metric_series\\['loss'\\] point 1 value"):
        store.add_version("m", metric_series={"loss": [1.0, "high"]})
    with pytest.raises(InvalidManifest, match="datasets\\[0\\].role"):
        store.add_version("m", datasets=[{"role": "training-set", "name": "x"}])
    with pytest.raises(InvalidManifest, match="leaves the folder"):
        store.add_version("m", files={"../etc/passwd": b"x"})


def test_markup_and_escape_strings_round_trip(store: Store) -> None:
    store.add_version(MARKUP_MODEL, description=HOSTILE_DESCRIPTION,
                      params={"p": "[0]"}, tags={"t": "[bold]"})
    v = store.get(MARKUP_MODEL)
    assert v.model == MARKUP_MODEL
    assert v.description == HOSTILE_DESCRIPTION
    assert v.params == {"p": "[0]"} and v.tags == {"t": "[bold]"}
    assert (store.layout.models / "resnet%5B%2Fbold%5D").is_dir()


def test_metric_series_keep_nan_inf_and_unordered_steps(store: Store) -> None:
    v = store.add_version("m", metric_series={
        "loss": [[2, 0.5], [0, 1.0], [1, float("nan")], [3, float("inf")], [3, 0.4]]})
    frame = v.metric_series("loss")
    assert frame["step"].to_list() == [0, 1, 2, 3, 3]
    assert v.metrics["loss"] == 0.4  # highest step, last logged wins


def test_downsampling_keeps_spikes(store: Store) -> None:
    values = [1.0] * 100_000
    values[54_321] = 99.0
    values[77_777] = -5.0
    v = store.add_version("m", metric_series={"loss": values})
    small = v.metric_series("loss", max_points=800)
    assert small.height <= 1000
    assert 99.0 in small["value"].to_list() and -5.0 in small["value"].to_list()


def test_export_writes_verified_files(store: Store, tmp_path: Path) -> None:
    add_folder(store, write_manifest_folder(tmp_path / "drop"))
    dest = store.export("resnet:1", tmp_path / "out")
    assert (dest / "model.safetensors").read_bytes() == \
        (tmp_path / "drop/model.safetensors").read_bytes()
    card = json.loads((dest / "modelyard-version.json").read_text())
    assert card["ref"] == "resnet:1"
    with pytest.raises(InvalidManifest, match="not empty"):
        store.export("resnet:1", dest)


def test_diff_shows_only_differences_by_default(store: Store) -> None:
    store.add_version("m", params={"lr": 0.1, "depth": 3}, metrics={"acc": 0.8})
    store.add_version("m", params={"lr": 0.2, "depth": 3}, metrics={"acc": 0.9})
    d = store.diff("m:1", "m:2")
    assert [r["key"] for r in d["params"]] == ["lr"]
    assert d["metrics"][0]["delta"] == pytest.approx(0.1)


def test_read_only_store_gives_a_clear_error(store: Store) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores permission bits; the read-only case is covered by "
                    "tests/reliability on a read-only bind mount")
    for folder in (store.layout.models, store.layout.blobs):
        os.chmod(folder, 0o555)
    try:
        from modelyard.store import ReadOnlyStore
        with pytest.raises(ReadOnlyStore, match="read-only"):
            store.add_version("m", files={"w": b"x"})
    finally:
        for folder in (store.layout.models, store.layout.blobs):
            os.chmod(folder, 0o775)
