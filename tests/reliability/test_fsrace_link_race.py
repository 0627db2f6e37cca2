"""Writers racing for version numbers through a real sshfs mount.

sshfs answers a `link()` onto an existing name with EPERM, not EEXIST (the sftp server
reports a plain failure). A writer that lost a number race once took that for a read-only
store and died with `ReadOnlyStore ... Operation not permitted`, its remaining versions
never written. Losing a race must always mean "take the next number".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_kit import wait_for
from sshfs_mount import two_hosts  # noqa: F401  (the module-scoped fixture)

from modelyard.store import Store
from modelyard.store.errors import ReadOnlyStore

pytestmark = pytest.mark.reliability

WRITERS, EACH = 8, 25

# Each writer waits for the start file, then adds small versions as fast as it can: the
# writers meet at the same numbers (over sshfs each one's listing of versions/ lags too).
RACER = """
import sys, time
from collections.abc import Iterator
from pathlib import Path
from modelyard.store import Store
root, tag, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = Store.open(root)
(go.parent / f"ready-{tag}").write_bytes(b"")
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
for i in range(count):
    store.add_version("racer", params={"writer": tag, "i": i}, files={"w.bin": tag.encode()})
store.close()
"""


def test_writers_racing_through_sshfs_all_survive(
        two_hosts: tuple[Path, list[Path]], tmp_path: Path) -> None:  # noqa: F811
    _, mounts = two_hosts
    Store.init(mounts[0] / "race").close()
    go = tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-c", RACER, str(mounts[i % 2] / "race"),
                                 f"w{i}", str(EACH), str(go)], stderr=subprocess.PIPE,
                                text=True) for i in range(WRITERS)]
    wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == WRITERS
             or any(w.poll() is not None for w in writers), 60, "the writers to start")
    go.write_bytes(b"")
    root = mounts[0] / "race"
    outcomes = [(w.wait(180), w.stderr.read()) for w in writers]
    died = [err.strip().splitlines()[-1] for code, err in outcomes if code != 0]
    assert died == [], f"{len(died)} of {WRITERS} writers died: {died}"
    with Store.open(root) as store:
        versions = store.versions("racer")
        assert sorted(v.number for v in versions) == list(range(1, WRITERS * EACH + 1))
        by_writer = sorted((v.params["writer"], v.params["i"]) for v in versions)
        assert by_writer == sorted((f"w{i}", k) for i in range(WRITERS) for k in range(EACH))
        assert store.fsck().clean


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a read-only bind mount")
def test_a_read_only_store_still_says_read_only(tmp_path: Path) -> None:
    """A genuinely read-only store (a read-only bind mount) still gives ReadOnlyStore."""
    root, ro = tmp_path / "store", tmp_path / "ro"
    Store.init(root).close()
    ro.mkdir()
    if subprocess.run(["mount", "--bind", "-o", "ro", str(root), str(ro)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot make a read-only bind mount here")
    try:
        with Store.open(ro) as store, pytest.raises(ReadOnlyStore):
            store.add_version("m", files={"w.bin": b"x"})
    finally:
        subprocess.run(["umount", str(ro)], check=False)
