"""Look-alike and oversized model names (issue 12 defect 6, issue 11 defect 8): names are
NFC, limited by the bytes of their folder name, unique up to case, and mixed scripts are
flagged; a store made before any of this keeps working."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.errors import InvalidName
from modelyard.store.ingest.drops import ingest_ready
from modelyard.store.names import (
    check_alias,
    check_model_name,
    check_tag_key,
    mixed_script,
    model_dirname,
)

from helpers import write_manifest_folder

NFC = "caf\u00e9"
NFD = "cafe\u0301"
CYRILLIC = "caf\u0435"  # Cyrillic small ie, looks like 'e'


def test_a_name_too_long_as_a_folder_is_invalid_name_not_oserror(store: Store) -> None:
    name = "\u00e9" * 100  # 100 characters, 600 bytes once percent-encoded
    assert len(name) <= 200
    with pytest.raises(InvalidName, match="600-byte folder name"):
        store.add_version(name, metrics={"acc": 1.0})
    assert not list(store.layout.models.glob("*"))
    ok = "\u00e9" * 42  # 252 bytes: fits NAME_MAX
    assert store.add_version(ok, metrics={"acc": 1.0}).model == ok


def test_a_drop_with_a_long_name_is_rejected_at_the_first_try(store: Store) -> None:
    write_manifest_folder(store.root / "drops" / "long", model="\u00e9" * 100)
    results = ingest_ready(store, quiet_seconds=0)
    assert [(r.drop, r.status, r.error) for r in results] == [("long", "rejected",
                                                               "InvalidName")]
    qdir = results[0].quarantine
    why = json.loads((qdir / "REJECTED.json").read_text())
    assert "folder name" in why["reason"] and "shorter name" in why["reason"]
    assert (qdir / "REJECTED.txt").is_file()
    assert not (store.root / "drops" / "long").exists()


def test_nfc_and_nfd_are_one_model(store: Store) -> None:
    assert unicodedata.normalize("NFC", NFD) == NFC != NFD
    a = store.add_version(NFD, metrics={"acc": 1.0})
    b = store.add_version(NFC, metrics={"acc": 2.0})
    assert a.model == b.model == NFC
    assert [m.name for m in store.models()] == [NFC]
    assert [d for d in os.listdir(store.layout.models) if d[0] != "."] == [model_dirname(NFC)]


def test_a_name_differing_only_by_case_is_refused_naming_the_existing_one(store: Store) -> None:
    store.add_version("Model", metrics={"acc": 1.0})
    for clash in ("model", "MODEL", "mOdEl"):
        with pytest.raises(InvalidName, match="existing model 'Model'"):
            store.add_version(clash, metrics={"acc": 1.0})
    assert store.add_version("Model", metrics={"acc": 2.0}).ref == "Model:2"
    assert [m.name for m in store.models()] == ["Model"]
    store.add_version("Straße", metrics={"acc": 1.0})  # casefold: ß == ss
    with pytest.raises(InvalidName, match="Straße"):
        store.add_version("STRASSE", metrics={"acc": 1.0})


def test_mixed_scripts_are_flagged() -> None:
    assert mixed_script(CYRILLIC)
    assert not mixed_script(NFC) and not mixed_script(NFD)
    assert not mixed_script("resnet-50_v2.1")
    assert not mixed_script("\u65e5\u672c\u8a9e\u30e2\u30c7\u30eb")  # 日本語モデル
    assert not mixed_script("bert-\u65e5\u672c\u8a9e")  # Latin with Japanese is ordinary
    assert not mixed_script("\u043c\u043e\u0434\u0435\u043b\u044c")  # all Cyrillic
    assert mixed_script("p\u0430ypal")  # Cyrillic a
    assert mixed_script("\u03bfpenai")  # Greek omicron


def test_alias_and_tag_checks_refuse_a_trailing_newline() -> None:
    with pytest.raises(InvalidName):
        check_alias("champion\n")
    with pytest.raises(InvalidName):
        check_tag_key("team\n")
    assert check_alias("champion") == "champion"
    assert check_model_name(NFD) == NFC


def test_a_store_made_before_normalizing_keeps_opening(tmp_path: Path, monkeypatch) -> None:
    """An NFD model and two case variants written by an older modelyard (simulated by
    switching normalization and the clash check off) still list, load and take versions
    under their exact names."""
    from modelyard.store import names

    root = tmp_path / "store"
    with monkeypatch.context() as old:
        old.setattr(names, "nfc", lambda text: text)
        old.setattr(names, "check_new_model", lambda name, existing: None)
        with Store.init(root) as store:
            for name in (NFD, NFC, "Model", "model"):
                store.add_version(name, metrics={"acc": 1.0})
    with Store.open(root) as store:
        store.reindex()
        assert sorted(m.name for m in store.models()) == sorted([NFD, NFC, "Model", "model"])
        assert store.get(f"{NFD}:1").model == NFD
        assert store.get(f"{NFC}:1").model == NFC
        assert store.add_version("model", metrics={"acc": 3.0}).ref == "model:2"
        assert [v.ref for v in store.versions("Model")] == ["Model:1"]


def test_mixed_script_is_exposed_on_versions_models_and_json(store: Store, cli_env) -> None:
    from helpers import run_cli

    store.add_version(CYRILLIC, metrics={"acc": 1.0})
    store.add_version(NFC, metrics={"acc": 1.0})
    assert store.get(f"{CYRILLIC}:1").mixed_script and not store.get(f"{NFC}:1").mixed_script
    flags = {m.name: m.mixed_script for m in store.models()}
    assert flags == {CYRILLIC: True, NFC: False}
    shown = run_cli(["--store", str(store.root), "show", f"{CYRILLIC}:1", "--json"], cli_env)
    assert json.loads(shown.stdout)["mixed_script"] is True
    listed = run_cli(["--store", str(store.root), "ls", "--json"], cli_env)
    assert {r["model"]: r["mixed_script"] for r in json.loads(listed.stdout)} == flags
