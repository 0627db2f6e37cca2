"""`modelyard index status|publish|snapshots|verify|prune`: this host's index and the
store's shared snapshots of it (store/index/snapshots.py)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from modelyard.app.cli.commands import open_store
from modelyard.app.cli.output import emit, emit_json, human_size, safe, table


def cmd_index(args: argparse.Namespace, path: Path) -> int:
    action = {"status": _status, "publish": _publish, "snapshots": _snapshots,
              "verify": _verify, "prune": _prune}[args.action]
    return action(args, path)


def status_of(store: Any) -> dict[str, Any]:
    """What this host's index covers, where it came from and how far its check got."""
    from modelyard.store.disk import changes
    from modelyard.store.index import snapshots
    from modelyard.store.index.changes_seen import COUNT_KEY
    from modelyard.store.index.snapshot_restore import read_state

    meta = store.index.meta_values((COUNT_KEY, *snapshots.PRIVATE_KEYS))
    state = read_state(Path(store.index_path))
    source = meta.get(snapshots.FROM_KEY)
    verify = store.snapshot_check()
    newest = next(iter(snapshots.listing(store.root)), None)
    seen = int(meta.get(COUNT_KEY, -1))
    log = changes.counter(store.layout.models)
    return {
        "index": str(store.index_path),
        "index_bytes": os.path.getsize(store.index_path),
        "versions": store.index.token()[1],
        "models": len(store.index.model_names()),
        "position": seen, "log_position": log,
        "behind_bytes": max(0, log - seen) if seen >= 0 and log >= 0 else None,
        "source": f"snapshot {source}" if source else "records",
        "snapshot": source,
        "verify": verify,
        "publishable": snapshots.trusted(store.index.conn) is None,
        "newest_snapshot": newest.to_dict() if newest else None,
        "skipped_at_restore": state.get("skipped") or [] if source else [],
    }


def _status(args: argparse.Namespace, path: Path) -> int:
    store = open_store(args, path)
    status = status_of(store)
    if args.json:
        emit_json(status)
        return 0
    emit(f"index      {safe(status['index'])} ({human_size(status['index_bytes'])}): "
         f"{status['versions']:,} versions of {status['models']:,} models")
    emit(f"change log read to {status['position']:,} of {status['log_position']:,} bytes")
    emit(f"built from {safe(status['source'])}")
    verify = status["verify"]
    if status["snapshot"] or verify.get("rebuilt"):
        line = f"verified   {verify.get('state')}"
        if verify.get("models_total"):
            line += f" ({verify.get('models_checked', 0):,} of {verify['models_total']:,} models)"
        emit(line)
        for problem in verify.get("problems") or []:
            emit(f"  problem: {safe(problem.get('message'))}")
        if verify.get("rebuilt"):
            emit("  the index was rebuilt from the records")
        if verify.get("state") == "stopped":
            emit("  its verifier is gone (killed, or the host restarted): "
                 "`modelyard index verify` resumes the check")
    newest = status["newest_snapshot"]
    emit("snapshots  " + (f"newest {safe(newest['name'])} ({human_size(newest['bytes'])}, "
                          f"by {safe(newest.get('host'))})" if newest else "none published"))
    return 0


def _publish(args: argparse.Namespace, path: Path) -> int:
    from modelyard.store.index import snapshots

    store = open_store(args, path)
    published = snapshots.publish(store, force=args.force)
    if args.json:
        emit_json(published.to_dict())
        return 0
    snap = published.snapshot
    verb = "published" if published.created else "already published (same bytes)"
    emit(f"{verb} {safe(snap.path)}: {snap.info.get('versions', 0):,} versions, "
         f"{human_size(snap.size)} (index {human_size(snap.info.get('index_bytes') or 0)}), "
         f"in {published.seconds['total']:.1f} s")
    for name in published.pruned:
        emit(f"pruned {safe(name)}")
    return 0


def _snapshots(args: argparse.Namespace, path: Path) -> int:
    from modelyard.store.index import snapshots

    store = open_store(args, path, sync=False)
    found = snapshots.listing(store.root)
    if args.json:
        emit_json([s.to_dict() for s in found])
        return 0
    if not found:
        emit("no index snapshots; publish one with `modelyard index publish`")
        return 0
    rows = [[safe(s.name[:40] + "…"), str(s.schema) + ("" if s.compatible else " (other)"),
             f"{s.position:,}", f"{s.info.get('versions', '?'):,}"
             if isinstance(s.info.get("versions"), int) else "?", human_size(s.size),
             safe(s.info.get("created_at", "?"))[:16].replace("T", " "),
             safe(s.info.get("host", "?"))] for s in found]
    for line in table(["SNAPSHOT", "SCHEMA", "POSITION", "VERSIONS", "SIZE", "CREATED",
                       "HOST"], rows, max_width=44):
        emit(line)
    return 0


def _verify(args: argparse.Namespace, path: Path) -> int:
    from modelyard.store.index.snapshot_verify import verify

    if args.background:
        try:
            os.nice(19)  # low priority: this host answers from the snapshot meanwhile
        except OSError:
            pass
    store = open_store(args, path)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if not args.json and not args.background and time.monotonic() - last[0] > 1:
            last[0] = time.monotonic()
            print(f"verifying: {done:,} of {total:,} models", file=sys.stderr, flush=True)

    report = verify(store, progress=progress)
    if args.json:
        emit_json(report.to_dict())
    else:
        messages = {"nothing": "this host's index was built from the records: nothing to "
                               "verify",
                    "verified": f"the index from snapshot {safe(report.snapshot)} matches "
                                "the records",
                    "running elsewhere": "another process of this host is verifying it; "
                                         "see `modelyard index status`",
                    "differs": f"the snapshot {safe(report.snapshot)} differs from the "
                               "records" + ("; the index was rebuilt from the records"
                                            if report.rebuilt else "")}
        emit(messages.get(report.state, report.state))
        for problem in report.problems:
            emit(f"  {problem.kind}: {safe(problem.message)}")
    return 1 if report.state == "differs" else 0


def _prune(args: argparse.Namespace, path: Path) -> int:
    from modelyard.store.index import snapshots

    store = open_store(args, path, sync=False)
    removed = snapshots.prune(store.root, store.config)
    if args.json:
        emit_json({"pruned": removed})
    else:
        emit(f"pruned {len(removed)} snapshot(s)" + "".join(f"\n  {safe(n)}" for n in removed))
    return 0

