"""The platform's "now", as well as we can tell it: what time-in-state and ages count against.

Clearance and data timestamps are written by the platform's clock. Ours may differ from it, and
an emulator running at `--speed` has a virtual clock far ahead of ours: counting against our
clock then shows "revoked for 0s" for hours. Two clues give the platform's time: the `Date`
header of its answers (its clock, to the second) and the newest timestamp it has written (a
lower bound). One clearance dated in the future (2030) must not move that clock for every other
one, so a timestamp more than `CLOCK_TOLERANCE_S` ahead of the `Date` header (or of our clock,
before any answer) is no clue: that item's age is unknown instead (`elapsed_s`). The dashboard
(Session) and the headless commands both ask `platform_now`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

from hm_tui.domain.timestamps import EARLIEST_YEAR, LATEST_YEAR

#: How far a platform timestamp may lie ahead of the platform's clock as we know it (its `Date`
#: header is whole seconds; clocks drift): beyond it, the timestamp is from the future.
CLOCK_TOLERANCE_S = 120.0


class _Stamped(Protocol):
    @property
    def since(self) -> datetime | None: ...


def platform_now(
    *seen: datetime | None, server: datetime | None = None, wall: datetime | None = None
) -> datetime:
    """The platform's time: its `server` clock (by its `Date` header) or ours, whichever is
    later, moved on to the newest time in `seen` that is not from the future."""
    now = wall or datetime.now(UTC)
    if server is not None:
        now = max(now, _utc(server))
    limit = now + timedelta(seconds=CLOCK_TOLERANCE_S)
    return max([now, *(_utc(when) for when in seen if when is not None and _utc(when) <= limit)])


def elapsed_s(since: datetime | None, now: datetime) -> float | None:
    """Seconds from `since` to `now`; None when unknown: no `since`, or one further in the future
    than clocks disagree (a small lead reads as 0)."""
    if since is None:
        return None
    seconds = (now - since).total_seconds()
    return None if seconds < -CLOCK_TOLERANCE_S else max(0.0, seconds)


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def newest_change(clearances: Iterable[_Stamped]) -> datetime | None:
    """The newest status change among `clearances`: a lower bound of the platform's clock."""
    return max((c.since for c in clearances if c.since is not None), default=None)


class ServerClock:
    """The platform's clock as the `Date` header of its latest answer showed it (whole seconds),
    moved on by our monotonic clock since that answer arrived."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._seen: datetime | None = None
        self._at = 0.0

    def observe(self, header: str | None) -> None:
        """Note an answer's `Date` header; a missing or unreadable one is ignored."""
        if not header:
            return
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        if not EARLIEST_YEAR <= when.year <= LATEST_YEAR:  # (its sums would overflow)
            return
        self._seen, self._at = _utc(when), self._monotonic()

    def now(self) -> datetime | None:
        """The platform's time now by its last `Date` header; None before any answer."""
        if self._seen is None:
            return None
        return self._seen + timedelta(seconds=self._monotonic() - self._at)
