"""The benchmark harness lives in the repository's `benchmarks/` (not in the wheel): make it
importable when hm-tui is installed normally (CI installs `.[test]`, not in editable mode)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[2])
if REPO not in sys.path:
    sys.path.insert(0, REPO)
