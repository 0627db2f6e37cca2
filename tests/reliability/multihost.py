"""Several hosts on one store, for the multi-host tests: each `Host` is a view of the store
(the folder itself, or the same folder through its own sshfs mount) with its own index
cache and its own `MODELYARD_HOST`, and runs modelyard in separate processes, as separate
machines would.

    host = Host("gpu-2", mount / "store", tmp_path / "cache-gpu-2")
    host.cli("alias", "m:3", "champion")
    host.state()        # what this host's index says, without catching up from scratch

`assert_hosts_agree` checks the invariant every multi-host test ends with: each host's
`ls --json` and `models --json` equal each other's and a fresh `reindex`'s, and `fsck
--read-data` is clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
RACER = HERE / "multihost_racer.py"


@dataclass
class Host:
    name: str
    root: Path  # the store as this host reaches it
    cache: Path  # this host's own index cache

    def env(self) -> dict[str, str]:
        return {**os.environ, "MODELYARD_HOST": self.name, "MODELYARD_CACHE_DIR": str(self.cache),
                "MODELYARD_STORE": str(self.root), "PYTHONPATH": str(HERE)}

    def python(self, script: Path, *args: object) -> subprocess.Popen:
        """Start `script` (a racer) on this host."""
        return subprocess.Popen([sys.executable, str(script), *map(str, args)], env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "modelyard.app.cli.main", *args],
                              env=self.env(), capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            raise AssertionError(f"{self.name}: modelyard {' '.join(args)} failed "
                                 f"({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def json(self, *args: str) -> object:
        return json.loads(self.cli(*args, "--json").stdout)

    def state(self) -> dict[str, object]:
        """Versions (with tags, aliases, descriptions, deprecation) and models, as this
        host's index says after its ordinary catch-up."""
        return {"ls": _comparable(self.json("ls", "--limit", "0")),
                "models": self.json("models")}


def _comparable(rows: object) -> object:
    """`ls --json` rows without what differs between hosts by design (none today; a hook
    for fields such as the path of the index)."""
    return rows


def fresh_view(host: Host, cache: Path) -> Host:
    """The same host with an empty cache: its index is rebuilt from the files alone."""
    return Host(host.name + "-fresh", host.root, cache)


def _differs(host: Host, what: str, seen: dict, expected: dict) -> str:
    ours = {json.dumps(r, sort_keys=True) for r in seen[what]}
    truth = {json.dumps(r, sort_keys=True) for r in expected[what]}
    return (f"{host.name}: `{what}` differs from the files.\nonly here: "
            f"{sorted(ours - truth)[:3]}\nonly in the files: {sorted(truth - ours)[:3]}")


def assert_hosts_agree(hosts: list[Host], fresh_cache: Path) -> dict[str, object]:
    """Every host's index equals every other's and a rebuild from the files; fsck clean."""
    truth = fresh_view(hosts[0], fresh_cache)
    truth.cli("reindex")
    expected = truth.state()
    for host in hosts:
        seen = host.state()
        assert seen["models"] == expected["models"], _differs(host, "models", seen, expected)
        assert seen["ls"] == expected["ls"], _differs(host, "ls", seen, expected)
        host.cli("reindex")
        assert host.state() == expected, f"{host.name}: reindex differs from a fresh index"
    fsck = truth.cli("fsck", "--read-data", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    return expected
