"""RESULTS.md: the generated tables between markers, and whatever a person wrote after them
(the analysis of targets not met) kept as it is across runs."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from .machine import load_now
from .measure import Result, Stats, markdown_table, verdict

END = "<!-- results:end (everything below is written by hand and kept across runs) -->"


def _headline(results: list[Result]) -> str:
    targets = [r for r in results if r.target]
    met = sum(1 for r in targets if r.met)
    lines = [f"{met} of {len(targets)} targets met.", "",
             "| target | versions | measured | baseline (same run) | met |",
             "|---|---|---|---|---|"]
    for r in targets:
        s = r.stats
        measured = "-" if s is None else f"{s.median:,.4g} {r.unit} (max {s.max:,.4g})"
        ratio = "" if r.ratio is None else f"{r.ratio:,.3g}x {r.baseline}"
        size = "" if r.size is None else f"{r.size:,}"
        mark = "**NOT MET**" if r.met is False else verdict(r.met)
        lines.append(f"| {r.group}: {r.name} ({r.target}) | {size} | {measured} | {ratio} | "
                     f"{mark} |")
    return "\n".join(lines)


def _notes(results: list[Result]) -> str:
    lines = []
    for r in results:
        if r.note:
            size = f" @ {r.size:,}" if r.size is not None else ""
            lines.append(f"- **{r.group}: {r.name}{size}**: {r.note}")
    return "\n".join(lines)


def write(path: Path, results: list[Result], *, machine: dict[str, str], command: str,
          seconds: float, skipped: list[str]) -> None:
    """RESULTS.md from `results`; `command` may name several runs, one per line."""
    kept = ""
    if path.exists():
        old = path.read_text()
        if END in old:
            kept = old.split(END, 1)[1]
    machine = {**machine, "load average at end": load_now()}
    body = [
        "# modelyard benchmarks", "",
        "Command (from the repository root), " + (
            f"{seconds / 60:.0f} minutes: `{command}`" if "\n" not in command else
            "several runs merged, the later replacing the same benchmarks:\n\n" + "\n".join(
                f"    {c}" for c in command.splitlines())), "",
        f"Date: {machine['date']}.", "",
        "Every ratio compares with a baseline measured in the same run; median, min and max "
        "are over the repeated runs (a single run shows the same number three times).", "",
        "## Machine", "",
        *[f"- {key}: {value}" for key, value in machine.items()], "",
        "## Targets", "", _headline(results), "",
        "## All results", "", markdown_table(results), "",
        "## Notes per benchmark", "", _notes(results), "",
    ]
    if skipped:
        body += ["## Not run", "", *[f"- {s}" for s in skipped], ""]
    path.write_text("\n".join(body) + "\n" + END + (kept or "\n"))


def _key(r: Result) -> tuple:
    return (r.group, r.name, r.size)


def merged(path: Path, results: list[Result], commands: list[str]) -> tuple[list[Result],
                                                                           list[str]]:
    """Results of an earlier run (kept beside RESULTS.md as JSON) with this run's replacing
    the same benchmarks at the same sizes: rerun one group, keep the others."""
    store = path.with_suffix(".json")
    if not store.exists():
        return results, commands
    old = json.loads(store.read_text())
    fresh = {_key(r): r for r in results}
    out: list[Result] = []
    for raw in old["results"]:
        stats = raw.pop("stats")
        r = Result(**raw, stats=None if stats is None else Stats(**stats))
        out.append(fresh.pop(_key(r), r))
    return out + list(fresh.values()), [*old["commands"], *commands]


def save(path: Path, results: list[Result], commands: list[str]) -> None:
    path.with_suffix(".json").write_text(json.dumps(
        {"commands": commands, "results": [asdict(r) for r in results]}, indent=1) + "\n")
