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
