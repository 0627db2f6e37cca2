"""Without a terminal (cron, CI, `> file`), the commands that open the explorer do not draw
it into a file: `demo` builds the store and says where it is; the bare command says why not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from modelyard.store import Store


def _run(args: list[str], env: dict, cwd: Path, out: Path) -> tuple[int, bytes]:
    """The command with standard input /dev/null and output a file: no terminal at all (a
    new session, so not even a controlling one). Killed after 60 s: it drew until then."""
    with open(out, "wb") as stdout:
        done = subprocess.run([sys.executable, "-m", "modelyard.app.cli.main", *args],
                              stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
                              env=env, cwd=cwd, timeout=60, start_new_session=True)
    return done.returncode, done.stderr


def test_demo_without_a_terminal_builds_prints_its_path_and_exits(tmp_path: Path,
                                                                  cli_env: dict) -> None:
    out = tmp_path / "out"
    status, err = _run(["demo"], cli_env, tmp_path, out)
    store = tmp_path / "demo-store"
    assert status == 0, err
    assert out.read_text() == f"{store}\n"  # the path only: no escape codes
    assert b"\x1b" not in err and b"no terminal" in err and b"--store" in err
    with Store.open(store) as built:
        assert len(built.models()) == 6
    again, _ = _run(["demo"], cli_env, tmp_path, out)  # an existing one is reused
    assert again == 0 and out.read_text() == f"{store}\n"


def test_the_explorer_without_a_terminal_says_so(tmp_path: Path, cli_env: dict) -> None:
    out = tmp_path / "out"
    status, err = _run(["--store", str(tmp_path / "s")], cli_env, tmp_path, out)
    assert status == 2
    assert out.read_bytes() == b""
    assert err.startswith(b"modelyard: error: the explorer needs a terminal") and \
        b"modelyard ls" in err
