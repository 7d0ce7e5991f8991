"""Timestamps from outside (clearance changelogs, data points), read one item at a time.

A timestamp is read, or it is unknown (None): never an exception, and never one that a later
step cannot handle. ISO-8601 allows years 1-9999 with any offset, but `9999-12-31T23:59:59-01:00`
is year 10000 in UTC and `0001-01-01T00:00:00+01:00` is year 0: converting, comparing across
offsets or taking `.timestamp()` of such a value raises `OverflowError` / `ValueError`, and one
such item used to blank the whole roster. Years outside `EARLIEST_YEAR`..`LATEST_YEAR` are
therefore unknown, for that item only.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST_YEAR = 1970  # nothing the platform stamps is older than the Unix epoch
LATEST_YEAR = 2999  # far enough for any real date, far from datetime's year 9999 edge


def parse_time(value: object) -> datetime | None:
    """ISO-8601/RFC 3339 text to an aware datetime (no offset means UTC); None for missing,
    unreadable or out-of-range input."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # (reads "Z", offsets and fractions)
    except ValueError:
        return None
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def epoch_seconds(value: object) -> float | None:
    """`parse_time(value)` as seconds since the epoch (None where it gives None)."""
    parsed = parse_time(value)
    return None if parsed is None else parsed.timestamp()
