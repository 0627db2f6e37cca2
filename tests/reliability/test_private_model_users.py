"""A group member's private model does not stop anyone else: alice adds a model under umask
077 to a store every user can read; mallory (outside the group) still lists, reindexes and
checks the store, with one warning naming the folder she cannot read."""

from __future__ import annotations

import shutil
import sys

import pytest
from real_users import group_store_dir, modelyard_command, run_as, shared_tmp, users

pytestmark = pytest.mark.reliability


def test_a_private_model_is_skipped_with_one_warning() -> None:
    people = users()
    alice, mallory = people["alice"], people["mallory"]
    shared = shared_tmp("myard-private-")
    try:
        root = group_store_dir(shared) / "s"
        my = [*modelyard_command(), "--store", str(root)]
        run_as(alice, [*my, "init"], check=True)
        for name, umask in (("public", 0o022), ("secret", 0o077)):
            script = (f"from modelyard.store import Store\n"
                      f"Store.open({str(root)!r}).add_version({name!r}, files={{'w': b'{name}'}})")
            run_as(alice, [sys.executable, "-c", script], umask=umask, check=True)
        for command in (["models", "--json"], ["ls"], ["reindex"], ["fsck"]):
            done = run_as(mallory, [*my, *command])
            assert done.returncode == 0, (command, done.stderr)
            # said once when the folder is met: building the index, reindex, fsck; a look
            # that finds nothing new meets no folder and says nothing
            assert done.stderr.count("skipping model folder") == (command != ["ls"]), (
                command, done.stderr)
            assert "secret" not in done.stdout
        assert "myard-alice" in done.stderr and "mode 0o3770" in done.stderr
        assert "public" in run_as(mallory, [*my, "ls"], check=True).stdout
        assert "secret" in run_as(alice, [*my, "ls"], check=True).stdout
    finally:
        shutil.rmtree(shared, ignore_errors=True)
