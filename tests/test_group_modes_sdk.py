"""Group members' drops are ingested by each other, whatever their umasks.

alice (umask 022) once wrote an SDK drop folder of mode 2755: bob's watcher could not claim
it (EACCES) and said so on every pass, forever. Everything modelyard and its SDK write into
a group-shared store (setgid, group-writable folders) must be writable by the group.
Real users from `real_users.py`: alice and bob in one group.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "reliability"))
from real_users import (  # noqa: E402
    group_store_dir,
    modelyard_command,
    run_as,
    shared_folder,
    users,
)

# A training script as a group member runs it: one SDK drop with a file, a source file
# (a subfolder) and a curve.
TRAIN = """
import sys, pathlib
import modelyard
work = pathlib.Path(sys.argv[2])
work.mkdir(exist_ok=True)
(work / "weights.bin").write_bytes(sys.argv[3].encode() * 100)
with modelyard.new_version(sys.argv[3], store=sys.argv[1]) as run:
    run.log_params(who=sys.argv[3])
    run.log_metric("loss", 0.5, step=1)
    run.add_file(work / "weights.bin", name="nested/weights.bin")
print(run.drop_path)
"""

CASES = [("alice", 0o022, "bob", 0o022), ("alice", 0o077, "bob", 0o077)]  # and back


@pytest.mark.parametrize(("writer", "wmask", "watcher", "vmask"), CASES,
                         ids=[f"{w}-{m:03o}-{v}-{n:03o}" for w, m, v, n in CASES])
def test_an_sdk_drop_of_one_member_is_ingested_by_another(
        writer: str, wmask: int, watcher: str, vmask: int) -> None:
    people = users()
    cli = modelyard_command()
    with shared_folder() as parent:
        root = group_store_dir(parent)
        run_as(people["alice"], [*cli, "--store", root, "init"], check=True)
        for turn, (who, mask, other, omask) in enumerate(
                [(writer, wmask, watcher, vmask), (watcher, vmask, writer, wmask)]):
            made = run_as(people[who], [sys.executable, "-c", TRAIN, root,
                                        people[who].home / "work", f"{who}{turn}"], umask=mask)
            assert made.returncode == 0, made.stderr
            drop = Path(made.stdout.strip().splitlines()[-1])
            for path in [drop, *drop.rglob("*")]:
                mode = path.lstat().st_mode
                assert mode & stat.S_IRGRP and mode & stat.S_IWGRP, (path, oct(mode))
                if path.is_dir():
                    assert mode & stat.S_ISGID and mode & stat.S_IXGRP, (path, oct(mode))
            seen = run_as(people[other], [*cli, "--store", root, "watch", "--once",
                                          "--quiet", "0"], umask=omask)
            assert f"as {who}{turn}:1" in seen.stdout, (seen.stdout, seen.stderr)
        for person in (writer, watcher):
            listed = run_as(people[person], [*cli, "--store", root, "ls"], umask=0o022)
            assert f"{writer}0:1" in listed.stdout and f"{watcher}1:1" in listed.stdout, \
                listed.stdout
        checked = run_as(people[writer], [*cli, "--store", root, "fsck"], umask=0o022)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        leftovers = [p for p in (root / "drops").iterdir() if p.name != ".ingested"
                     and (p.name != ".claims" or os.listdir(p))]
        assert leftovers == [], leftovers
    shutil.rmtree(parent, ignore_errors=True)
