"""Fixtures of the reliability suite (tests/reliability): real processes, real crashes and
real faults on fresh stores. Run it alone with `python -m pytest -m reliability`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # reliability_kit, next to these tests
