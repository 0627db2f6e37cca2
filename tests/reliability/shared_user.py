"""One user of a shared store, for tests/reliability/test_shared_store.py.

    python shared_user.py UID GID UMASK add ROOT MODEL WHO
    python shared_user.py UID GID UMASK attack ROOT RECORD BLOB

Started as root, it first imports and exercises everything it will need (after switching
uid it could not read the interpreter's own library, which lives under /root, mode 0700),
then becomes UID:GID with UMASK and does the work, printing one JSON line. A fresh process
rather than a fork of pytest: polars' thread pool does not survive fork().
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable

from modelyard.store import Store


def add(root: str, model: str, who: str) -> dict:
    store = Store.init(root) if not os.path.exists(f"{root}/modelyard.json") else Store.open(root)
    with store:
        v = store.add_version(model, files={"w.bin": f"{who} weights".encode() * 100},
                              params={"by": who}, metric_series={"loss": [1.0, 0.5]})
        store.set_alias(v.ref, f"by-{who}")
        shared = store.add_version("shared", params={"by": who}, files={"x": who.encode()})
        return {"refs": [v.ref, shared.ref], "record": str(store.root / v.record_path),
                "blob": str(store.blobs.path(v.files[0]["digest"]))}


def attack(root: str, record: str, blob: str) -> dict:
    """Try every way to change another user's record and blob; report what got through."""
    attempts: dict[str, Callable[[], object]] = {
        "write record": lambda: open(record, "r+b").write(b"x"),
        "write blob": lambda: open(blob, "r+b").write(b"x"),
        "chmod blob": lambda: os.chmod(blob, 0o666),
        "delete record": lambda: os.unlink(record),
        "delete blob": lambda: os.unlink(blob),
        "replace record": lambda: _replace(record),
        "truncate blob": lambda: os.truncate(blob, 0),
    }
    through = []
    for what, attempt in attempts.items():
        try:
            attempt()
            through.append(what)
        except PermissionError:
            pass
    try:
        with Store.open(root) as store:
            clean = store.fsck(read_data=True).clean
            versions = sorted(v.ref for v in store.search("", limit=None))
    except PermissionError as exc:  # outside the group, a private umask's folders are closed
        return {"through": through, "clean": None, "versions": None, "closed": str(exc)}
    return {"through": through, "clean": clean, "versions": versions}


def _replace(target: str) -> None:
    fake = os.path.join(os.path.dirname(target), ".fake")
    try:
        with open(fake, "wb") as f:
            f.write(b"{}")
        os.rename(fake, target)
    finally:
        if os.path.exists(fake):
            os.unlink(fake)


def _warm_up() -> None:
    cache = os.environ.get("MODELYARD_CACHE_DIR", "")
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["MODELYARD_CACHE_DIR"] = f"{scratch}/cache"
        made = add(f"{scratch}/store", "warm", "root")
        with Store.open(f"{scratch}/store") as store:
            store.search("", limit=None)
            store.fsck(read_data=True)
        try:
            attack(f"{scratch}/store", made["record"], made["blob"])
        except OSError:  # root gets through, and then finds the files gone
            pass
    os.environ["MODELYARD_CACHE_DIR"] = cache


def main(argv: list[str]) -> None:
    uid, gid, umask, command, *args = argv
    _warm_up()
    os.setgroups([int(gid)])
    os.setresgid(int(gid), int(gid), int(gid))
    os.setresuid(int(uid), int(uid), int(uid))
    os.umask(int(umask, 8))
    work = {"add": add, "attack": attack}[command]
    print(json.dumps(work(*args)))


if __name__ == "__main__":
    main(sys.argv[1:])
