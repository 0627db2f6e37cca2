"""A separate writer process for concurrency and crash tests: `python writer_process.py
STORE MODEL COUNT TAG` adds COUNT versions of MODEL, each with a blob and a metric curve."""

from __future__ import annotations

import sys

from modelyard.store import Store


def main() -> None:
    root, model, count, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    store = Store.open(root)
    for i in range(count):
        store.add_version(model, params={"writer": tag, "i": i},
                          files={"weights.bin": f"{tag}-{i}".encode() * 100},
                          metric_series={"loss": [1.0 / (k + 1) for k in range(50)]},
                          tags={"writer": tag})
    store.close()


if __name__ == "__main__":
    main()
