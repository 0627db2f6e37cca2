"""A drop copied in by plain `cp` under a private umask (not our code, so not ours to fix):
a group member's watcher cannot take it. It must say so once, clearly, with the fix
(`chmod -R g+rwX`), rather than on every pass forever, and ingest it once fixed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "reliability"))
from real_users import (  # noqa: E402
    group_store_dir,
    modelyard_command,
    popen_as,
    run_as,
    shared_folder,
    users,
)
from reliability_kit import tar_bytes  # noqa: E402

from helpers import write_manifest_folder  # noqa: E402

SDK_DROP = """
import sys
import modelyard
with modelyard.new_version(sys.argv[2], store=sys.argv[1]) as run:
    run.log_params(n=1)
"""


def _lines_until(watcher: subprocess.Popen, wanted: str, seen: list[str],
                 deadline: float) -> None:
    """Read the watcher's output into `seen` until a line holds `wanted` (bounded)."""
    while time.monotonic() < deadline:
        line = watcher.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if wanted in line:
            return
    raise AssertionError(f"no {wanted!r} from the watcher: {seen}")


def test_a_private_copy_is_reported_once_and_ingested_once_fixed() -> None:
    people = users()
    cli = modelyard_command()
    with shared_folder() as parent:
        root = group_store_dir(parent)
        run_as(people["alice"], [*cli, "--store", root, "init"], check=True)
        source = write_manifest_folder(parent / "copied", model="copied")  # readable by all
        (source / "COMPLETE").write_bytes(b"")
        copied = run_as(people["alice"], ["cp", "-r", source, root / "drops" / "copied"],
                        umask=0o077)
        assert copied.returncode == 0, copied.stderr
        watcher = popen_as(people["bob"], [*cli, "--store", root, "watch", "--poll", "0.2",
                                           "--quiet", "0"], env={"PYTHONUNBUFFERED": "1"})
        seen: list[str] = []
        try:
            deadline = time.monotonic() + 60
            _lines_until(watcher, "chmod -R g+rwX", seen, deadline)
            # more passes happen: another drop is ingested meanwhile
            made = run_as(people["alice"], [sys.executable, "-c", SDK_DROP, root, "later"])
            assert made.returncode == 0, made.stderr
            _lines_until(watcher, "as later:1", seen, deadline)
            fixed = run_as(people["alice"], ["chmod", "-R", "g+rwX", root / "drops" / "copied"])
            assert fixed.returncode == 0, fixed.stderr
            _lines_until(watcher, "ingested copied as copied:1", seen, deadline)
        finally:
            watcher.send_signal(signal.SIGTERM)
            rest, errors = watcher.communicate(timeout=30)
        told = [line for line in seen if "copied" in line and "g+rwX" in line]
        assert len(told) == 1, seen
        assert "not writable by you" in told[0] and "myard-alice" in told[0], told
        assert "read-only" not in told[0], told


def test_a_private_archive_is_reported_not_quarantined() -> None:
    """An archive copied with umask 077 is unreadable to the group: it once went to
    quarantine as 'a drop must be a folder ... is a regular file'. It must stay where it is,
    with the fix named, and be ingested once its owner runs the fix."""
    people = users()
    cli = modelyard_command()
    with shared_folder() as parent:
        root = group_store_dir(parent)
        run_as(people["alice"], [*cli, "--store", root, "init"], check=True)
        source = write_manifest_folder(parent / "src", model="packed")
        (parent / "p.tar.gz").write_bytes(tar_bytes(
            [(f"packed/{p.name}", p.read_bytes()) for p in sorted(source.iterdir())]))
        drop = root / "drops" / "p.tar.gz"
        copied = run_as(people["alice"], ["cp", parent / "p.tar.gz", drop], umask=0o077)
        assert copied.returncode == 0, copied.stderr
        first = run_as(people["bob"], [*cli, "--store", root, "watch", "--once", "--quiet", "0"])
        assert "not readable by you" in first.stdout and "chmod -R g+rwX" in first.stdout, \
            first.stdout
        assert drop.is_file()
        run_as(people["alice"], ["chmod", "g+r", drop], check=True)
        second = run_as(people["bob"], [*cli, "--store", root, "watch", "--once", "--quiet",
                                        "0"])
        assert "ingested p.tar.gz as packed:1" in second.stdout, second.stdout
