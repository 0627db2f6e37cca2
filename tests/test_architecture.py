"""Architecture rules that keep the tree shaped like the design."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UI_MODULES = ("textual", "plotext", "textual_plotext", "rich", "modelyard.app")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_store_never_imports_ui_code() -> None:
    for path in (REPO / "store").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(UI_MODULES), f"{path} imports {name}"


def test_cli_listing_path_imports_neither_textual_nor_polars() -> None:
    code = ("import sys; from modelyard.app.cli import main, commands, output, show;"
            "from modelyard.store import Store;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'polars', 'rich')];"
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_is_clean() -> None:
    folders = [f for f in ("store", "app", "tests", "bench") if (REPO / f).is_dir()]
    out = subprocess.run([sys.executable, "-m", "ruff", "check", *folders], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_top_level_package_exposes_the_writer_sdk() -> None:
    import modelyard

    assert callable(modelyard.new_version)
    code = "import sys, modelyard; print(sorted(m for m in sys.modules if m.startswith('textual')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
