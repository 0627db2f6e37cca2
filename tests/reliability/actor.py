"""A separate process for the reliability tests, so crashes and races are real.

    python actor.py init STORE                       create a store
    python actor.py write STORE MODEL TAG            one version (several blobs, curves,
                                                     charts, source), then @champion on it
    python actor.py alias STORE MODEL ALIAS SEED N   set ALIAS N times on random versions;
                                                     prints one JSON line per event written
    python actor.py add STORE MODEL COUNT TAG        COUNT small versions (like writer_process)

Content depends only on the arguments, so a restart after a crash writes the same version
(adding is idempotent) and the tests can recompute what must be there.
"""

from __future__ import annotations

import json
import random
import sys

from modelyard.store import Store


def payload(tag: str) -> dict[str, bytes]:
    """The files of the version `write` makes for TAG."""
    return {"weights.bin": f"weights {tag} ".encode() * 5000,
            "extra/config.json": json.dumps({"tag": tag}).encode()}


def write(root: str, model: str, tag: str) -> None:
    with Store.open(root) as store:
        version = store.add_version(
            model, files=payload(tag), params={"tag": tag, "lr": 0.01},
            metric_series={"loss": [1.0 / (k + 1) for k in range(40)]},
            charts={"roc": {"fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1], "auc": 0.8}},
            source={"files": {}, "diff": f"--- a\n+++ b\n+{tag}\n"}, tags={"tag": tag})
        store.set_alias(version.ref, "champion")
        print(json.dumps({"ref": version.ref}), flush=True)


def alias(root: str, model: str, name: str, seed: int, count: int) -> None:
    rng = random.Random(seed)
    with Store.open(root) as store:
        numbers = [v.number for v in store.versions(model)]
        for _ in range(count):
            event = store.set_alias(f"{model}:{rng.choice(numbers)}", name)
            print(json.dumps({"seq": event.seq, "version": event.version}), flush=True)


def add(root: str, model: str, count: int, tag: str) -> None:
    with Store.open(root) as store:
        for i in range(count):
            store.add_version(model, params={"writer": tag, "i": i},
                              files={"w.bin": f"{tag}-{i}".encode() * 50})


def main(argv: list[str]) -> None:
    command, root, *rest = argv
    if command == "init":
        Store.init(root).close()
    elif command == "write":
        write(root, rest[0], rest[1])
    elif command == "alias":
        alias(root, rest[0], rest[1], int(rest[2]), int(rest[3]))
    elif command == "add":
        add(root, rest[0], int(rest[1]), rest[2])
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
