"""One writer of the multi-host tests, run as its own process on one `Host`:

    python multihost_racer.py MODEL TAG COUNT
    python multihost_racer.py --reader STOPFILE

adds COUNT versions of MODEL and, right after each, moves the alias `w-TAG` onto it, tags it
`by=TAG` and describes it: the writes whose events race a reader's catch-up. Prints one JSON
line per version: {"ref", "alias", "tag"}. With --reader it catches its host's index up
in a loop, as a busy explorer or watcher does, until STOPFILE exists. The store is
$MODELYARD_STORE.
"""

from __future__ import annotations

import json
import os
import sys

from modelyard.store import Store


def main(model: str, tag: str, count: int) -> None:
    with Store.open(os.environ["MODELYARD_STORE"]) as store:
        for i in range(count):
            version = store.add_version(model, params={"writer": tag, "i": i},
                                        files={"w.bin": f"{tag}-{i}".encode() * 64})
            store.set_alias(version.ref, f"w-{tag}")
            store.tag(version.ref, "by", tag)
            store.describe(version.ref, f"{tag} #{i}")
            print(json.dumps({"ref": version.ref, "alias": f"w-{tag}", "tag": tag}), flush=True)


def read_loop(stop: str) -> None:
    while not os.path.exists(stop):
        with Store.open(os.environ["MODELYARD_STORE"]) as store:
            store.models()


if __name__ == "__main__":
    if sys.argv[1] == "--reader":
        read_loop(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
