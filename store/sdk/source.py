"""Provenance capture for the writer SDK: the training script's bytes, its repository's git
state, and the digests of local data sets.

It runs on GPU hosts where git may be missing, hang on a slow NFS mount, or refuse a repo
owned by someone else ("dubious ownership"). Every git call therefore has a timeout and any
failure only leaves that fact out: capturing source must never stop a training run.
Files are read when `add_source` is called, so a script edited while a long job runs is
recorded as it was when the job ran, not as it is at the end.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import site
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

GIT_BUDGET = 30.0  # seconds for all git calls of one capture: a hung NFS mount costs no more
MAX_DIFF_BYTES = 20 * 1024 * 1024
SKIPPED_DIRS = ("__pycache__", "node_modules")


@dataclass
class GitState:
    """What the store records about the repository a run came from."""

    root: Path
    commit: str | None = None
    branch: str | None = None
    remote: str | None = None
    dirty: bool | None = None
    diff: bytes = b""

    def facts(self) -> dict[str, str | bool]:
        """The manifest's `source.git` mapping: only what git told us."""
        found = {"commit": self.commit, "branch": self.branch, "remote": self.remote,
                 "dirty": self.dirty}
        return {k: v for k, v in found.items() if v is not None}


@dataclass
class SourceSnapshot:
    """Source files as bytes, keyed by their path inside the repository (or beside the script)."""

    files: dict[str, bytes] = field(default_factory=dict)
    origins: dict[str, Path] = field(default_factory=dict)  # where each file was read from
    git: GitState | None = None
    entrypoint: str = ""

    def facts(self, *, diff_file: str) -> dict[str, Any]:
        """The manifest's `source` mapping; `diff_file` names the stored `git diff HEAD`."""
        out: dict[str, Any] = {"files": sorted(self.files), "entrypoint": self.entrypoint,
                               "git": self.git.facts() if self.git else {}}
        if self.git is not None and self.git.diff:
            out["diff_file"] = diff_file
        return out


def run_git(repo: Path, *args: str, deadline: float | None = None) -> bytes | None:
    """git's stdout, or None when git is absent, fails, or runs past `deadline` (monotonic)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    end = deadline if deadline is not None else time.monotonic() + GIT_BUDGET
    if time.monotonic() >= end:
        return None
    try:
        done = subprocess.run(["git", "-C", str(repo), "--no-pager", *args], env=env,
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=end - time.monotonic())
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _git_text(repo: Path, *args: str, deadline: float | None = None) -> str | None:
    out = run_git(repo, *args, deadline=deadline)
    text = out.decode("utf-8", "replace").strip() if out is not None else ""
    return text or None


def without_credentials(url: str) -> str:
    """A remote URL safe to store: https tokens (`https://ghp_x@host/...`) are dropped."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or "@" not in parts.netloc:
        return url  # scp-like `git@host:org/repo.git` holds no secret
    user, _, host = parts.netloc.rpartition("@")
    keep = "" if parts.scheme in ("http", "https") else user.split(":", 1)[0]
    netloc = f"{keep}@{host}" if keep else host
    return urlunsplit(parts._replace(netloc=netloc))


def _remote(root: Path, deadline: float) -> str | None:
    names = (_git_text(root, "remote", deadline=deadline) or "").split()
    if not names:
        return None
    name = "origin" if "origin" in names else names[0]
    url = _git_text(root, "remote", "get-url", name, deadline=deadline)
    return without_credentials(url) if url else None


def _diff(root: Path, deadline: float) -> bytes:
    """`git diff HEAD` (staged and unstaged changes), capped so a stray data file cannot
    blow up the drop."""
    out = run_git(root, "diff", "HEAD", "--no-ext-diff", "--no-textconv", "--no-color",
                  deadline=deadline) or b""
    if len(out) > MAX_DIFF_BYTES:
        note = f"\n# modelyard: diff truncated at {MAX_DIFF_BYTES:,} of {len(out):,} bytes\n"
        out = out[:MAX_DIFF_BYTES] + note.encode()
    return out


