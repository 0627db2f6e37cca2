"""Shared index snapshots: a host whose index is current publishes a compressed copy of it
into the store, so that a new host copies it instead of reading every record.

    <store>/index/snapshots/<schema>-<position>-<sha256>.sqlite.gz        the index, gzip
    <store>/index/snapshots/<schema>-<position>-<sha256>.sqlite.gz.json   who, when, counts

`schema` is the index schema (store/index/schema.py), `position` how much of the change log
(store/disk/changes.py) the index had read, exactly as its `meta` says (a restored copy
catches up from there with the normal catch-up), and `sha256` the digest of the
compressed bytes, checked while a reader copies them. Snapshots are write-once: written to
a temp file in the folder, fsynced, given their name with `link()` (two publishers of the
same bytes: one yields), then the folder is fsynced. SQLite never opens them there: the
index is copied with `VACUUM INTO` to a local temp file first, and readers decompress to a
local temp file (store/index/snapshot_restore.py). A snapshot is a cache anyone in the
group can write, so a host that used one verifies it against the records
(store/index/snapshot_verify.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.store.disk import atomic, faults
from modelyard.store.disk.clock import now_iso
from modelyard.store.disk.fsclock import fs_now
from modelyard.store.disk.identity import current_host, current_user, process_alive
from modelyard.store.errors import ModelyardError
from modelyard.store.index import changes_seen, schema

if TYPE_CHECKING:
    from modelyard.store.api import Store

SUFFIX = ".sqlite.gz"
NAME = re.compile(r"^(\d{1,6})-(\d{1,20})-([0-9a-f]{64})\.sqlite\.gz$")
CHUNK = 1 << 20
GZIP_LEVEL = 1  # an index compresses to ~18% at level 1, 16% at 6, which is 3x slower
# meta keys that describe this host's copy, not the store: never published
FROM_KEY, VERIFIED_KEY = "snapshot_from", "snapshot_verified"
PRIVATE_KEYS = (FROM_KEY, VERIFIED_KEY)

# Store settings (modelyard.json "settings"), each overridable by the environment
# variable MODELYARD_<NAME upper-cased>, e.g. MODELYARD_SNAPSHOT_KEEP=5.
DEFAULTS: dict[str, Any] = {
    "snapshot_restore": True,          # a host without an index starts from a snapshot
    "snapshot_reseed_changes": 100_000,  # ... and one this many writes behind, from a newer
    "snapshot_every_changes": 10_000,  # the watcher publishes after this many versions+events
    "snapshot_every_seconds": 3600,    # ... or this long after the newest, if anything changed
    "snapshot_keep": 3,                # newest snapshots kept by pruning
    "snapshot_keep_seconds": 900,      # a superseded snapshot is kept this long (readers)
}


class SnapshotError(ModelyardError):
    """A snapshot could not be published (the index is not trusted, or nothing to publish)."""


def setting(config: dict, name: str) -> Any:
    """A snapshot setting: the environment, else the store's settings, else the default."""
    default = DEFAULTS[name]
    raw: Any = os.environ.get(f"MODELYARD_{name.upper()}")
    if raw is None:
        raw = (config.get("settings") or {}).get(name, default)
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() not in (
                "0", "false", "no", "off", "")
        return type(default)(raw)
    except (TypeError, ValueError):
        return default


def folder(root: Path) -> Path:
    return Path(root) / "index" / "snapshots"


@dataclass(frozen=True)
class Snapshot:
    """One published snapshot, as its name and sidecar describe it."""

    path: Path
    schema: int
    position: int
    digest: str
    size: int
    mtime: float
    info: dict  # the sidecar: host, user, created_at, versions, events, models (or {})

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def compatible(self) -> bool:
        return self.schema == schema.SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "schema": self.schema,
                "position": self.position, "sha256": self.digest, "bytes": self.size,
                "compatible": self.compatible, **{k: self.info.get(k) for k in (
                    "created_at", "host", "user", "versions", "events", "models",
                    "index_bytes")}}


def listing(root: Path) -> list[Snapshot]:
    """Every snapshot under its final name, newest first (by change position, then time).
    Temp files (being written) and sidecars never count."""
    where = folder(root)
    try:
        names = os.listdir(where)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for name in names:
        match = NAME.match(name)
        if match is None:
            continue
        path = where / name
        try:
            st = os.stat(path)
        except OSError:
            continue  # pruned meanwhile
        found.append(Snapshot(path, int(match[1]), int(match[2]), match[3], st.st_size,
                              st.st_mtime, _sidecar(path)))
    return sorted(found, key=lambda s: (s.position, s.mtime, s.name), reverse=True)


def _sidecar(path: Path) -> dict:
    try:
        data = json.loads(Path(f"{path}.json").read_bytes()[:65536])
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


@dataclass
class Published:
    snapshot: Snapshot
    created: bool  # False: the same bytes were already published under that name (yielded)
    pruned: list[str]
    seconds: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {**self.snapshot.to_dict(), "created": self.created, "pruned": self.pruned,
                "seconds": self.seconds}


def trusted(conn: sqlite3.Connection) -> str | None:
    """None when this index may be published; else why not (it came from a snapshot that
    is not verified yet: publishing it would pass on a lie unchecked)."""
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)", PRIVATE_KEYS))
    if meta.get(FROM_KEY) and not meta.get(VERIFIED_KEY):
        return (f"this host's index was copied from the snapshot {meta[FROM_KEY]} and is not "
                "verified yet; run `modelyard index verify` first")
    return None


