"""A store with a gate violation and a mixed-script model name, for the app and CLI tests
of how they are shown (issue 14)."""

from __future__ import annotations

import json

from modelyard.store import Store
from modelyard.store.disk.layout import numbered_files

POLICY = {"rules": {"serving": {"require": ["signature"]}},
          "aliases": {"production": ["serving"]}}
SIG = {"signature": {"inputs": [{"name": "x", "type": "double"}]}}
MIXED = "p\u0430ypal"  # a Cyrillic а among Latin letters


def violation_store(store: Store) -> Store:
    """am:1 fails serving and was moved to @production by a hand-written event (a
    violation); am:2 passes; MIXED:1 is a model whose name mixes scripts."""
    store.set_policy(POLICY)
    store.add_version("am", metrics={"a": 1.0})
    store.add_version("am", metrics={"a": 2.0}, serving=SIG)
    store.set_alias("am:2", "production")
    store.add_version(MIXED, metrics={"a": 3.0}, serving=SIG)
    folder = store.layout.events_dir("am")
    seq = (numbered_files(folder) or [0])[-1] + 1
    event = {"seq": seq, "type": "alias.set", "model": "am", "version": 1,
             "at": "2026-01-01T00:00:00.000000Z", "user": "alice", "host": "prod-1",
             "data": {"alias": "production", "policy_violation": ""}}
    (folder / f"{seq}.json").write_text(json.dumps(event))
    fresh = Store.open(store.root)
    assert fresh.get("am:1").policy_state == "violation"
    assert fresh.get(f"{MIXED}:1").mixed_script
    return fresh
