"""Import, while the user reads the table, what opening a version needs: the card's panes
(plotext), polars for curves and the policy engine for verdicts. Together they cost ~0.3 s
on the first card otherwise; the CLI and the first frame never pay for them."""

from __future__ import annotations


def warm_up() -> None:
    """Run in a worker thread once the table shows; importing twice is free."""
    import polars  # noqa: F401

    import modelyard.store.policy.service  # noqa: F401
    import modelyard.store.series  # noqa: F401

    from .screens import version_card  # noqa: F401
