"""What a Hugging Face Trainer left behind: trainer_state.json, its settings and its curves.

A training output folder may hold a trainer_state.json at the top and one in each
`checkpoint-<step>/`; the one that got furthest is used. Its `log_history` becomes full
metric curves (every numeric field of every entry, keyed by step), and its step settings
become the version's `params.trainer`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from modelyard.store.errors import InvalidManifest
from modelyard.store.ingest.huggingface.metadata import as_float, json_object

MAX_STATE_BYTES = 64 * 1024 * 1024  # log_history grows with the run: larger than a config
_TRAINER_KEYS = ("global_step", "max_steps", "num_train_epochs", "train_batch_size",
                 "logging_steps", "eval_steps", "save_steps")
_CHECKPOINT = re.compile(r"checkpoint-(\d+)$")


def trainer_state(folder: Path) -> tuple[Path | None, dict[str, Any]]:
    """trainer_state.json with the highest global_step: top level or in checkpoint-*/."""
    candidates = [folder / "trainer_state.json"]
    candidates += [d / "trainer_state.json" for d in sorted(folder.iterdir())
                   if d.is_dir() and not d.is_symlink() and _CHECKPOINT.match(d.name)]
    best: tuple[tuple[int, int], Path | None, dict[str, Any]] = ((-2, -2), None, {})
    for path in candidates:
        if not path.is_file():
            continue
        state = json_object(path, limit=MAX_STATE_BYTES)
        step = state.get("global_step")
        if not isinstance(step, int):
            step = -1
        checkpoint = _CHECKPOINT.match(path.parent.name)
        rank = (step, int(checkpoint.group(1)) if checkpoint and path.parent != folder else -1)
        if rank > best[0]:
            best = (rank, path, state)
    return best[1], best[2]


def trainer_settings(state: dict[str, Any]) -> dict[str, Any]:
    """The Trainer's numeric step settings (global_step, max_steps, eval_steps…)."""
    return {k: state[k] for k in _TRAINER_KEYS if isinstance(state.get(k), (int, float))}


def trainer_series(state: dict[str, Any], where: str = "trainer_state.json") -> dict[str, Any]:
    """log_history as full curves: every numeric field of every entry, keyed by its step."""
    series: dict[str, dict[str, list]] = {}
    history = state.get("log_history") or []
    for i, entry in enumerate(history if isinstance(history, list) else []):
        if not isinstance(entry, dict) or not isinstance(entry.get("step"), int):
            continue
        if not -(2**63) <= entry["step"] < 2**63:
            raise InvalidManifest(f"{where}: log_history[{i}] has step "
                                  f"{str(entry['step'])[:30]}; a step must fit in 64 bits"
                                  )
        for key, value in entry.items():
            if key == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            curve = series.setdefault(str(key), {"steps": [], "values": []})
            curve["steps"].append(entry["step"])
            curve["values"].append(as_float(value))
    return series
