"""A real sshfs mount for tests: an sshd of the test's own on a loopback port serving a
temporary folder, mounted through sshfs (a FUSE network filesystem), as a second host sees
a shared store.

Use it by importing the fixture into a test module:

    from sshfs_mount import sshfs_mount  # noqa: F401  (pytest finds the fixture by name)

`sshfs_mount` is module-scoped and yields (the folder on the 'server', the same folder
through the mount). It skips with the reason when root, /dev/fuse, sshfs or sshd is missing
(`apt-get install -y openssh-server sshfs`). The sshd gets a fresh host key and authorized
key; teardown unmounts and stops it. `missing()`, `mount_sshfs()` and `sshfs_mounts()`
serve callers that need mounts outside a fixture (several hosts' mounts, other options).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from reliability_kit import wait_for

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def missing() -> str | None:
    """Why sshfs tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root to run sshd and mount FUSE"
    if not Path("/dev/fuse").exists():
        return "no /dev/fuse on this machine"
    for tool in ("sshfs", "ssh-keygen", "fusermount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install -y openssh-server sshfs)"
    if not os.access(SSHD, os.X_OK):
        return "sshd is not installed (apt-get install -y openssh-server sshfs)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class MountFailed(Exception):
    """sshd or sshfs would not start here; the message says why (tests skip with it)."""


@contextmanager
def mount_sshfs(base: Path, options: tuple[str, ...] = ()) -> Iterator[tuple[Path, Path]]:
    """Serve `base/served` from a fresh sshd and mount it at `base/mnt` with sshfs (extra
    `-o` options in `options`); yields (served, mount); unmounts and stops sshd after."""
    with sshfs_mounts(base, 1, options) as (served, mounts):
        yield served, mounts[0]


@contextmanager
def sshfs_mounts(base: Path, count: int,
                 options: tuple[str, ...] = ()) -> Iterator[tuple[Path, list[Path]]]:
    """Like `mount_sshfs` with `count` separate mounts of one served folder (`base/mnt`,
    `base/mnt2`, ...): each is its own client with its own caches, as separate hosts are."""
    keys, served = base / "keys", base / "served"
    mounts = [base / ("mnt" if i == 0 else f"mnt{i + 1}") for i in range(count)]
    for folder in (keys, served, *mounts):
        folder.mkdir(exist_ok=True)
    for name in ("host", "user"):
        if not (keys / name).exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keys / name],
                           check=True)
    shutil.copy(keys / "user.pub", keys / "authorized_keys")
    port = _free_port()
    (keys / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "StrictModes no\nUsePAM no\nSubsystem sftp internal-sftp\n")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(keys / "sshd_config")],
                            stderr=subprocess.PIPE)
    done: list[Path] = []
    try:
        wait_for(lambda: _listening(port) or sshd.poll() is not None, 10, "sshd to listen")
        if sshd.poll() is not None:
            raise MountFailed(f"sshd would not start here: {sshd.stderr.read().decode()[-300:]}")
        extra = "".join(f",{o}" for o in options)
        for mount in mounts:
            mounted = subprocess.run(
                ["sshfs", "-p", str(port), "-o", f"IdentityFile={keys / 'user'},BatchMode=yes,"
                 f"StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null{extra}",
                 f"root@127.0.0.1:{served}", str(mount)], capture_output=True, timeout=30)
            if mounted.returncode != 0:
                raise MountFailed(f"sshfs would not mount here: "
                                  f"{mounted.stderr.decode().strip()}")
            done.append(mount)
        yield served, mounts
    finally:
        for mount in done:
            if subprocess.run(["fusermount", "-u", str(mount)]).returncode != 0:
                subprocess.run(["fusermount", "-u", "-z", str(mount)])
        sshd.send_signal(signal.SIGTERM)
        sshd.wait(10)


@pytest.fixture(scope="module")
def sshfs_mount(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the folder on the 'server', the same folder through the sshfs mount)."""
    reason = missing()
    if reason:
        pytest.skip(f"sshfs tests skipped: {reason}")
    try:
        with mount_sshfs(tmp_path_factory.mktemp("sshfs")) as pair:
            yield pair
    except MountFailed as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Path]]]:
    """(served folder, [two sshfs mounts of it]): two clients with their own caches, as two
    hosts are. Through one mount the kernel knows every name the other writers made and
    answers EEXIST itself; across mounts the sftp server answers, with EPERM."""
    reason = missing()
    if reason:
        pytest.skip(f"sshfs tests skipped: {reason}")
    try:
        with sshfs_mounts(tmp_path_factory.mktemp("sshfs2"), 2) as pair:
            yield pair
    except MountFailed as exc:
        pytest.skip(str(exc))
