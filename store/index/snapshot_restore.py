"""A new host starts from a shared snapshot instead of reading every record.

When a store is opened and this host has no index yet, the newest compatible snapshot
(store/index/snapshots.py) is copied to a local temp file beside the index while its digest
is computed, decompressed there, checked (digest, complete gzip stream, a database whose
schema is exactly this code's, tables and triggers included), and linked into place. The
normal catch-up then reads what was written after the change position it covers. SQLite
only ever opens the local copy.

A snapshot that fails a check (truncated, corrupt, a newer or older schema, a digest that
does not match its name, one this host found lying before) is skipped with a warning and
the next older one is tried; with none left, the index is built from the records as
before. Whatever was used is verified against the records afterwards, in the background
(store/index/snapshot_verify.py); `<index>.snapshot.json` says how far that got.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard.store.disk import atomic, changes, faults
from modelyard.store.disk.clock import now_iso
from modelyard.store.disk.layout import Layout
from modelyard.store.index import schema, snapshots
from modelyard.store.index.snapshots import CHUNK, FROM_KEY, Snapshot


class Rejected(Exception):
    """Why one snapshot cannot be used."""


@dataclass
class Restored:
    """What opening the store did about snapshots: the one used (or None) and warnings about
    those skipped, for the CLI to print and `index status` to show."""

    snapshot: Snapshot | None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def state_path(index: Path) -> Path:
    return Path(f"{index}.snapshot.json")


def read_state(index: Path) -> dict[str, Any]:
    try:
        data = json.loads(state_path(index).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write_state(index: Path, state: dict[str, Any]) -> None:
    atomic.write_replace(state_path(index), json.dumps(state, indent=2).encode(), mode=0o644)


def distrusted(index: Path) -> set[str]:
    """Snapshots this host found lying (by name): never used again here."""
    return set(read_state(index).get("distrusted") or [])


def seed(index: Path, layout: Layout, config: dict) -> Restored | None:
    """Put the newest usable snapshot at `index`, which does not exist yet. None when the
    store has no snapshots (or restoring is turned off)."""
    if not snapshots.setting(config, "snapshot_restore"):
        return None
    candidates = snapshots.listing(layout.root)
    if not candidates:
        return None
    started = time.perf_counter()
    index.parent.mkdir(parents=True, exist_ok=True)
    from modelyard.store.index.rebuild import remove_stale

    remove_stale(index)  # copies of killed restores, as of killed rebuilds
    bad = distrusted(index)
    outcome = Restored(None)
    for snap in candidates:
        try:
            if snap.schema > schema.SCHEMA_VERSION:
                raise Rejected(f"it has index schema {snap.schema}, newer than this "
                               f"modelyard's {schema.SCHEMA_VERSION}; upgrade modelyard")
            if snap.schema < schema.SCHEMA_VERSION:
                raise Rejected(f"it has the older index schema {snap.schema} (this modelyard "
                               f"uses {schema.SCHEMA_VERSION})")
            if snap.name in bad:
                raise Rejected("this host found it differs from the records before")
            local = copy_checked(snap, index)
        except Rejected as why:
            outcome.warnings.append(f"skipped the index snapshot {snap.path}: {why}")
            continue
        try:
            os.link(local, index)  # another process of this host may have made it first
        except FileExistsError:
            local.unlink(missing_ok=True)
            return None
        local.unlink(missing_ok=True)
        outcome.snapshot = snap
        break
    outcome.seconds = time.perf_counter() - started
    note_restore(index, layout.root, outcome)
    return outcome


def far_behind_snapshot(index: Path, layout: Layout, config: dict,
                        seen: int) -> Snapshot | None:
    """A snapshot to start again from, for an index that has read the change log up to
    `seen` (bytes; a write notes two) while the log is `snapshot_reseed_changes` writes
    further on: the newest compatible one covering at least that many writes more than the
    index does. Catching up would read those records one by one (minutes for 100,000 of
    them, through a network filesystem much more); the snapshot is a copy and a check."""
    if not snapshots.setting(config, "snapshot_restore") or seen < 0:
        return None
    far = 2 * snapshots.setting(config, "snapshot_reseed_changes")
    if changes.counter(layout.models) - seen < far:
        return None
    bad = distrusted(index) | set(read_state(index).get("reseed_rejected") or [])
    for snap in snapshots.listing(layout.root):
        if snap.schema == schema.SCHEMA_VERSION and snap.name not in bad:
            return snap if snap.position - seen >= far else None
    return None


def reseed(index: Path, snap: Snapshot) -> tuple[Path | None, Restored]:
    """Copy and check `snap` for an index far behind (see far_behind_snapshot): the checked
    local copy, for the caller to install in place of the index once its own connections
    are closed (rebuild.install); None with a warning when the snapshot is rejected (the
    catch-up then goes on from the old index)."""
    started = time.perf_counter()
    outcome = Restored(None)
    try:
        local = copy_checked(snap, index)
    except Rejected as why:
        outcome.warnings.append(f"skipped the index snapshot {snap.path}: {why}")
        state = read_state(index)  # not tried again at every catch-up: a newer one may come
        state["reseed_rejected"] = sorted({*(state.get("reseed_rejected") or []), snap.name})
        try:
            write_state(index, state)
        except Exception:  # noqa: BLE001 - the state is a convenience; catching up goes on
            pass
        return None, outcome
    outcome.snapshot, outcome.seconds = snap, time.perf_counter() - started
    return local, outcome


def note_restore(index: Path, root: Path, outcome: Restored, **extra: Any) -> None:
    """Say in `<index>.snapshot.json` which snapshot a restore (or a reseed) used, or that
    none was usable, and start verifying the one it used."""
    snap = outcome.snapshot
    state = read_state(index)
    state.update(snapshot=snap.name if snap else None,
                 snapshot_path=str(snap.path) if snap else None,
                 position=snap.position if snap else None, restored_at=now_iso(),
                 restore_seconds=round(outcome.seconds, 3), skipped=outcome.warnings,
                 verify={"state": "pending" if snap else "none"}, **extra)
    try:
        write_state(index, state)
    except Exception:  # noqa: BLE001 - the state is for `index status`; opening goes on
        pass
    if snap is not None:
        start_background_verify(root, index)


def copy_checked(snap: Snapshot, index: Path) -> Path:
    """Copy and decompress `snap` to a local temp file beside `index`, hashing while
    copying; check it; return the temp file's path (removed again on rejection)."""
    local = atomic.temp_name(index)
    digest = hashlib.sha256()
    unpack = zlib.decompressobj(31)
    try:
        with open(snap.path, "rb") as source, open(local, "wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(unpack.decompress(chunk))
            out.write(unpack.flush())
        faults.point("snapshot.copied")
        if not unpack.eof:
            raise Rejected("it is truncated (the compressed stream ends early)")
        if digest.hexdigest() != snap.digest:
            raise Rejected(f"its content has the digest sha256:{digest.hexdigest()[:16]}…, "
                           "not the one its name says (damaged or replaced)")
        _check_database(local, snap)
    except FileNotFoundError as exc:
        local.unlink(missing_ok=True)
        raise Rejected("it was removed while being copied") from exc
    except (OSError, zlib.error, sqlite3.Error) as exc:
        local.unlink(missing_ok=True)
        raise Rejected(f"it cannot be read ({type(exc).__name__}: {exc})") from exc
    except BaseException:
        local.unlink(missing_ok=True)
        raise
    return local


def expected_schema() -> set[tuple]:
    conn = sqlite3.connect(":memory:")
    try:
        schema.migrate(conn)
        return _schema_of(conn)
    finally:
        conn.close()


def _schema_of(conn: sqlite3.Connection) -> set[tuple]:
    return set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                            "WHERE name NOT LIKE 'sqlite_%'"))


