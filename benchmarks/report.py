"""Rows of results, the readable table, the markdown table and the last-line JSON summary."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Target:
    """A budget line of docs/decisions.md#budgets: `value <= limit` (or `>=` when `at_least`)."""

    limit: float
    at_least: bool = False

    def met(self, value: float | None) -> bool | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return value >= self.limit if self.at_least else value <= self.limit

    def label(self, unit: str) -> str:
        return f"{'≥' if self.at_least else '≤'} {_number(self.limit)} {unit}".strip()


@dataclass(slots=True)
class Row:
    """One measured value (or a reason it could not be measured)."""

    section: str
    measure: str
    value: float | None
    unit: str = ""
    target: Target | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        return self.target.met(self.value) if self.target else None


@dataclass(slots=True)
class SectionResult:
    """What one benchmark section hands back: rows for the table, keys for the JSON line, and
    the raw measurements (written with --details)."""

    rows: list[Row] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def extend(self, other: SectionResult) -> None:
        self.rows.extend(other.rows)
        self.summary.update(other.summary)
        self.details.update(other.details)


def unavailable(section: str, measure: str, reason: str) -> Row:
    """A row saying why a measure has no value (a missing part, a failed child)."""
    return Row(section, measure, None, note=f"not available: {_one_line(reason)}")


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 100):
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"


def _verdict(row: Row) -> str:
    return {True: "ok", False: "MISSED", None: ""}[row.met]


def _cells(row: Row) -> list[str]:
    value = _number(row.value) + (f" {row.unit}" if row.value is not None and row.unit else "")
    target = row.target.label(row.unit) if row.target else ""
    return [row.section, row.measure, value, target, _verdict(row), row.note]


HEADER = ["section", "measure", "value", "target", "", "note"]


def format_table(rows: Sequence[Row]) -> str:
    """A fixed-width table for the terminal."""
    table = [HEADER, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER) - 1)]
    out = []
    for line in table:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(line[:-1])]
        out.append("  ".join([*cells, line[-1]]).rstrip())
    out.insert(1, "-" * min(120, max(len(line) for line in out)))
    return "\n".join(out)


def format_markdown(rows: Iterable[Row]) -> str:
    """The same table as GitHub markdown (for RESULTS.md)."""
    lines = ["| " + " | ".join(h or "met" for h in HEADER) + " |", "|---" * len(HEADER) + "|"]
    for row in rows:
        cells = [cell.replace("|", "\\|") for cell in _cells(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


SUMMARY_KEYS = (
    "roster_first_frame_s",
    "roster_filter_p95_ms",
    "roster_sort_ms",
    "roster_refresh_ms",
    "dialog_open_p95_ms",
    "max_stall_ms",
    "rss_mb",
    "feed_msgs_per_s",
    "feed_lag_p99_ms",
    "feed_vs_mosquitto_sub",
    "feed_vs_bare_paho",
    "feed_vs_mqttjs",
    "startup_demo_s",
    "datatable_vs_roster_load",
    "cli_vs_curl_jq",
    "cli_rss_vs_curl_jq",
    "roster_1m_first_frame_s",
    "roster_1m_filter_p95_ms",
    "rss_1m_mb",
)


def summary_line(summary: dict[str, Any]) -> str:
    """The last line: one JSON object; the required keys always present (null when not measured)."""
    ordered = {key: _rounded(summary.get(key)) for key in SUMMARY_KEYS}
    ordered.update({k: _rounded(v) for k, v in summary.items() if k not in ordered})
    return json.dumps(ordered, separators=(", ", ": "))


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 3)
    return value
