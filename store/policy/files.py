"""The policy's history on disk: `<store>/policies/<n>.yaml`, one write-once file per change.

A change is claimed like a version number: the finished file is `link()`ed to the next free
number, so two people setting a policy at once get two numbers and the higher one is the
policy in force. Each file carries its number, when it was set and by whom (user, host).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import replace
from pathlib import Path

from modelyard.store.disk import atomic
from modelyard.store.disk.identity import stamp
from modelyard.store.disk.layout import utc_now
from modelyard.store.policy.errors import PolicyError
from modelyard.store.policy.loader import MAX_POLICY_BYTES, dump_policy, parse_policy_text
from modelyard.store.policy.model import Policy
from modelyard.store.policy.trust import Origin

FOLDER = "policies"
_NAME = re.compile(r"^([0-9]{1,9})\.yaml$")


def policies_dir(root: Path) -> Path:
    return Path(root) / FOLDER


def policy_numbers(root: Path) -> list[int]:
    """Every policy version written, oldest first (temp files are skipped)."""
    try:
        names = os.listdir(policies_dir(root))
    except FileNotFoundError:
        return []
    return sorted(int(m.group(1)) for m in map(_NAME.match, names) if m)


def policy_path(root: Path, number: int) -> Path:
    return policies_dir(root) / f"{number}.yaml"


def read_policy(root: Path, number: int) -> Policy:
    """A stored policy version, with the real owner of the file it was read from (`fstat`
    of the descriptor read, so a file swapped meanwhile cannot lend its owner); a damaged
    file is reported with its path."""
    path = policy_path(root, number)
    try:
        text, origin = _read(path)
        policy = parse_policy_text(text, path.name)
    except PolicyError as exc:
        raise PolicyError(f"the stored policy {path} is damaged ({exc}); set a new policy "
                          "with `modelyard policy set FILE`") from None
    if policy.number != number:
        raise PolicyError(f"{path} claims to be policy {policy.number}; set a new policy")
    return replace(policy, origin=origin)


def _read(path: Path) -> tuple[str, Origin]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        why = "it is a symbolic link" if exc.errno == 40 else exc.strerror
        raise PolicyError(f"cannot read {path}: {why}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PolicyError(f"{path} is not a regular file")
        if st.st_size > MAX_POLICY_BYTES:
            raise PolicyError(f"{path} is {st.st_size:,} bytes; a policy is limited to "
                              f"{MAX_POLICY_BYTES:,}")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_POLICY_BYTES + 1)
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace"), Origin(str(path), st.st_uid, st.st_mode)


def write_policy(root: Path, policy: Policy) -> Policy:
    """Write `policy` as the next version, stamped with who, where and when."""
    folder = policies_dir(root)
    atomic.ensure_dir(folder, sticky=True)  # write-once: only a file's owner may delete it
    existing = policy_numbers(root)
    number = (existing[-1] if existing else 0) + 1
    who = stamp()
    while True:
        stamped = replace(policy, number=number, set_at=utc_now(),
                          set_by={"user": who["user"], "host": who["host"]})
        body = dump_policy(stamped).encode()
        if atomic.write_exclusive(policy_path(root, number), body, stage="policy"):
            return replace(stamped, origin=Origin.of(policy_path(root, number)))
        number += 1
