"""Whose hooks may run in this process: a hook runs only when the person running modelyard
trusts its author.

A hook's author is the real owner of the file it came from (the policy file, or the
store's `modelyard.json` for `settings.hooks`), read with `stat`, never a name written
inside the file. Your own files are trusted; anyone else's only when you list them:

    # $XDG_CONFIG_HOME/modelyard/config.toml   (default ~/.config/modelyard/config.toml;
    #  config.json or config.yaml hold the same key)
    trusted_hook_authors = ["alice", "ml-deploy-bot"]

A file anyone but its owner can write, or a symbolic link, is never trusted: someone else
could have changed it. Root is no exception: a watcher running as root runs no one's hooks
but root's unless root's own config lists them.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_log = logging.getLogger("modelyard.hooks")
CONFIG_NAMES = ("config.toml", "config.json", "config.yaml", "config.yml")
KEY = "trusted_hook_authors"


@dataclass(frozen=True)
class Origin:
    """The file a hook came from, as `stat` saw it (through the descriptor it was read by,
    for policy files)."""

    path: str
    uid: int
    mode: int
    is_link: bool = False

    @property
    def owner(self) -> str:
        return user_name(self.uid)

    @classmethod
    def of(cls, path: Path | str) -> Origin:
        st = os.lstat(path)
        return cls(str(path), st.st_uid, st.st_mode, stat.S_ISLNK(st.st_mode))


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"),
                                                            ".config")
    return Path(base) / "modelyard"


def user_config() -> tuple[Path | None, dict[str, Any]]:
    """The running user's own modelyard config (the first of CONFIG_NAMES that exists)."""
    folder = config_dir()
    for name in CONFIG_NAMES:
        path = folder / name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as exc:
            _log.warning("cannot read %s (%s); trusting no one's hooks", path, exc.strerror)
            return path, {}
        try:
            data = _parse(name, text)
        except Exception as exc:  # noqa: BLE001 - a broken config must not fail a command
            _log.warning("%s is not valid (%s); trusting no one's hooks", path, exc)
            return path, {}
        return path, data if isinstance(data, dict) else {}
    return None, {}


def _parse(name: str, text: str) -> Any:
    if name.endswith(".toml"):
        import tomllib

        return tomllib.loads(text)
    if name.endswith(".json"):
        return json.loads(text)
    from modelyard.store import safe_yaml

    return safe_yaml.load(text)


def trusted_authors() -> set[str]:
    """User names (or numeric uids, as text) listed in `trusted_hook_authors`."""
    _, data = user_config()
    raw = data.get(KEY) or []
    if isinstance(raw, str):
        raw = [raw]
    return {str(x) for x in raw if isinstance(x, (str, int)) and not isinstance(x, bool)}


def refusal(origin: Origin | None, hook: str) -> str:
    """Why hook `hook` from `origin` may not run in this process ("" when it may)."""
    me = os.geteuid()
    if origin is None:
        return f"hook {hook}: the file it came from could not be checked; not run"
    where = f"hook {hook} comes from {origin.path}"
    if origin.is_link:
        return f"{where}, a symbolic link; hooks are only taken from regular files"
    if origin.mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (f"{where}, which users other than its owner can write; not run (make it "
                "read-only: chmod go-w)")
    if origin.uid == me:
        return ""
    owner = origin.owner
    if owner in (trusted := trusted_authors()) or str(origin.uid) in trusted:
        return ""
    path, _ = user_config()
    return (f"{where}, written by {owner} (uid {origin.uid}); you ({user_name(me)}) have not "
            f"said you trust {owner}'s hooks, so it was not run. To run them, add "
            f"{KEY} = [\"{owner}\"] to {path or config_dir() / 'config.toml'}")
