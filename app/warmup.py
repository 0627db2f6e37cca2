"""Import, once the user pauses, what opening a version needs: the card's panes (plotext),
polars for curves and the policy engine for verdicts. Together they cost ~0.3 s on the
first card otherwise; the CLI and the first frame never pay for them, and keys pressed
meanwhile do not wait for them (imports hold the interpreter).

Then the objects of a started app (Textual, polars, the modules) are moved out of the
garbage collector's sight (`gc.freeze`): a full collection of them took ~60 ms, landing on
whatever key the user pressed next; frozen, later collections scan only new objects."""

from __future__ import annotations

import gc
import sys

# The main thread handles keys while workers fetch rows; a shorter switch interval gives
# it the interpreter back within a millisecond instead of five.
SWITCH_INTERVAL_S = 0.001
IDLE_S = 1.5  # no key for this long: the user is reading, not typing


def warm_up() -> None:
    """Run in a worker thread once the table shows; importing twice is free."""
    import polars  # noqa: F401

    import modelyard.store.policy.service  # noqa: F401
    import modelyard.store.series.frames  # noqa: F401
    from modelyard.app.screens import version_card  # noqa: F401

    gc.freeze()


def tune_interpreter() -> None:
    sys.setswitchinterval(SWITCH_INTERVAL_S)
