"""`watch --once` says which drops it left and why (issue 11 defect 9): a folder copied in
just before the pass is named with its age and when it will be ready, in text and in the
pass's JSON report."""

from __future__ import annotations

import re
from pathlib import Path

from modelyard.store import Store
from modelyard.store.ingest.watcher import run_watch

from helpers import run_cli, write_manifest_folder


def test_watch_once_prints_each_drop_it_left(tmp_path: Path, cli_env: dict[str, str]) -> None:
    root = tmp_path / "store"
    Store.init(root).close()
    write_manifest_folder(root / "drops" / "resnet", model="resnet")
    done = write_manifest_folder(root / "drops" / "marked", model="marked")
    (done / "COMPLETE").write_text("")
    out = run_cli(["--store", str(root), "watch", "--once", "--quiet", "30"], cli_env)
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr.decode()
    assert "ingested marked as marked:1" in text
    match = re.search(r"^waiting: resnet \(changed (\d+\.\d) s ago; ready after 30 s "
                      r"unchanged, or add COMPLETE\)$", text, re.M)
    assert match, text
    assert 0 <= float(match.group(1)) < 30
    assert "Traceback" not in out.stderr.decode()
    assert (root / "drops" / "resnet").is_dir()


def test_the_once_report_lists_waiting_drops_beside_the_results(tmp_path: Path) -> None:
    root = tmp_path / "store"
    Store.init(root).close()
    write_manifest_folder(root / "drops" / "fresh", model="fresh")
    done = write_manifest_folder(root / "drops" / "marked", model="marked")
    (done / "COMPLETE").write_text("")
    bad = root / "drops" / "bad"
    bad.mkdir()
    (bad / "COMPLETE").write_text("")
    reports: list[dict] = []
    lines: list[str] = []
    assert run_watch(root, once=True, quiet_seconds=30, log=lines.append,
                     report=reports.append) == 0
    [report] = reports
    assert report["ingested"] == [{"drop": "marked", "refs": ["marked:1"]}]
    [rejected] = report["rejected"]
    assert rejected["drop"] == "bad" and "not a recognised drop" in rejected["reason"]
    assert report["skipped"] == []
    [waiting] = report["waiting"]
    assert waiting["drop"] == "fresh"
    assert 0 < waiting["ready_in_seconds"] <= 30
    assert "ready after 30 s unchanged, or add COMPLETE" in waiting["reason"]
    assert any(line.startswith("waiting: fresh (changed ") for line in lines)
