"""A separate writer process for concurrency and crash tests: `python writer_process.py
STORE MODEL COUNT TAG [--batch]` adds COUNT versions of MODEL, each with a blob and a
metric curve: one `add_version` each, or with `--batch` all in one `add_versions`."""

from __future__ import annotations

import sys

from modelyard.store import Store


def item(model: str, tag: str, i: int) -> dict:
    return {"model": model, "params": {"writer": tag, "i": i},
            "files": {"weights.bin": f"{tag}-{i}".encode() * 100},
            "metric_series": {"loss": [1.0 / (k + 1) for k in range(50)]},
            "tags": {"writer": tag}}


def main() -> None:
    root, model, count, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    store = Store.open(root)
    items = [item(model, tag, i) for i in range(count)]
    if "--batch" in sys.argv[5:]:
        store.add_versions(items)
    else:
        for fields in items:
            store.add_version(fields.pop("model"), **fields)
    store.close()


if __name__ == "__main__":
    main()
