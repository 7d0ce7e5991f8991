"""The emulator's virtual clock: `speed` virtual seconds pass per real second, and tests jump ahead.

Clearance activations take hours or days on the real platform; the virtual clock lets a demo show
them in seconds and a test reach them instantly (`POST /_emulator/clock {"advance_seconds": n}`).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime


class VirtualClock:
    """Virtual Unix time: starts at the real wall clock, runs `speed` times faster, can jump."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        self.speed = max(0.0, float(speed))
        self._start_virtual = time.time() if start is None else start
        self._start_real = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        """Virtual Unix seconds."""
        elapsed = time.monotonic() - self._start_real
        return self._start_virtual + elapsed * self.speed + self._offset

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> float:
        """Jump ahead (never back: the changelog must stay ordered); returns the new now."""
        self._offset += max(0.0, float(seconds))
        return self.now()


def iso(ts: float) -> str:
    """Unix seconds as the platform's ISO-8601 UTC timestamp (milliseconds, truncated, `Z`)."""
    seconds = math.floor(ts)
    day, second = divmod(seconds, 86400)
    date = _DATES.get(day) or _date(day)
    minute, second = divmod(second, 60)
    hour, minute = divmod(minute, 60)
    return f"{date}T{hour:02d}:{minute:02d}:{second:02d}.{wire_ms(ts) % 1000:03d}Z"


_DATES: dict[int, str] = {}  # days since the epoch -> "YYYY-MM-DD" (a fleet spans a few hundred)


def _date(day: int) -> str:
    text = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
    if len(_DATES) < 100_000:
        _DATES[day] = text
    return text


def wire_ms(ts: float) -> int:
    """Unix milliseconds exactly as `iso` shows them."""
    return math.floor(ts * 1000 + 1e-6)


def to_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
