"""Issue 14: a stored file in $PAGER (p on the card's Files tab) and a diff in $PAGER (p in
compare). The pager is a script that records its argv and what it was given."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from modelyard.app.dialogs.diff_chooser import DiffChooser
from modelyard.app.messages import OpenVersion
from modelyard.app.screens.compare import CompareScreen

from explorer_helpers import app_for, settle


def fake_pager(tmp_path: Path) -> tuple[Path, Path]:
    """A pager that writes {argv, text, lessecure} to a file and exits."""
    out = tmp_path / "paged.json"
    script = tmp_path / "pager.py"
    script.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        "text = open(sys.argv[-1], encoding='utf-8', errors='replace').read()\n"
        f"open({str(out)!r}, 'w').write(json.dumps({{'argv': sys.argv, 'text': text, "
        "'lesssecure': os.environ.get('LESSSECURE')}))\n")
    script.chmod(0o755)
    return script, out


async def wait_for(path: Path, pilot) -> dict:
    for _ in range(100):
        await settle(pilot, rounds=2)
        if path.exists():
            return json.loads(path.read_text())
    raise AssertionError(f"the pager never ran ({path} missing)")


async def test_p_on_the_files_tab_pages_the_stored_blob(demo_store, tmp_path, monkeypatch
                                                        ) -> None:
    script, out = fake_pager(tmp_path)
    monkeypatch.setenv("PAGER", f"{script} --flag")  # words split, never a shell line
    version = demo_store.get("vit-food101:16")
    entry = next(f for f in version.files if f["path"] == "config.json")
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)  # no terminal here
        await settle(pilot)
        app.post_message(OpenVersion(version.ref))
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        await pilot.press("home")  # config.json, the first file
        await pilot.press("p")
        paged = await wait_for(out, pilot)
    blob = demo_store.blobs.path(entry["digest"])
    assert paged["argv"][1:] == ["--flag", str(blob)]  # the blob itself, no file name
    assert paged["text"].splitlines()[0] == version.open("config.json").decode().splitlines()[0]
    assert paged["lesssecure"] == "1"


async def test_a_missing_pager_says_so(demo_store, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PAGER", str(tmp_path / "no-such-pager"))
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await settle(pilot)
        app.post_message(OpenVersion("vit-food101:16"))
        await settle(pilot)
        await pilot.press("7", "p")
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any("did not run" in m and "no-such-pager" in m for m in messages)


async def open_diff_chooser(app, pilot, monkeypatch, a, b) -> None:
    """Compare `a` and `b`, then `p`: the chooser of what to diff (the pager's suspend is a
    no-op under Pilot)."""
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
    await settle(pilot)
    await app.push_screen(CompareScreen([a.ref, b.ref]))
    await settle(pilot)
    await pilot.press("p")
    await settle(pilot)


async def test_p_in_compare_pages_a_diff_of_params_and_deletes_it(demo_store, tmp_path,
                                                                  monkeypatch) -> None:
    script, out = fake_pager(tmp_path)
    monkeypatch.setenv("PAGER", str(script))
    a, b = demo_store.get("vit-food101:16"), demo_store.get("vit-food101:15")
    app = app_for(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_diff_chooser(app, pilot, monkeypatch, a, b)
        assert isinstance(app.screen, DiffChooser)
        await pilot.press("enter")  # params, the first choice
        paged = await wait_for(out, pilot)
        assert isinstance(app.screen, CompareScreen)
    text = paged["text"]
    assert text.startswith(f"# modelyard: params of {a.ref} (---) and {b.ref} (+++)")
    changed = [k for k in a.params if a.params[k] != b.params.get(k)]
    assert changed
    for key in changed:  # each changed param: a - line and a + line
        assert any(line.startswith(f"-{key}:") for line in text.splitlines()), key
        assert any(line.startswith(f"+{key}:") for line in text.splitlines()), key
    assert not Path(paged["argv"][-1]).exists()  # the temp file is gone


async def test_p_in_compare_pages_a_diff_of_a_file_in_both(demo_store, tmp_path,
                                                           monkeypatch) -> None:
    script, out = fake_pager(tmp_path)
    monkeypatch.setenv("PAGER", str(script))
    a, b = demo_store.get("vit-food101:16"), demo_store.get("vit-food101:15")
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_diff_chooser(app, pilot, monkeypatch, a, b)
        assert "file config.json" in str(app.screen.query_one("OptionList")
                                         .get_option("file:config.json").prompt)
        app.screen.query_one("OptionList").highlighted = 1
        await pilot.press("enter")
        paged = await wait_for(out, pilot)
    text = paged["text"]
    assert text.splitlines()[0] == f"# modelyard: file config.json of {a.ref} (---) and " \
                                   f"{b.ref} (+++)"
    left = a.open("config.json").decode()
    right = b.open("config.json").decode()
    if left == right:
        assert "is the same in both" in text
    else:
        assert f"--- {a.ref}/file config.json" in text and "@@" in text
