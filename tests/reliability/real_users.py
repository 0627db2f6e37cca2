"""Real users for the many-users tests: alice and bob share a group, mallory is outside it.

The accounts are made once per machine with `useradd` (idempotent, under a file lock so
that parallel test processes do not race on /etc/passwd) and kept: CI machines are
throwaway, and a developer's machine gains three locked accounts with no password.

Processes run as a user through `run_as`, which starts the same interpreter with
`subprocess`'s user/group/umask switches. That interpreter lives under /root on this kind
of machine (mode 0700), so `make_reachable` gives others the right to traverse (never to
list or read) the folders above it. Stores for these tests live under `shared_tmp()`, a
world-traversable folder, since pytest's own tmp_path (/tmp/pytest-of-root) is private.

Skips (with the reason) unless running as root on a machine with useradd.
"""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

GROUP = "myard-team"
OUTSIDE_GROUP = "myard-outside"
MEMBERS = ("myard-alice", "myard-bob")
OUTSIDER = "myard-mallory"
LOCK = "/tmp/.modelyard-test-users.lock"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    home: Path

    @property
    def short(self) -> str:
        """alice, bob or mallory."""
        return self.name.removeprefix("myard-")


def missing() -> str | None:
    """Why real users cannot be had here, or None."""
    if os.geteuid() != 0:
        return "needs root to create users and switch to them"
    for tool in ("useradd", "groupadd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def users() -> dict[str, User]:
    """{'alice', 'bob', 'mallory'} as real accounts; skips the test when impossible."""
    reason = missing()
    if reason:
        pytest.skip(f"real-user tests skipped: {reason}")
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _group(GROUP)
        _group(OUTSIDE_GROUP)
        for name in MEMBERS:
            _user(name, GROUP)
        _user(OUTSIDER, OUTSIDE_GROUP)
    make_reachable([Path(sys.executable), REPO])
    out = {}
    for name in (*MEMBERS, OUTSIDER):
        entry = pwd.getpwnam(name)
        user = User(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))
        out[user.short] = user
    return out


def _group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        subprocess.run(["groupadd", name], check=True, capture_output=True)


def _user(name: str, group: str) -> None:
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", "-g", group, name],
                   check=True, capture_output=True)
    home = Path(pwd.getpwnam(name).pw_dir)
    os.chmod(home, 0o700)


def make_reachable(paths: Sequence[Path]) -> None:
    """Let every user traverse the folders above `paths`, and a folder in `paths` itself
    (o+x only, no listing), and read the interpreter's and the repository's own trees
    where they already are readable."""
    for path in paths:
        real = Path(os.path.realpath(path))
        own = [real] if real.is_dir() else []  # a clone in a 0700 mktemp folder, say
        for folder in [*reversed(real.parents), *own]:
            mode = os.stat(folder).st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(folder, stat.S_IMODE(mode) | stat.S_IXOTH)


def shared_tmp(prefix: str = "myard-") -> Path:
    """A fresh folder every user can reach (mode 0755, owned by root); the caller makes
    what is inside it group-shared as the test needs."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(folder, 0o755)
    return folder


@contextmanager
def shared_folder(prefix: str = "myard-") -> Iterator[Path]:
    """`shared_tmp()` removed afterwards."""
    folder = shared_tmp(prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def group_store_dir(parent: Path, name: str = "store") -> Path:
    """A folder owned by root and the team's group, setgid and group-writable (2775), as a
    team's admin would prepare it for a shared store."""
    folder = parent / name
    folder.mkdir()
    os.chown(folder, 0, grp.getgrnam(GROUP).gr_gid)
    os.chmod(folder, 0o2775)
    return folder


def run_as(user: User, argv: Sequence[str | os.PathLike], *, umask: int = 0o022,
           env: Mapping[str, str] | None = None, timeout: float = 120,
           check: bool = False, **kwargs) -> subprocess.CompletedProcess:
    """Run `argv` as `user` (their primary group only), with `umask`, a clean environment
    (HOME, USER, LOGNAME, PATH and what `env` adds), and text output captured."""
    clean = {"HOME": str(user.home), "USER": user.name, "LOGNAME": user.name,
             "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
             "MODELYARD_CACHE_DIR": str(user.home / ".cache" / "modelyard")}
    clean.update(env or {})
    return subprocess.run([os.fspath(a) for a in argv], user=user.uid, group=user.gid,
                          extra_groups=[], umask=umask, env=clean, capture_output=True,
                          text=True, timeout=timeout, check=check, cwd=kwargs.pop("cwd", "/"),
                          **kwargs)


def popen_as(user: User, argv: Sequence[str | os.PathLike], *, umask: int = 0o022,
             env: Mapping[str, str] | None = None, **kwargs) -> subprocess.Popen:
    """`run_as`, started in the background (stdout and stderr piped, text)."""
    clean = {"HOME": str(user.home), "USER": user.name, "LOGNAME": user.name,
             "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
             "MODELYARD_CACHE_DIR": str(user.home / ".cache" / "modelyard")}
    clean.update(env or {})
    return subprocess.Popen([os.fspath(a) for a in argv], user=user.uid, group=user.gid,
                            extra_groups=[], umask=umask, env=clean, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=kwargs.pop("cwd", "/"),
                            **kwargs)


def modelyard_command() -> list[str]:
    """The installed CLI as this interpreter runs it (the venv's `modelyard` script)."""
    script = Path(sys.executable).parent / "modelyard"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "modelyard.app.cli.main"]