def git_state(path: Path) -> GitState | None:
    """The git facts of the repository holding `path`, or None outside a usable repo."""
    deadline = time.monotonic() + GIT_BUDGET
    start = path if path.is_dir() else path.parent
    top = _git_text(start, "rev-parse", "--show-toplevel", deadline=deadline)
    if top is None:
        return None
    root = Path(top)
    state = GitState(root=root,
                     commit=_git_text(root, "rev-parse", "--verify", "-q", "HEAD",
                                      deadline=deadline),
                     branch=_git_text(root, "symbolic-ref", "--short", "-q", "HEAD",
                                      deadline=deadline),
                     remote=_remote(root, deadline))
    status = run_git(root, "status", "--porcelain", "--untracked-files=no", deadline=deadline)
    state.dirty = None if status is None else bool(status.strip())
    if state.commit and state.dirty:
        state.diff = _diff(root, deadline)
    return state


def _library_dirs() -> list[Path]:
    """Where Python's own and installed code lives: never the user's training script."""
    paths = sysconfig.get_paths()
    dirs = [paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib", "scripts")
            if k in paths]
    try:
        dirs += [*site.getsitepackages(), site.getusersitepackages()]
    except AttributeError:  # some embedded interpreters lack these
        pass
    return [Path(d).resolve() for d in dirs]


def _is_user_file(path: Path, libraries: list[Path]) -> bool:
    return path.is_file() and not any(lib == path or lib in path.parents for lib in libraries)


def calling_scripts(caller_file: str | None) -> list[Path]:
    """The `__main__` script and the file that called the SDK, skipping library code (a
    pytest or IPython `__main__`) and pseudo-files such as `<stdin>`."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    libraries = _library_dirs()
    found: list[Path] = []
    for name in (main_file, caller_file):
        if not name or name.startswith("<"):
            continue
        path = Path(name).resolve()
        if path not in found and _is_user_file(path, libraries):
            found.append(path)
    return found


def files_under(folder: Path) -> list[Path]:
    """Regular files under `folder`, sorted, without hidden ones, caches or bytecode."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and
                             d not in SKIPPED_DIRS)
        out += [Path(dirpath) / n for n in sorted(filenames) if not n.startswith(".")
                and not n.endswith(".pyc") and (Path(dirpath) / n).is_file()]
    return out


def _relative_name(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.name


def entrypoint(base: Path) -> str:
    """How the run was started, as a command line (`python train.py --lr 0.1`)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    main_file = getattr(main, "__file__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        head = ["python", "-m", spec.name.removesuffix(".__main__")]
    elif main_file and not main_file.startswith("<"):
        head = ["python", _relative_name(Path(main_file).resolve(), base)]
    else:
        return ""
    return shlex.join(head + sys.argv[1:])


def capture(paths: Iterable[Path], *, with_git: bool = True) -> SourceSnapshot:
    """Read `paths` (files, or folders of files) and the git state of the first one's repo."""
    paths = [Path(p).resolve() for p in paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"add_source: {', '.join(missing)} does not exist; pass "
                                "files or folders of the training code, or 'auto'")
    git = git_state(paths[0] if paths else Path.cwd()) if with_git else None
    base = git.root.resolve() if git else paths[0].parent if paths else Path.cwd()
    snap = SourceSnapshot(git=git, entrypoint=entrypoint(base))
    for path in paths:
        for file in (files_under(path) if path.is_dir() else [path]):
            name = _relative_name(file, base)
            snap.files[name], snap.origins[name] = file.read_bytes(), file
    return snap


def dataset_facts(uri: str, *, hash_it: bool) -> dict[str, str | int]:
    """A data set's uri, plus size and sha256 digest when it names a local file (a bare
    path, stored absolute, or a file:// URI); remote URIs are recorded as given."""
    if uri.startswith("file://"):
        path: Path | None = Path(unquote(urlsplit(uri).path))
    else:
        path = None if ("://" in uri or not uri) else Path(uri)
    if path is None or not path.is_file():
        return {"uri": uri}
    path = path.resolve()
    facts: dict[str, str | int] = {"uri": uri if "://" in uri else str(path),
                                   "size": path.stat().st_size}
    if hash_it:
        with open(path, "rb") as f:
            facts["digest"] = "sha256:" + hashlib.file_digest(f, "sha256").hexdigest()
    return facts
