"""The CLI as a user runs it: real processes, exit codes, JSON keys and the bytes written."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from modelyard.app.cli.main import COMMANDS, build_parser

from helpers import HOSTILE_DESCRIPTION, MARKUP_MODEL, run_cli, write_manifest_folder

CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|"
                     rb"\xe2\x81[\xa6-\xa9]")


def test_every_command_has_help_text() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {name for name, _ in COMMANDS}
    for name, p in sub.choices.items():
        assert p.description, f"{name} lacks a description"
        for action in p._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.dest} lacks help"
    for action in parser._actions:
        assert action.help, f"global option {action.dest} lacks help"


def test_help_lists_every_command(cli_env: dict) -> None:
    out = run_cli(["--help"], cli_env)
    assert out.returncode == 0
    for name, _ in COMMANDS:
        assert name.encode() in out.stdout


def test_add_show_json_returns_every_field(tmp_path: Path, cli_env: dict) -> None:
    store = str(tmp_path / "s")
    assert run_cli(["init", store], cli_env).returncode == 0
    folder = write_manifest_folder(tmp_path / "drop")
    added = run_cli(["--store", store, "add", str(folder), "--json"], cli_env)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout) == {"ref": "resnet:1", "created": True}
    again = run_cli(["--store", store, "add", str(folder), "--json"], cli_env)
    assert json.loads(again.stdout) == {"ref": "resnet:1", "created": False}
    shown = run_cli(["--store", store, "show", "resnet:1", "--json"], cli_env)
    card = json.loads(shown.stdout)
    for key in ("model", "version", "ref", "aliases", "created_at", "created_by", "user",
                "host", "training", "description", "tags", "params", "features", "datasets",
                "parents", "metrics", "metric_keys", "metric_series", "charts", "files",
                "source", "serving", "summary", "origin", "deprecated", "format", "size",
                "param_count", "pickle", "content_digest"):
        assert key in card, key
    assert card["training"]["ended_at"] == "2026-01-01T12:30:00.000000Z"
    assert card["charts"]["roc"]["auc"] == 0.9
    assert card["source"]["git"]["branch"] == "main"
    human = run_cli(["--store", store, "show", "resnet:1"], cli_env)
    assert b"OVERVIEW" in human.stdout and b"alice@gpu-1" in human.stdout


def test_exit_codes_and_one_line_errors(tmp_path: Path, cli_env: dict) -> None:
    store = str(tmp_path / "s")
    run_cli(["init", store], cli_env)
    cases = [
        (["--store", store, "show", "nope"], 1, b"no model named 'nope'"),
        (["--store", store, "ls", "metrics.acc >"], 2, b"column"),
        (["--store", str(tmp_path / "missing"), "ls"], 1, b"modelyard init"),
        (["--store", store, "add", str(tmp_path)], 1, b"has no modelyard.yaml"),
        (["--store", store, "frobnicate"], 2, b"invalid choice"),
        (["init", store], 1, b"already holds a modelyard store"),
    ]
    for args, code, message in cases:
        out = run_cli(args, cli_env)
        assert out.returncode == code, (args, out.stderr)
        assert message in out.stderr, (args, out.stderr)
        assert b"Traceback" not in out.stderr
        if code == 1:
            assert out.stderr.count(b"\n") == 1


def test_missing_manifest_fields_are_named(tmp_path: Path, cli_env: dict) -> None:
    store = str(tmp_path / "s")
    run_cli(["init", store], cli_env)
    folder = write_manifest_folder(tmp_path / "drop", datasets=[{"role": "train"}])
    out = run_cli(["--store", store, "add", str(folder)], cli_env)
    assert out.returncode == 1
    assert b"datasets[0] needs a name or a uri" in out.stderr


def test_hostile_strings_round_trip_and_never_reach_the_terminal(tmp_path: Path,
                                                                  cli_env: dict) -> None:
    store = str(tmp_path / "s")
    run_cli(["init", store], cli_env)
    folder = write_manifest_folder(tmp_path / "drop", model=MARKUP_MODEL,
                                   description=HOSTILE_DESCRIPTION, tags={"t": "[bold]\x1b[2J"})
    assert run_cli(["--store", store, "add", str(folder)], cli_env).returncode == 0
    assert run_cli(["--store", store, "alias", f"{MARKUP_MODEL}:1", "champion"],
                   cli_env).returncode == 0
    for args in (["ls"], ["show", MARKUP_MODEL], ["history", MARKUP_MODEL], ["models"],
                 ["ls", "--json"], ["show", MARKUP_MODEL, "--json"], ["history", MARKUP_MODEL,
                                                                      "--json"]):
        out = run_cli(["--store", store, *args], cli_env)
        assert out.returncode == 0, (args, out.stderr)
        assert not CONTROL.search(out.stdout.replace(b"\n", b"")), (args, out.stdout)
        assert b"resnet[/bold]" in out.stdout
    card = json.loads(run_cli(["--store", store, "show", f"{MARKUP_MODEL}@champion",
                               "--json"], cli_env).stdout)
    assert card["description"] == HOSTILE_DESCRIPTION
    assert card["model"] == MARKUP_MODEL and card["tags"]["t"] == "[bold]\x1b[2J"


def test_index_deleted_gives_same_ls(tmp_path: Path, cli_env: dict) -> None:
    store = str(tmp_path / "s")
    run_cli(["init", store], cli_env)
    for i in range(3):
        folder = write_manifest_folder(tmp_path / f"d{i}", params={"lr": i / 10})
        run_cli(["--store", store, "add", str(folder)], cli_env)
    run_cli(["--store", store, "alias", "resnet:2", "champion"], cli_env)
    run_cli(["--store", store, "tag", "resnet:1", "stage=old"], cli_env)
    run_cli(["--store", store, "describe", "resnet:3", "third"], cli_env)
    before = run_cli(["--store", store, "ls", "--json"], cli_env).stdout
    cache = Path(cli_env["MODELYARD_CACHE_DIR"]) / "index"
    for f in cache.iterdir():
        f.unlink()
    after = run_cli(["--store", store, "ls", "--json"], cli_env).stdout
    assert json.loads(after) == json.loads(before) and len(json.loads(after)) == 3
    assert run_cli(["--store", store, "reindex"], cli_env).returncode == 0
    again = run_cli(["--store", store, "ls", "--json"], cli_env).stdout
    assert json.loads(again) == json.loads(before)


def test_fsck_names_a_flipped_blob_and_its_versions(tmp_path: Path, cli_env: dict) -> None:
    store = str(tmp_path / "s")
    run_cli(["init", store], cli_env)
    run_cli(["--store", store, "add", str(write_manifest_folder(tmp_path / "d"))], cli_env)
    clean = run_cli(["--store", store, "fsck", "--read-data", "--json"], cli_env)
    assert clean.returncode == 0 and json.loads(clean.stdout)["clean"]
    card = json.loads(run_cli(["--store", store, "show", "resnet:1", "--json"], cli_env).stdout)
    digest = card["files"][0]["digest"][7:]
    blob = Path(store) / "blobs/sha256" / digest[:2] / digest[2:4] / digest
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    bad = run_cli(["--store", store, "fsck", "--read-data", "--json"], cli_env)
    assert bad.returncode == 1
    problems = json.loads(bad.stdout)["problems"]
    assert problems[0]["kind"] == "corrupt-blob"
    assert digest in problems[0]["path"] and problems[0]["versions"] == ["resnet:1"]
    text = run_cli(["--store", store, "fsck", "--read-data"], cli_env)
    assert b"affects resnet:1" in text.stdout


def test_default_store_is_created_on_first_use(cli_env: dict) -> None:
    out = run_cli(["ls", "--json"], cli_env)
    assert out.returncode == 0 and json.loads(out.stdout) == []
    data_home = Path(cli_env["XDG_DATA_HOME"])
    assert (data_home / "modelyard/store/modelyard.json").exists()


def test_store_from_environment(tmp_path: Path, cli_env: dict) -> None:
    run_cli(["init", str(tmp_path / "env-store")], cli_env)
    env = dict(cli_env, MODELYARD_STORE=str(tmp_path / "env-store"))
    out = run_cli(["fsck", "--json"], env)
    assert out.returncode == 0 and json.loads(out.stdout)["records"] == 0


def test_read_only_store_is_a_one_line_error(tmp_path: Path, cli_env: dict) -> None:
    import subprocess

    store, ro = tmp_path / "s", tmp_path / "ro"
    run_cli(["init", str(store)], cli_env)
    run_cli(["--store", str(store), "add", str(write_manifest_folder(tmp_path / "d1"))], cli_env)
    ro.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(store), str(ro)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here (needs root): {mounted.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True)
        folder = write_manifest_folder(tmp_path / "d2", params={"lr": 0.5})
        out = run_cli(["--store", str(ro), "add", str(folder)], cli_env)
        assert out.returncode == 1, out.stderr
        assert b"read-only for you" in out.stderr and b"Traceback" not in out.stderr
        assert out.stderr.count(b"\n") == 1
        listed = run_cli(["--store", str(ro), "ls", "--json"], cli_env)
        assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 1
        alias = run_cli(["--store", str(ro), "alias", "resnet:1", "prod"], cli_env)
        assert alias.returncode == 1 and b"read-only" in alias.stderr
    finally:
        subprocess.run(["umount", str(ro)], check=True)
    assert not list((store / "blobs/sha256/_staging").glob("*"))
