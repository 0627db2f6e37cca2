"""Many hosts, one store: every host's index says what the files say, whatever the races,
the network filesystem's caches and the order in which files become visible.

Host "local" reaches the store on its own disk; hosts "net" (and "net2") through their own
sshfs mounts (FUSE, default options: attributes and directory listings cached for 20 s),
each with its own index cache and MODELYARD_HOST, each in separate processes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from multihost import RACER, Host, assert_hosts_agree
from sshfs_mount import two_hosts  # noqa: F401  (the module-scoped fixture)

pytestmark = pytest.mark.reliability
SSHFS_BOUND = 20 + 2  # sshfs's cache_timeout and one poll: the README's bound for sshfs


@pytest.fixture
def hosts(two_hosts, request, tmp_path: Path) -> list[Host]:  # noqa: F811
    """A fresh store for one test and three hosts on it: local disk, two sshfs clients."""
    served, (mnt, mnt2) = two_hosts
    name = request.node.name[:40]
    local = Host("local", served / name, tmp_path / "cache-local")
    local.cli("init")
    return [local, Host("net", mnt / name, tmp_path / "cache-net"),
            Host("net2", mnt2 / name, tmp_path / "cache-net2")]


def _finish(procs) -> list[dict]:
    lines = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"a writer died: {err[-2000:]}"
        lines += [json.loads(line) for line in out.splitlines()]
    return lines


def test_catch_up_never_moves_past_an_event_it_could_not_apply(hosts, tmp_path) -> None:
    """Writers on both sides add versions and, right after each, alias, tag and describe
    it; readers on both sides catch up in a loop meanwhile. Their indexes, caught up once
    more after the writers stop (never rebuilt), equal the files alias by alias and tag by
    tag. Today's code moved past events whose version it had not indexed yet."""
    local, net, net2 = hosts
    stop = tmp_path / "stop"
    readers = [h.python(RACER, "--reader", stop) for h in (net, local)]
    writers = [h.python(RACER, "shared", f"{h.name}-{i}", 6)
               for i in range(2) for h in (local, net2)]
    written = _finish(writers)
    stop.touch()
    _finish(readers)
    assert len(written) == 24
    expected = assert_hosts_agree([net, local, net2], tmp_path / "cache-fresh")
    (model,) = expected["models"]
    assert model["versions"] == 24
    assert sorted(model["aliases"]) == sorted({w["alias"] for w in written})
    tags = [v["tags"].get("by") for v in expected["ls"]]
    assert None not in tags and len(tags) == 24


def test_a_new_model_shows_on_a_network_host_within_the_poll_bound(hosts, tmp_path) -> None:
    """The network host lists `models/` once (caching the listing for 20 s), then another
    host creates models: they show on its next command, and in its `reindex` at once."""
    local, net, _ = hosts
    local.cli("reindex")
    for i in range(3):
        _finish([local.python(RACER, f"early-{i}", "a", 1)])
    assert len(net.json("models")) == 3  # the network host has listed models/ now
    for i in range(5):
        _finish([local.python(RACER, f"late-{i}", "a", 1)])
    net.cli("reindex")  # at once: reindex must not depend on the cached listing
    assert len(net.json("models")) == 8
    for i in range(5, 8):
        _finish([local.python(RACER, f"late-{i}", "a", 1)])
    started, seen = time.monotonic(), []
    while len(seen) < 11 and time.monotonic() - started < SSHFS_BOUND:
        seen = [m["name"] for m in net.json("models")]
        time.sleep(1)  # the poll interval of a watcher or the explorer
    assert len(seen) == 11, f"after {SSHFS_BOUND} s the network host sees {seen}"
    assert_hosts_agree([local, net], tmp_path / "cache-fresh")


def test_a_writer_on_a_network_host_indexes_its_own_version(hosts, tmp_path) -> None:
    """A writer over sshfs whose view of versions/ lags (another host just wrote) still
    finds the version it linked itself; today it died with VersionNotFound."""
    local, net, net2 = hosts
    writers = [h.python(RACER, "busy", f"{h.name}-{i}", 4) for i in range(2)
               for h in (net, net2, local)]
    assert len(_finish(writers)) == 24
    assert_hosts_agree([local, net, net2], tmp_path / "cache-fresh")


def test_a_deleted_record_is_named_by_fsck_and_its_number_never_given_again(hosts,
                                                                            tmp_path) -> None:
    local, net, _ = hosts
    _finish([local.python(RACER, "d", "a", 5)])
    local.cli("alias", "d:5", "champion")
    net.json("models")
    (local.root / "models" / "d" / "versions" / "5.json").unlink()
    fsck = local.cli("fsck", check=False)
    assert fsck.returncode == 1
    assert "d:5" in fsck.stdout + fsck.stderr and "champion" in fsck.stdout + fsck.stderr
    (added,) = _finish([net.python(RACER, "d", "b", 1)])
    assert added["ref"] == "d:6"
    fresh = Host("fresh", local.root, tmp_path / "cache-fresh")
    fresh.cli("fsck", check=False)
    (added,) = _finish([fresh.python(RACER, "d", "c", 1)])  # a host that never saw d:5
    assert added["ref"] == "d:7"
    for host in (local, net, fresh):
        host.cli("reindex")
        numbers = [v["version"] for v in host.json("ls", "--limit", "0")]
        assert sorted(numbers) == [1, 2, 3, 4, 6, 7]
        (model,) = host.json("models")
        assert "champion" not in model["aliases"]


def test_a_rebuild_through_a_cached_listing_still_finds_every_record(two_hosts) -> None:  # noqa: F811
    """sshfs lists a folder from its cache for 20 s: records written since on the server
    are missing from the listing, and a reindex or fsck that trusted it lost them (found
    by the race test above, whose fresh reindex through sshfs saw 1 version of 24)."""
    from modelyard.store.disk.layout import numbered_files

    served, (mnt, _) = two_hosts
    folder = served / "cached-listing"
    folder.mkdir()
    (folder / "1.json").write_text("{}")
    assert numbered_files(mnt / "cached-listing") == [1]  # the client caches this listing
    for n in (2, 3):
        (folder / f"{n}.json").write_text("{}")
    import os

    listed = sorted(os.listdir(mnt / "cached-listing"))
    assert numbered_files(mnt / "cached-listing") == [1, 2, 3], f"the listing said {listed}"