def publish(store: Store, *, force: bool = False) -> Published:
    """Catch the index up, copy it locally (`VACUUM INTO`: one consistent read), compress
    it into the store's snapshot folder under its final name, then prune old ones."""
    import time

    clock = time.perf_counter
    started = clock()
    store.sync()
    conn = store.index.conn
    why = trusted(conn)
    if why and not force:
        raise SnapshotError(f"not published: {why}")
    local = atomic.temp_name(Path(store.index_path))
    try:
        conn.execute("VACUUM INTO ?", (str(local),))
        copied = clock()
        facts = _prepare_copy(local)
        if facts["position"] < 0:
            raise SnapshotError("not published: this index has never read the change log; "
                                "run `modelyard reindex` first")
        where = folder(store.root)
        atomic.ensure_dir(where.parent)
        atomic.ensure_dir(where, sticky=True)
        remove_stale(where)
        tmp, digest, size = _compress_into(local, where / "snapshot")
    finally:
        local.unlink(missing_ok=True)
    compressed = clock()
    name = f"{schema.SCHEMA_VERSION}-{facts['position']}-{digest}{SUFFIX}"
    target = where / name
    faults.point("snapshot.temp_written")
    info = {"format": "modelyard-index-snapshot", "schema": schema.SCHEMA_VERSION,
            "position": facts["position"], "sha256": digest, "bytes": size,
            "index_bytes": facts["index_bytes"], "versions": facts["versions"],
            "events": facts["events"], "models": facts["models"],
            "created_at": now_iso(), "host": current_host(), "user": current_user(),
            "store_id": store.config.get("store_id"), "compression": "gzip"}
    side = Path(f"{target}.json")
    try:
        if not side.exists():  # the sidecar first: a snapshot under its name always has one
            atomic.link_exclusive(atomic.write_temp(side, json.dumps(info, indent=2).encode()),
                                  side)
        created = atomic.link_exclusive(tmp, target)
    except BaseException:
        atomic.unlink_quietly(tmp)
        raise
    if created:
        faults.point("snapshot.linked")
    st = os.stat(target)
    snap = Snapshot(target, schema.SCHEMA_VERSION, facts["position"], digest, st.st_size,
                    st.st_mtime, _sidecar(target))
    pruned = prune(store.root, store.config)
    done = clock()
    return Published(snap, created, pruned,
                     {"copy": round(copied - started, 3), "compress": round(compressed - copied, 3),
                      "total": round(done - started, 3)})


def _prepare_copy(local: Path) -> dict[str, int]:
    """Drop this host's own meta keys from the local copy and read what it covers."""
    conn = sqlite3.connect(local, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute(f"DELETE FROM meta WHERE key IN ({','.join('?' * len(PRIVATE_KEYS))})",
                     PRIVATE_KEYS)
        row = conn.execute("SELECT value FROM meta WHERE key = ?",
                           (changes_seen.COUNT_KEY,)).fetchone()
        facts = {"position": int(row[0]) if row else -1,
                 "versions": conn.execute("SELECT count(*) FROM versions").fetchone()[0],
                 "events": conn.execute("SELECT count(*) FROM events").fetchone()[0],
                 "models": conn.execute("SELECT count(*) FROM models").fetchone()[0]}
    finally:
        conn.close()
    facts["index_bytes"] = os.path.getsize(local)
    return facts


def _compress_into(local: Path, placeholder: Path) -> tuple[Path, str, int]:
    """gzip `local` into a fresh temp file in the snapshot folder, hashing the compressed
    bytes as they are written (the digest names the file); fsynced."""
    target = placeholder
    fd, tmp = atomic.create_temp(target)
    digest, size = hashlib.sha256(), 0
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # gzip framing, mtime 0
    try:
        with open(local, "rb") as source:
            while chunk := source.read(CHUNK):
                out = packer.compress(chunk)
                if out:
                    digest.update(out)
                    size += len(out)
                    atomic.write_all(fd, out, target)
        out = packer.flush()
        digest.update(out)
        size += len(out)
        atomic.write_all(fd, out, target)
    except BaseException:
        atomic.abandon(fd, tmp)
        raise
    atomic.finish_temp(fd, tmp, target)
    return tmp, digest.hexdigest(), size


def prune(root: Path, config: dict) -> list[str]:
    """Remove snapshots beyond the newest `snapshot_keep`, but only once the snapshot that
    superseded each has been there `snapshot_keep_seconds` by the file server's clock: a
    reader picks the newest, so one still copying an older snapshot started before its
    successor appeared. Snapshots of other users in the sticky folder are left to them.
    Returns the names removed."""
    keep = max(1, setting(config, "snapshot_keep"))
    grace = setting(config, "snapshot_keep_seconds")
    snaps = listing(root)
    if len(snaps) <= keep:
        return []
    now = fs_now(folder(root))
    if now is None:
        return []
    removed = []
    for newer, old in zip(snaps[keep - 1:], snaps[keep:], strict=False):
        if now - newer.mtime < grace:
            continue
        try:
            os.unlink(old.path)
        except OSError:
            continue  # another user's, or pruned by another host meanwhile
        Path(f"{old.path}.json").unlink(missing_ok=True)
        removed.append(old.name)
    if removed:
        atomic.fsync_dir(folder(root))
    return removed


def remove_stale(where: Path) -> None:
    """Temp files of this host's killed publishers (a snapshot can be hundreds of MB)."""
    try:
        names = os.listdir(where)
    except OSError:
        return
    for name in names:
        writer = atomic.temp_writer(name)
        if writer and writer[0] == atomic.HOST and not process_alive(writer[1]):
            try:
                os.unlink(where / name)
            except OSError:
                pass


def summary(snaps: list[Snapshot]) -> list[dict[str, Any]]:
    return [s.to_dict() for s in snaps]

