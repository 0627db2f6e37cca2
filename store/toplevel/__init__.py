"""The top-level `modelyard` package (installed from store/toplevel/ by pyproject.toml).

It holds only the entry points training code uses, so that `import modelyard` is cheap:

    import modelyard
    with modelyard.new_version("resnet", store="/shared/models") as v:
        v.log_metric("loss", 0.3, step=1)
"""

from modelyard.store.sdk import NewVersion, new_version

__all__ = ["NewVersion", "new_version"]
