"""How values look on screen: units, ages ("3m ago"), durations, and inert untrusted text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hm_tui.domain import values
from hm_tui.domain.durations import compact
from hm_tui.service.models import DataPoint
from hm_tui.service.redact import masked
from hm_tui.ui.text import shown


def safe_text(text: object, limit: int | None = None) -> str:
    """Untrusted text made inert and redacted (`shown`), one line.

    The result is still a plain string: render it with markup off (Content / Text).
    """
    return shown(text, limit)


def safe_multiline(text: str, limit: int | None = None) -> str:
    """Like safe_text, but keeps newlines (for pretty-printed JSON and multi-line messages)."""
    return shown(text, limit, multiline=True)


def format_value(
    value: Any, unit: str | None = None, *, capability: str = "", prop: str = ""
) -> str:
    """A data point's value as the domain writes it ("85 %", "12 000 km"), made inert (and
    any secret in it masked before the domain formats or cuts it)."""
    return safe_text(values.format_value(masked(value), unit, capability=capability, prop=prop))


def format_point(point: DataPoint) -> str:
    """The value of a DataPoint, or its failure."""
    if point.failure:
        return "failed: " + safe_text(point.failure, 60)
    return format_value(point.value, point.unit, capability=point.capability, prop=point.property)


def format_duration(seconds: float) -> str:
    """A duration in the one form of the dashboard and the CLI: "42s", "3m", "2h05m", "4d03h"
    (domain/durations.py)."""
    return compact(seconds)


def format_age(when: datetime | None, now: datetime | None = None) -> str:
    """How long ago: "3m ago", "just now"; "unknown time" without a timestamp."""
    if when is None:
        return "unknown time"
    delta = (now or datetime.now(UTC)) - when
    if delta < timedelta(seconds=-5):
        return "in the future (clock skew?)"
    if delta < timedelta(seconds=2):
        return "just now"
    return f"{format_duration(delta.total_seconds())} ago"


def format_time(when: datetime | None) -> str:
    """A UTC timestamp for timelines: 2024-05-01 12:03:04Z."""
    if when is None:
        return "????-??-?? ??:??:??"
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def pretty_json(data: Any) -> str:
    """Indented JSON with untrusted strings made inert (json escapes controls; this keeps it so)."""
    return safe_multiline(
        json.dumps(data, indent=2, ensure_ascii=False, default=str, sort_keys=False)
    )


def point_as_dict(point: DataPoint) -> dict[str, Any]:
    """A DataPoint as JSON-able data, for the payload view and copying."""
    return {
        "vin": point.vin,
        "capability": point.capability,
        "property": point.property,
        "data": point.value,
        "unit": point.unit,
        "timestamp": point.timestamp.isoformat() if point.timestamp else None,
        "failure": point.failure,
        "message_id": point.message_id,
        "received_at": point.received_at.isoformat(),
        "replayed": point.replayed,  # from the persistent session's backlog, not live
    }


#: Colour of each status (always shown with the status text, never colour alone).
STATUS_STYLE: dict[str, str] = {
    "pending": "bold $warning",
    "approved": "bold $success",
    "rejected": "bold $error",
    "revoking": "bold $accent",
    "canceling": "bold $accent",
    "revoked": "$text-muted",
    "canceled": "$text-muted",
    "error": "bold $error",
}


def status_style(status: str) -> str:
    """The style for a status; unknown statuses are shown verbatim, underlined."""
    return STATUS_STYLE.get(status, "underline")
