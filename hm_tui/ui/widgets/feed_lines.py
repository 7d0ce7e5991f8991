"""One line of the live feed per data point, laid out for the panel's width.

`received-time VIN capability.property age value`: the value comes last, being the one part of any
length (doors.locks lists every door; what the width cuts off of it is in the payload view). The
age is the data's age now (it ticks: the panel re-formats the visible lines every second), or
"queued" for a point the broker delivered from the persistent session's backlog. A narrow panel
keeps the VIN, the property, the age and the start of the value: it leaves out the received
time first, then shortens the capability, then the property.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hm_tui.service.feed.health import FeedHealth
from hm_tui.service.models import DataPoint
from hm_tui.ui.format import format_point, safe_text
from hm_tui.ui.widgets.roster_columns import compact_age

VIN_W = 17
KEY_W = 28  # capability.property, at full width
KEY_MIN = 12  # never narrower: the property stays readable
AGE_W = 7  # "no time", "queued", "42s", "2h05m"
TIME_W = 8  # HH:MM:SS, the moment it arrived
VALUE_ROOM = 20  # value cells worth more than the received time (80 columns: 23 with it gone)
VALUE_MIN = 12  # the value's cells kept before the capability.property is shortened
FULL_W = TIME_W + VIN_W + KEY_W + AGE_W + 4 + VALUE_ROOM
AHEAD_S = 2  # data stamped this far in our future: a clock ahead (the car's or ours)


def age_text(point: DataPoint, now: datetime) -> str:
    """How old the point's data is now; "queued" if it came from the backlog, "no time" when
    the payload carried no timestamp."""
    if point.replayed:
        return "queued"
    if point.timestamp is None:
        return "no time"
    seconds = (now - point.timestamp).total_seconds()
    if seconds < -AHEAD_S:
        return "ahead"
    return "now" if seconds < 1 else compact_age(seconds)


def fit_key(key: str, width: int) -> str:
    """`capability.property` in `width` cells, the property kept whole as long as it can be:
    "diagnost….odometer", then "odome…"."""
    if len(key) <= width:
        return key
    capability, _, prop = key.rpartition(".")
    room = width - len(prop) - 2  # "…" and "."
    if capability and room >= 1:
        return f"{capability[:room]}….{prop}"
    return prop[: width - 1] + "…" if len(prop) > width else prop


def feed_line(point: DataPoint, now: datetime | None = None, width: int = 0) -> str:
    """The point's line at `now` for a view `width` cells wide (0: any width, the full form)."""
    now = now or datetime.now(UTC)
    vin = f"{safe_text(point.vin, VIN_W):<{VIN_W}}"
    key = safe_text(point.key, 64)
    age = f"{age_text(point, now):<{AGE_W}}"
    value = format_point(point)
    if not width or width >= FULL_W:
        stamp = f"{point.received_at.astimezone(UTC):%H:%M:%S}"
        return f"{stamp} {vin} {fit_key(key, KEY_W):<{KEY_W}} {age} {value}"
    key_w = max(KEY_MIN, min(KEY_W, width - VIN_W - AGE_W - 3 - VALUE_MIN))
    return f"{vin} {fit_key(key, key_w):<{key_w}} {age} {value}"


def matches(point: DataPoint, needle: str) -> bool:
    """Filter: every word must occur in the VIN or in capability.property (case-insensitive)."""
    if not needle:
        return True
    hay = f"{point.vin} {point.capability}.{point.property}".lower()
    return all(word in hay for word in needle.split())


_MARK = {"ok": "●", "idle": "●", "warning": "▲", "error": "✖"}


def health_text(health: FeedHealth, *, age: bool = True) -> str:
    """The feed's state in a few words, the age of its last message or why it is down:
    "● connected · last 3s ago" (without `age`: "● connected"), "▲ STALLED: no data for 2m
    (stall after 45s)", "✖ not connected: cannot connect to …"."""
    mark = _MARK.get(health.level, "●")
    last = health.since_last_s
    if health.level == "warning":
        silent = compact_age(last if last is not None else health.silent_s or 0)
        window = compact_age(health.stall_after_s)
        return f"{mark} STALLED: no data for {silent} (stall after {window})"
    text = f"{mark} {safe_text(health.headline, 40)}"
    if health.level == "ok":
        return f"{text} · {last_text(health)}" if age else text
    detail = health.detail
    return f"{text}: {safe_text(detail, 100)}" if detail else text


def last_text(health: FeedHealth) -> str:
    """How old the last message is: "last 3s ago", "no data yet"."""
    last = health.since_last_s
    return "no data yet" if last is None else f"last {_ago(last)}"


def _ago(seconds: float) -> str:
    return "just now" if seconds < 1 else f"{compact_age(seconds)} ago"
