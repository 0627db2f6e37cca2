"""Where the writer SDK puts a drop, and how it writes one so a watcher never sees half of it.

A drop is built in a hidden folder `<drops>/.tmp-<model>-<host>-<pid>-<rand>` on the shared
filesystem, every file and folder fsynced, a COMPLETE marker (holding the manifest's digest)
written last, then renamed to `<model>-<UTC time>-<rand>` in one step. A failure removes
the build folder. Only the filesystem is needed: no index, lock or SQLite on a GPU host.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import uuid
from array import array
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from modelyard.store.disk import atomic, clock
from modelyard.store.disk.identity import current_host
from modelyard.store.disk.layout import read_config
from modelyard.store.errors import InvalidManifest, NotAStore, ReadOnlyStore
from modelyard.store.ingest.manifest import MANIFEST_NAMES
from modelyard.store.ingest.writer import safe_relpath
from modelyard.store.names import model_dirname
from modelyard.store.series import frames as series

MANIFEST = "modelyard.json"
COMPLETE = "COMPLETE"
INTERNAL = "_modelyard"  # the SDK's own files inside a drop
SERIES_FILE = f"{INTERNAL}/metrics.parquet"
DIFF_FILE = f"{INTERNAL}/git.diff"
RESERVED = {*MANIFEST_NAMES, COMPLETE, INTERNAL}
PathLike = str | os.PathLike


def store_root(store: PathLike | None) -> Path:
    """The store given, else $MODELYARD_STORE, as an absolute path."""
    root = store if store is not None else os.environ.get("MODELYARD_STORE")
    if not root:
        raise NotAStore("no store given: pass new_version(..., store='/shared/models') or "
                        "set MODELYARD_STORE")
    return Path(root).absolute()


def drops_dir(root: Path) -> Path:
    """The store's (first) drop folder, created if needed and checked to be writable."""
    dirs = read_config(root)["settings"].get("drop_dirs") or ["drops"]
    drops = root / str(dirs[0])
    atomic.ensure_dir(drops)
    if not os.access(drops, os.W_OK | os.X_OK):
        raise ReadOnlyStore(f"cannot write drops in {drops}; ask the store's owner for group "
                            "write access to it")
    return drops


def claim_names(wanted: Mapping[str, Path], taken: tuple[Mapping[str, Path], ...],
                where: str) -> dict[str, Path]:
    """Names in the drop for files, checked all at once (a refusal changes nothing):
    reserved names and one name for two different files are refused."""
    out: dict[str, Path] = {}
    for name, origin in wanted.items():
        rel, origin = safe_relpath(name, where), Path(os.path.realpath(origin))
        if rel in RESERVED or rel.startswith(INTERNAL + "/"):
            raise InvalidManifest(f"{where}: {rel!r} is reserved for the drop's own files; "
                                  "pass add_file(..., name=...) to store it elsewhere")
        for names in (*taken, out):
            if names.get(rel, origin) != origin:
                raise InvalidManifest(f"{where}: {rel!r} already holds {names[rel]}; "
                                      f"give {origin} another name (add_file name=...)")
        out[rel] = origin
    return out


def drop_paths(drops: Path, model: str) -> tuple[Path, Path]:
    """The final name `<model>-<UTC time>-<rand>` and a hidden build folder unique across
    hosts and processes; the model part is percent-encoded (names may hold '/')."""
    label = model_dirname(model)[:100]
    when = clock.now().strftime("%Y%m%dT%H%M%SZ")
    host = re.sub(r"[^A-Za-z0-9._-]", "_", current_host())[:32]
    tmp = f"{atomic.TEMP_PREFIX}{label}-{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return drops / f"{label}-{when}-{uuid.uuid4().hex[:6]}", drops / tmp


