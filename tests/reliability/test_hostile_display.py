"""Hostile strings in every field the CLI and the app show: Rich markup (`[bold]`, `[/`,
`[0]`, `[@click=app.quit]`, `[link=file:///etc/passwd]`), ESC/CSI/OSC sequences (OSC 52
writes the clipboard), C1 controls and bidi overrides. They must be shown literally and
never acted on: checked on the bytes the CLI writes and on the app's rendered screen.

tests/test_cli.py (test_hostile_strings_round_trip_and_never_reach_the_terminal) covers the
description, a tag and the model name in four commands, and tests/explorer/test_browse.py
(test_markup_model_renders_literally) the model name on the first screen; this covers every
field of the card, every event, every command and the errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_kit import TERMINAL_UNSAFE, with_env

from modelyard.store import Store

from helpers import HOSTILE_DESCRIPTION, MARKUP_MODEL

pytestmark = pytest.mark.reliability

HOSTILE = HOSTILE_DESCRIPTION + " \x07bell \x85nel \u2066iso\u2069 \x1bP dcs \x1b\\ \x9d8;;x\x9c"
MARKUP = "[bold]m[/bold] [@click=app.quit]q[/] [link=file:///etc/passwd]l[/link] [0] [/"
RAW = ("\x1b", "\x07", "\x9b", "\x9d", "\x85", "\u202e", "\u2066")


def hostile_store(root: Path) -> Store:
    """Two versions of `resnet[/bold]` with a hostile string in every field that takes one
    (fields that refuse control characters, such as names and labels, get the markup)."""
    store = Store.init(root)
    store.add_version(
        MARKUP_MODEL, description=HOSTILE, tags={"t": HOSTILE},
        params={HOSTILE: HOSTILE, "nested": {MARKUP: HOSTILE}, "lr": 0.1},
        metrics={MARKUP: 0.5, "acc": 0.9}, features=[HOSTILE, {"name": MARKUP, "type": HOSTILE}],
        datasets=[{"role": "train", "name": MARKUP, "uri": MARKUP, "digest": MARKUP,
                   "note": HOSTILE}],
        parents=[{"ref": MARKUP, "relation": MARKUP}],
        training={"user": MARKUP, "host": MARKUP, "status": MARKUP, "run_id": MARKUP,
                  "note": HOSTILE},
        serving={"framework": MARKUP, "runtime": MARKUP, "resources": {"cpu": HOSTILE},
                 "signature": {"inputs": [{"name": HOSTILE, "type": HOSTILE}]}},
        source={"entrypoint": HOSTILE, "diff": HOSTILE,
                "git": {"branch": HOSTILE, "commit": HOSTILE, "remote": HOSTILE}},
        files={f"{MARKUP}.bin": HOSTILE.encode(), "notes.md": HOSTILE.encode()},
        metric_series={MARKUP: [1.0, 0.5]},
        charts={"confusion_matrix": {"labels": [HOSTILE, MARKUP], "matrix": [[1, 2], [3, 4]]},
                "feature_importance": {HOSTILE: 0.7, MARKUP: 0.3}},
        summary={"note": HOSTILE}, origin={"kind": HOSTILE, "folder": HOSTILE})
    store.add_version(MARKUP_MODEL, description="second", params={HOSTILE: "other"},
                      parents=[f"{MARKUP_MODEL}:1"])
    ref = f"{MARKUP_MODEL}:1"
    store.set_alias(ref, "champion")
    store.tag(ref, "k", HOSTILE)
    store.describe(ref, HOSTILE)
    store.deprecate(f"{MARKUP_MODEL}:2", reason=HOSTILE)
    return store


COMMANDS = [
    ["ls"], ["ls", "--json"], ["ls", "--metrics", "acc"], ["models"], ["models", "--json"],
    ["show", f"{MARKUP_MODEL}:1"], ["show", f"{MARKUP_MODEL}@champion", "--json"],
    ["show", f"{MARKUP_MODEL}:2"], ["history", MARKUP_MODEL], ["history", MARKUP_MODEL, "--json"],
    ["diff", f"{MARKUP_MODEL}:1", f"{MARKUP_MODEL}:2", "--all"],
    ["diff", f"{MARKUP_MODEL}:1", f"{MARKUP_MODEL}:2", "--json"],
    ["fsck", "--read-data"], ["fsck", "--json"],
    ["tag", f"{MARKUP_MODEL}:2", f"x={HOSTILE}"], ["describe", f"{MARKUP_MODEL}:2", HOSTILE],
    ["deprecate", f"{MARKUP_MODEL}:1", "--reason", HOSTILE, "--json"],
]
ERRORS = [
    ["show", f"{HOSTILE}:1"], ["show", f"{MARKUP_MODEL}@{HOSTILE}"],
    ["ls", f"description = '{HOSTILE}' and ("], ["history", HOSTILE],
    ["tag", f"{MARKUP_MODEL}:1", f"{HOSTILE}=v"], ["add", str(Path("/nonexistent") / HOSTILE)],
]


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "s"
    hostile_store(root).close()
    return root


def _cli(root: Path, args: list[str], cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "modelyard.app.cli.main", "--store", str(root),
                           *args], capture_output=True, timeout=120,
                          env=with_env(MODELYARD_CACHE_DIR=str(cache), PYTHONIOENCODING="utf-8"))


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: "-".join(a[:1] + a[-1:])[:30])
def test_cli_writes_no_control_bytes(cli_store: Path, tmp_path: Path, args: list[str]) -> None:
    out = _cli(cli_store, args, tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    for stream in (out.stdout, out.stderr):
        bad = TERMINAL_UNSAFE.search(stream)
        assert bad is None, (args, stream[max(0, bad.start() - 60):bad.end() + 20])
    if "--json" in args:
        json.loads(out.stdout)  # and the JSON still round-trips (escapes are JSON escapes)
    elif args[0] in ("show", "history", "diff"):
        assert b"[@click=app.quit]" in out.stdout or b"\\x1b" in out.stdout


def test_json_round_trips_every_hostile_string(cli_store: Path, tmp_path: Path) -> None:
    card = json.loads(_cli(cli_store, ["show", f"{MARKUP_MODEL}:1", "--json"], tmp_path).stdout)
    assert card["description"] == HOSTILE and card["tags"]["t"] == HOSTILE
    assert card["params"][HOSTILE] == HOSTILE and card["training"]["extra"]["note"] == HOSTILE
    assert card["source"]["git"]["branch"] == HOSTILE and card["origin"]["kind"] == HOSTILE


@pytest.mark.parametrize("args", ERRORS, ids=lambda a: a[0])
def test_errors_about_hostile_input_are_escaped(cli_store: Path, tmp_path: Path,
                                                args: list[str]) -> None:
    out = _cli(cli_store, args, tmp_path)
    assert out.returncode in (1, 2) and out.stdout == b""
    assert out.stderr.startswith(b"modelyard: error: ") and out.stderr.count(b"\n") == 1
    assert TERMINAL_UNSAFE.search(out.stderr) is None, out.stderr
    assert b"Traceback" not in out.stderr


def test_watcher_log_lines_are_escaped(tmp_path: Path) -> None:
    from modelyard.store.ingest.drops import ingest_ready

    from helpers import write_manifest_folder

    with Store.init(tmp_path / "s") as store:
        write_manifest_folder(store.layout.drops / "ok", description=HOSTILE,
                              model=MARKUP_MODEL)
        (store.layout.drops / f"evil{HOSTILE[:40]}.tar.gz").write_bytes(b"not gzip")
        lines: list[str] = []
        ingest_ready(store, quiet_seconds=0, log=lines.append)
    assert len(lines) == 2
    for line in lines:
        assert not any(c in line for c in RAW) and "\n" not in line


# the app -------------------------------------------------------------------------------------

async def test_the_app_shows_every_field_literally(tmp_path: Path) -> None:
    from modelyard.app.messages import OpenVersion

    from explorer_helpers import app_for, export_text, settle

    store = hostile_store(tmp_path / "s")
    app = app_for(store)
    screens: dict[str, str] = {}
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screens["list"] = export_text(app)
        for ref in (f"{MARKUP_MODEL}:1", f"{MARKUP_MODEL}:2"):
            app.post_message(OpenVersion(ref))
            await settle(pilot)
            for key in "123456789":
                await pilot.press(key)
                await settle(pilot)
                screens[f"{ref} tab {key}"] = export_text(app)
            await pilot.press("escape")
            await settle(pilot)
        assert app.is_running  # [@click=app.quit] was text, not an action
    store.close()
    for where, text in screens.items():
        raw = [c for c in RAW if c in text]
        assert not raw, (where, raw)
    shown = "\n".join(screens.values())
    for needle in ("resnet[/bold]", "[@click=app.quit]", "[link=file:///etc/passwd]", "[0]",
                   "\\x1b", "\\u202e"):
        assert needle in shown, needle
