"""The command line in a real pipeline whose reader stops early (`modelyard ls | head -1`):
quiet, and the exit status a shell gives a writer whose pipe closed (141, 128 + SIGPIPE)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run_cli, write_manifest_folder

PIPE_CLOSED = 141


@pytest.fixture
def env(cli_env: dict) -> dict:
    # As in a user's shell: buffered output. (Unbuffered, Python drops the rest of a write
    # that a closing pipe cut short, without an error, and the command would exit 0.)
    return {k: v for k, v in cli_env.items() if k != "PYTHONUNBUFFERED"}


@pytest.fixture
def store(tmp_path: Path, env: dict) -> Path:
    store = tmp_path / "store"
    assert run_cli(["--store", str(store), "init"], env).returncode == 0
    # A description of 95,000 characters (the limit is 100,000): `ls --json` prints more
    # than a pipe holds (64 KiB) plus what `head` reads before it exits, so the pipe surely
    # breaks while the command is still writing, whatever the timing.
    folder = write_manifest_folder(tmp_path / "drop", description="long " * 19_000)
    assert run_cli(["--store", str(store), "add", str(folder)], env).returncode == 0
    return store


def _modelyard(store: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "modelyard.app.cli.main", "--store",
                             str(store), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _finish(writer: subprocess.Popen) -> tuple[int, bytes]:
    err = writer.stderr.read()
    writer.stderr.close()
    return writer.wait(timeout=120), err


def test_head_stops_reading_while_ls_writes(store: Path, env: dict) -> None:
    writer = _modelyard(store, env, "ls", "--json")
    head = subprocess.Popen(["head", "-1"], stdin=writer.stdout, stdout=subprocess.PIPE)
    writer.stdout.close()  # only `head` holds the read end now
    first, _ = head.communicate(timeout=120)
    status, err = _finish(writer)
    assert first == b"[\n"
    assert (status, err) == (PIPE_CLOSED, b"")


@pytest.mark.parametrize("args", [["ls"], ["--help"]], ids=["ls", "help"])
def test_reader_gone_before_the_first_write(store: Path, env: dict, args: list[str]) -> None:
    """Short output sits in the buffer until the command ends: the pipe breaks there."""
    writer = _modelyard(store, env, *args)
    writer.stdout.close()  # nobody reads
    assert _finish(writer) == (PIPE_CLOSED, b"")
