"""Handing the terminal to `$PAGER` (default `less`): the app suspends, the pager reads a
file, the app comes back. The command is an argv list, never a shell line, so no file name
or stored text can become a command."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from textual.app import App, SuspendNotSupported

from .safe_text import printable


def pager_argv(path: Path) -> list[str]:
    """`$PAGER` split as a shell would split words (`less -S` works), plus the path."""
    command = os.environ.get("PAGER", "").strip() or "less"
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = []
    return [*(argv or ["less"]), str(path)]


def page(app: App, path: Path) -> bool:
    """Show `path` in the pager, read-only (`less` gets LESSSECURE: no editor, no shell,
    no saving); say what went wrong if it could not run."""
    argv = pager_argv(path)
    env = dict(os.environ, LESSSECURE="1")
    try:
        with app.suspend():
            status = subprocess.run(argv, env=env, check=False).returncode
    except SuspendNotSupported:
        app.notify("This terminal cannot be handed to $PAGER", severity="error")
        return False
    except OSError as exc:
        app.notify(printable(f"$PAGER ({argv[0]}) did not run: {exc.strerror or exc}; set "
                             "PAGER to a pager you have, such as less"),
                   severity="error", markup=False)
        return False
    if status:
        app.notify(printable(f"{argv[0]} exited with status {status}"), severity="warning",
                   markup=False)
    return True


def write_temp(text: str, *, suffix: str) -> Path:
    """A private temp file holding `text`; the caller deletes it after paging."""
    fd, name = tempfile.mkstemp(prefix="modelyard-", suffix=suffix)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(name)