def _check_database(local: Path, snap: Snapshot) -> None:
    """The copy is a database of exactly this code's schema, nothing added (no trigger or
    view of a hostile writer runs here), that covers the position its name says."""
    conn = sqlite3.connect(f"file:{local}?mode=rw", uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        version = int(meta.get("schema_version", -1))
        if version != schema.SCHEMA_VERSION:
            raise Rejected(f"its database has index schema {version}, not "
                           f"{schema.SCHEMA_VERSION}")
        if _schema_of(conn) != expected_schema():
            raise Rejected("its database's tables, indexes or triggers are not the ones "
                           "this modelyard creates")
        from modelyard.store.index.changes_seen import COUNT_KEY

        if str(meta.get(COUNT_KEY)) != str(snap.position):
            raise Rejected(f"it covers the change position {meta.get(COUNT_KEY)}, not "
                           f"{snap.position} as its name says")
        conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                         [(FROM_KEY, snap.name)])
        conn.execute("DELETE FROM meta WHERE key = ?", (snapshots.VERIFIED_KEY,))
    except (ValueError, TypeError) as exc:
        raise Rejected(f"its meta table is not readable ({exc})") from exc
    finally:
        conn.close()


def start_background_verify(root: Path, index: Path) -> None:
    """Verify the restored index in a detached low-priority process (resumable; see
    snapshot_verify.py). MODELYARD_SNAPSHOT_VERIFY=off leaves it to `index verify`."""
    if os.environ.get("MODELYARD_SNAPSHOT_VERIFY", "background").lower() in ("off", "0",
                                                                             "no", "false"):
        return
    log = open(f"{index}.verify.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        subprocess.Popen(
            [sys.executable, "-m", "modelyard.app.cli.main", "--store", str(root),
             "--index", str(index), "index", "verify", "--background"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True)
    except OSError:
        pass  # `modelyard index verify` does it in the foreground
    finally:
        log.close()
