"""Small builders shared by tests (imported as a module next to them)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from hypothesis.database import DirectoryBasedExampleDatabase

HOSTILE_DESCRIPTION = ("ESC \x1b[31mred\x1b[0m, OSC 52 \x1b]52;c;ZXZpbA==\x07, C1 \x9b2J, "
                       "bidi \u202eevil\u202c, markup [bold]x[/bold] [@click=app.quit]q[/] "
                       "[link=file:///etc/passwd]l[/link] [0] [/")
MARKUP_MODEL = "resnet[/bold]"
# Where hypothesis keeps the examples that failed in this checkout (git-ignored) and replays
# them first on the next run, so a bug it found does not pass by chance the run after.
FUZZ_EXAMPLES = DirectoryBasedExampleDatabase(Path(__file__).resolve().parent.parent
                                              / ".hypothesis" / "examples")


def write_manifest_folder(folder: Path, **fields) -> Path:
    """A drop-like folder with a weights file, a source file and a modelyard.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(_tiny_safetensors())
    (folder / "train.py").write_text("import math\nprint(math.pi)\n")
    manifest = {
        "model": "resnet",
        "description": "a test model",
        "tags": {"team": "vision"},
        "training": {"user": "alice", "host": "gpu-1", "started_at": "2026-01-01T10:00:00Z",
                     "ended_at": "2026-01-01T12:30:00Z", "status": "finished"},
        "params": {"lr": 0.01, "epochs": 3, "optimizer": {"name": "adam", "beta1": 0.9}},
        "features": ["age", {"name": "income", "type": "float"}],
        "datasets": [{"role": "train", "name": "imagenet-mini", "uri": "s3://data/train",
                      "digest": "sha256:" + "a" * 64, "rows": 1000},
                     {"role": "test", "name": "imagenet-mini-test", "uri": "s3://data/test",
                      "digest": "sha256:" + "b" * 64}],
        "parents": [{"ref": "resnet-base:1", "relation": "fine-tuned-from"}],
        "metrics": {"acc": 0.91},
        "metric_series": {"loss": [[0, 1.0], [1, 0.5], [2, 0.25]],
                          "acc": {"steps": [0, 1, 2], "values": [0.5, 0.8, 0.91]}},
        "charts": {"roc": {"fpr": [0, 0.1, 1], "tpr": [0, 0.8, 1], "auc": 0.9},
                   "pr": {"precision": [1, 0.9, 0.5], "recall": [0, 0.5, 1]},
                   "confusion_matrix": {"labels": ["cat", "dog"], "matrix": [[5, 1], [2, 7]]},
                   "feature_importance": {"age": 0.7, "income": 0.3},
                   "feature_stats": {"age": {"mean": 40.1, "std": 9.0, "min": 18, "max": 90}}},
        "summary": {"param_count": 24, "train_rows": 1000},
        "files": ["model.safetensors"],
        "source": {"files": ["train.py"], "entrypoint": "train.py",
                   "git": {"commit": "0123456789abcdef", "branch": "main",
                           "remote": "git@example.com:ml/resnet.git"},
                   "diff": "--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-x\n+y\n"},
        "serving": {"framework": "pytorch", "framework_version": "2.3",
                    "signature": {"inputs": [{"name": "image", "type": "tensor",
                                              "shape": [-1, 3, 224, 224]}],
                                  "outputs": [{"name": "logits", "type": "tensor"}]},
                    "resources": {"cpu": "2", "memory": "4Gi", "gpu": 1}},
    }
    manifest.update(fields)
    (folder / "modelyard.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True))
    return folder


def _tiny_safetensors() -> bytes:
    import json
    import struct

    header = {"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
              "__metadata__": {"format": "pt"}}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + bytes(24)


def run_cli(args: list[str], env: dict[str, str], *, stdin: str | None = None):
    return subprocess.run([sys.executable, "-m", "modelyard.app.cli.main", *args],
                          capture_output=True, env=env, input=stdin.encode() if stdin else None,
                          timeout=120)


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    """`check()`'s first truthy value, polled every 50 ms; fails naming `what` after
    `timeout` seconds. Tests wait on conditions, never on fixed sleeps."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
