"""Export the shown roster as CSV (the same columns as `hm-tui vins export`), formula-safe."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hm_tui.ui.text import inert

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """Inert text that a spreadsheet will not run as a formula."""
    text = inert("" if value is None else value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_clearances_csv(path: Path, clearances: Sequence[Any]) -> None:
    """vin, brand, status, since, reason and one `tag:<key>` column per tag key seen."""
    keys = sorted({key for c in clearances for key in c.tags})
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["vin", "brand", "status", "since", "reason", *(f"tag:{k}" for k in keys)])
        for c in clearances:
            since = c.since.isoformat() if c.since else ""
            writer.writerow(
                [
                    cell(v)
                    for v in (
                        c.vin,
                        c.brand,
                        c.status,
                        since,
                        c.reason,
                        *(c.tags.get(k, "") for k in keys),
                    )
                ]
            )
