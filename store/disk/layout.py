"""Where everything lives inside a store folder. The one place that knows the tree.

    <store>/
      modelyard.json                  store settings: format version, id, defaults
      blobs/sha256/ab/cd/abcd…        immutable content, read-only, named by SHA-256
      models/<name>/versions/<n>.json one write-once record per version (the model card)
      models/<name>/events/<n>.json   one write-once file per later change (alias, tag…)
      drops/                          where training jobs drop finished models
      quarantine/                     rejected drops, each with REJECTED.json/.txt
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from modelyard.store.disk import atomic, clock
from modelyard.store.disk.drop_limits import DEFAULT_MAX_DROP_BYTES, DEFAULT_MAX_FILE_BYTES
from modelyard.store.disk.identity import current_host
from modelyard.store.errors import NotAStore, StoreExists
from modelyard.store.names import model_dirname, model_from_dirname

CONFIG_NAME = "modelyard.json"
STORE_FORMAT = "modelyard-store"
FORMAT_VERSION = 1
DEFAULT_SETTINGS = {
    "drop_dirs": ["drops"],
    "drop_quiet_seconds": "auto",  # 1 s on a local disk, 15 s on a network filesystem
    "keep_ingested_drops": True,
    "max_drop_bytes": DEFAULT_MAX_DROP_BYTES,  # apparent sizes; see drop_limits.py
    "max_file_bytes": DEFAULT_MAX_FILE_BYTES,
    # who may remove or weaken an alias gate unflagged: user names or uids; null (the
    # default) means the owner of this file (store/policy/violations.py)
    "policy_admins": None,
}


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with microseconds, from the store's clock."""
    return clock.now_iso()


class Layout(NamedTuple):
    """Where everything lives in a store. (A named tuple, not a dataclass: see names.Ref.)"""

    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def blobs(self) -> Path:
        return self.root / "blobs" / "sha256"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def drops(self) -> Path:
        return self.root / "drops"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    def model_dir(self, model: str) -> Path:
        return self.models / model_dirname(model)

    def versions_dir(self, model: str) -> Path:
        return self.model_dir(model) / "versions"

    def events_dir(self, model: str) -> Path:
        return self.model_dir(model) / "events"

    def record_path(self, model: str, number: int) -> Path:
        return self.versions_dir(model) / f"{number}.json"

    def event_path(self, model: str, seq: int) -> Path:
        return self.events_dir(model) / f"{seq}.json"

    def model_names(self) -> list[str]:
        """Every model's name, sorted: the listing of models/ and the existing folders the
        change log names (a network filesystem's cached listing can miss a new model)."""
        from modelyard.store.disk import changes

        try:
            entries = set(os.listdir(self.models))
        except FileNotFoundError:
            return []
        entries |= {f for f in changes.all_names(self.models) if f not in entries
                    and os.path.isdir(os.path.join(self.models, f))}
        return sorted(model_from_dirname(e) for e in entries
                      if not e.startswith(".") and readable_model(self.models, e))


_warned: set[str] = set()


def readable_model(models: Path | str, folder: str) -> bool:
    """Whether this user can read a model's folder and its records and events. A group
    member's private model (made under umask 077 in a store not shared by group) must not
    stop every command of everyone else: it is left out, with one warning per process."""
    path = os.path.join(models, folder)
    inside = [os.path.join(path, sub) for sub in ("versions", "events")]
    if _can_read(path) and all(_can_read(p) for p in inside if os.path.exists(p)):
        return True
    if path not in _warned:
        _warned.add(path)
        try:
            info = os.stat(path)
            owner, mode = _owner_name(info.st_uid), oct(info.st_mode & 0o7777)
        except OSError:
            owner, mode = "?", "?"
        import logging  # here: most commands never warn, and `init` starts faster without it

        logging.getLogger("modelyard.store").warning(
            "skipping model folder %s: this user cannot read it (owner %s, mode %s); ask its "
            "owner to run `chmod -R g+rX,o+rX %s`", path, owner, mode, path)
    return False


def _can_read(path: str) -> bool:
    return os.access(path, os.R_OK | os.X_OK)


def _owner_name(uid: int) -> str:
    from modelyard.store.disk.owners import name_of

    return name_of(uid)


def numbered_files(folder: Path) -> list[int]:
    """The numbers of `<n>.json` files in `folder`, sorted; temp files are skipped.

    A network filesystem's client may list a folder from its cache (sshfs keeps listings
    for 20 s): the numbers after the highest listed are probed by name, which asks the
    server, so a rebuild or fsck never misses the records written since."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        stem, dot, ext = name.partition(".")
        if dot and ext == "json" and stem.isdigit():
            out.append(int(stem))
    out.sort()
    following = (out[-1] if out else 0) + 1
    while os.path.lexists(os.path.join(folder, f"{following}.json")):
        out.append(following)
        following += 1
    return out


def default_store_path() -> Path:
    """$MODELYARD_STORE, else a store under the user's data directory."""
    env = os.environ.get("MODELYARD_STORE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "modelyard" / "store"


def init_store(root: Path, *, user: str) -> dict:
    """Create the skeleton of a new store at `root`; refuse to overwrite one."""
    root = Path(root)
    if (root / CONFIG_NAME).exists():
        raise StoreExists(f"{root} already holds a modelyard store; open it instead of init")
    if root.exists() and not root.is_dir():
        raise NotAStore(f"{root} is a file, not a folder; choose another path for the store")
    atomic.ensure_dir(root)
    layout = Layout(root)
    for folder in (layout.blobs, layout.models, layout.drops, layout.quarantine):
        atomic.ensure_dir(folder, sticky=folder in (layout.blobs, layout.models))
    config = {
        "format": STORE_FORMAT,
        "format_version": FORMAT_VERSION,
        "store_id": os.urandom(16).hex(),  # what uuid4().hex is, without importing uuid
        "created_at": utc_now(),
        "created_by": {"user": user, "host": current_host()},
        "settings": dict(DEFAULT_SETTINGS),
    }
    data = json.dumps(config, indent=2, sort_keys=True).encode() + b"\n"
    if not atomic.write_exclusive(layout.config_path, data, stage="config"):
        raise StoreExists(f"{root} was made a store by another process just now; open it")
    return config


def read_config(root: Path) -> dict:
    """Read and check the store settings file, with errors that say how to fix things."""
    root = Path(root)
    path = root / CONFIG_NAME
    if not root.exists():
        raise NotAStore(
            f"no store at {root}: the folder does not exist. Create one with "
            f"`modelyard init {root}` or pass --store PATH"
        )
    if not path.exists():
        raise NotAStore(
            f"{root} is not a modelyard store (no {CONFIG_NAME}). Create one with "
            f"`modelyard init {root}`, or pass the right --store"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotAStore(
            f"{path} is unreadable or not JSON ({exc}); restore it from a backup"
        ) from None
    if not isinstance(config, dict) or config.get("format") != STORE_FORMAT:
        raise NotAStore(f"{path} is not a modelyard store settings file")
    if int(config.get("format_version", 0)) > FORMAT_VERSION:
        raise NotAStore(
            f"{root} uses store format {config.get('format_version')}, newer than this "
            f"modelyard understands ({FORMAT_VERSION}); upgrade modelyard"
        )
    settings = dict(DEFAULT_SETTINGS)
    settings.update(config.get("settings") or {})
    config["settings"] = settings
    return config
