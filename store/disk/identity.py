"""Who and where: stamped on every record and event."""

from __future__ import annotations

import getpass
import os


def current_user() -> str:
    for var in ("MODELYARD_USER",):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return f"uid{os.getuid()}"


def current_host() -> str:
    return os.environ.get("MODELYARD_HOST") or os.uname().nodename


def stamp() -> dict[str, str]:
    return {"user": current_user(), "host": current_host()}


def process_alive(pid: int) -> bool:
    """Whether process `pid` on this host still runs: the owner of a claim or a temp file.
    A process of another user counts as alive; a killed child not yet reaped (a zombie)
    as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True
