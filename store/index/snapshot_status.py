"""How far this host's check of an index copied from a shared snapshot has got, for
`modelyard index status` and the app's status line (store/index/snapshot_verify.py does the
checking, in a background process, and saves its progress in `<index>.snapshot.json`)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from modelyard.store.index import snapshots
from modelyard.store.index.reads import Index
from modelyard.store.index.snapshot_restore import read_state
from modelyard.store.index.snapshot_verify import lock_path


def verifier_running(index_path: Path) -> bool:
    """Whether a verifier holds this index's verify lock now (one per index on a host)."""
    try:
        fd = os.open(lock_path(index_path), os.O_RDONLY)
    except OSError:
        return False  # never created: no verifier ever ran here
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


def snapshot_check(index: Index, index_path: Path) -> dict[str, Any]:
    """`{"state": ..., "snapshot", "models_checked", "models_total", "problems", "rebuilt"}`:
    state is "not needed" (built from the records), "pending" (copied, not checked yet),
    "verifying" (a verifier is at it), "stopped" (one was, and is gone: `modelyard index
    verify` resumes it), "verified", or "differs" (a lie was found; the index is rebuilt
    from the records, and what was found stays on show)."""
    meta = index.meta_values(snapshots.PRIVATE_KEYS)
    source = meta.get(snapshots.FROM_KEY)
    verify = dict(read_state(index_path).get("verify") or {})
    if source and meta.get(snapshots.VERIFIED_KEY):
        return {**verify, "state": "verified"}
    if source and verify.get("snapshot") != source:
        return {"state": "pending", "snapshot": source}
    if not source and not verify.get("rebuilt"):
        return {"state": "not needed"}
    if verify.get("state") == "verifying" and not verifier_running(index_path):
        verify["state"] = "stopped"
    return verify
