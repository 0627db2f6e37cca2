"""The top-level `modelyard` package (installed from store/toplevel/ by pyproject.toml).

It holds only the entry points training code uses:

    import modelyard
    with modelyard.new_version("resnet", store="/shared/models") as v:
        v.log_metric("loss", 0.3, step=1)

Every `modelyard.store` or `modelyard.app` import passes through this package first, so it
imports nothing itself: the SDK loads on first use (the CLI's `ls` must start fast).
"""

from __future__ import annotations

from typing import Any

__all__ = ["NewVersion", "new_version"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from modelyard.store.sdk import api as sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'modelyard' has no attribute {name!r}")