def write_drop(drops: Path, model: str, manifest_for: Callable[[str], dict[str, Any]], *,
               files: Mapping[str, Path], source_files: Mapping[str, bytes],
               points: dict[str, tuple[array, array, array]], diff: bytes) -> Path:
    """Build the drop hidden, then rename it into place; `manifest_for` gets its final name."""
    final, tmp = drop_paths(drops, model)
    tmp.mkdir(mode=atomic.DIR_MODE)
    try:
        manifest = manifest_for(final.name)
        _fill(tmp, manifest, files, source_files, points, diff,
              shared=atomic.group_shared(drops))
        if final.exists():
            raise FileExistsError(f"{final} appeared while writing; retry")
        os.rename(tmp, final)
        atomic.fsync_dir(drops)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _fill(tmp: Path, manifest: dict[str, Any], files: Mapping[str, Path],
          source_files: Mapping[str, bytes], points: dict[str, tuple[array, array, array]],
          diff: bytes, shared: bool = False) -> None:
    """Files, curves, source, manifest and the COMPLETE marker, then every one and every
    folder fsynced at once (in threads, so the filesystem commits them together instead of
    one journal commit each). Nothing is visible until the caller's rename, which comes
    after all of it. In a `shared` (group) drop folder the drop gets the group's access."""
    written: list[int] = []
    folders: list[int] = []

    def add(fd: int) -> None:
        written.append(fd)
        if len(written) >= MAX_OPEN:  # a folder of thousands of files: sync as we go
            _sync_and_close(written, [])

    try:
        for rel, src in sorted(files.items()):
            add(_copy_into(tmp / rel, src))
        for rel, data in sorted(source_files.items()):
            if rel not in files:  # the same file added both ways is written once
                add(_write_into(tmp / rel, data))
        if points:
            add(_write_into(tmp / SERIES_FILE, series.to_parquet(points)))
        if diff:
            add(_write_into(tmp / DIFF_FILE, diff))
        body = json.dumps(manifest, indent=1, ensure_ascii=False).encode() + b"\n"
        add(_write_into(tmp / MANIFEST, body))
        digest = hashlib.sha256(body).hexdigest()
        marker = {"format": "modelyard-drop/1", "manifest_sha256": digest}
        add(_write_into(tmp / COMPLETE, json.dumps(marker).encode() + b"\n"))
        if shared:
            share_tree(tmp)
        for dirpath, _, _ in os.walk(tmp):  # the folders with the last files, together
            folders.append(os.open(dirpath, os.O_RDONLY | os.O_DIRECTORY))
        _sync_and_close(written, folders)
    finally:
        for fd in written + folders:  # only after a failure
            os.close(fd)


MAX_OPEN = 64


def share_tree(top: Path) -> None:
    """Let the group claim, read, move and remove a drop whatever the writer's umask: a
    watcher of another group member renames the folder (needs its write bit), reads and
    may hard-link its files (read and write), and removes it once ingested. Folders get
    the store's mode (setgid, group-writable), files owner and group read-write (execute
    bits kept), world bits as the umask says."""
    for dirpath, _dirs, filenames in os.walk(top):
        os.chmod(dirpath, atomic.shared_mode(atomic.DIR_MODE))
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            os.chmod(path, atomic.shared_mode(mode | 0o660 | (mode & 0o100) >> 3))


def _sync_and_close(fds: list[int], folders: list[int]) -> None:
    """fsync every file and folder at once (atomic.fsync_all), then close them all,
    emptying both lists."""
    atomic.fsync_all(fds, folders)
    for opened in (fds, folders):
        while opened:
            os.close(opened.pop())


def _write_into(path: Path, data: bytes) -> int:
    """A new file holding `data`; returns its descriptor, open for the fsync."""
    path.parent.mkdir(mode=atomic.DIR_MODE, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        raise
    return fd


def _copy_into(path: Path, src: Path) -> int:
    path.parent.mkdir(mode=atomic.DIR_MODE, parents=True, exist_ok=True)
    shutil.copyfile(src, path)  # sendfile on Linux; follows symlinks (Hugging Face caches)
    return os.open(path, os.O_WRONLY)
