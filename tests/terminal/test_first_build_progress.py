"""A new host without a shared snapshot builds its index from every record: a command run in a
terminal says how far it has got on stderr, then prints its answer (the issue: a blank
terminal for two minutes). Piped, it prints nothing extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _generated(root: Path, versions: int) -> Path:
    sys.path.insert(0, str(REPO))
    try:
        from bench.generate import generate_store
    finally:
        sys.path.remove(str(REPO))
    return generate_store(root / "store", versions, workers=1)


def test_a_first_build_in_a_terminal_shows_its_progress(tmp_path: Path,
                                                         command_terminal) -> None:
    store = _generated(tmp_path, 2_500)
    t = command_terminal("--store", str(store), "ls", "--limit", "1", size=(120, 30))
    assert t.exit_status(timeout=90) == 0, t.screen()
    screen = t.screen()
    line = "modelyard: indexing this store on this host for the first time: 2,500 of " \
           "2,500 versions"
    assert line in screen, screen
    assert ":" in screen.split(line, 1)[1], screen  # then the answer: a version's ref
    piped = subprocess.run([sys.executable, "-m", "modelyard.app.cli.main", "--store",
                            str(store), "ls", "--limit", "1"], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, MODELYARD_CACHE_DIR=str(
                               tmp_path / "another-host")))
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr
