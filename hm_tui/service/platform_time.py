"""The platform's "now", as well as we can tell it: what time-in-state and ages count against.

Clearance and data timestamps are written by the platform's clock. Ours may differ from it, and
an emulator running at `--speed` has a virtual clock far ahead of ours: counting against our
clock then shows "revoked for 0s" for hours. Two clues give the platform's time: the newest
timestamp it has written (a lower bound) and the `Date` header of its answers (its clock, to the
second). The dashboard (Session) and the headless commands both ask `platform_now`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

#: How far a platform timestamp may lie ahead of the platform's clock as we know it (its `Date`
#: header is whole seconds; clocks drift): beyond it, the timestamp is from the future.
CLOCK_TOLERANCE_S = 120.0


class _Stamped(Protocol):
    @property
    def since(self) -> datetime | None: ...


def platform_now(*seen: datetime | None, wall: datetime | None = None) -> datetime:
    """Our clock, or the newest platform time in `seen` when that is ahead of it."""
    now = wall or datetime.now(UTC)
    return max([now, *(_utc(when) for when in seen if when is not None)])


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
        self._seen, self._at = _utc(when), self._monotonic()

    def now(self) -> datetime | None:
        """The platform's time now by its last `Date` header; None before any answer."""
        if self._seen is None:
            return None
        return self._seen + timedelta(seconds=self._monotonic() - self._at)
