"""Processes opening one new index at the same moment: each creates or finds the schema,
none fails on tables another made first (seen in CI: 'table ... already exists')."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

OPEN = """
import sys, time
from pathlib import Path
from modelyard.store.index import db
start = float(sys.argv[2])
while time.time() < start:
    pass
database = db.connect(Path(sys.argv[1]))
print(database.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
"""


def test_concurrent_first_opens_all_get_the_whole_schema(tmp_path: Path) -> None:
    from modelyard.store.index.schema import SCHEMA_VERSION

    for round_ in range(4):
        index = tmp_path / f"index-{round_}.sqlite"
        start = time.time() + 1.5  # past every process's start-up: they open together
        procs = [subprocess.Popen([sys.executable, "-c", OPEN, str(index), repr(start)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        outputs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, [err[-500:] for _, err in outputs]
        assert [out.strip() for out, _ in outputs] == [str(SCHEMA_VERSION)] * 4
