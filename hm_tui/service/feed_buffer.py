"""What a feed keeps for its consumers: a bounded buffer of points and the newest point per VIN.

Shared by the in-process `FeedClient` and the parent side of `ProcessFeed`, so both drop and
count overflow the same way (design.md §2: every buffer is bounded, consumers drain in batches).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection

from hm_tui.service.models import DataPoint


class PointBuffer:
    """Oldest-first points up to `size` (the oldest go first, counted in `dropped`) and the
    newest point of every VIN and property. Not locked: its owner holds its own lock around every
    call, so that counters kept beside it change together with it."""

    def __init__(self, size: int) -> None:
        self._buffer: deque[DataPoint] = deque()
        self._size = size
        self._latest: dict[str, dict[str, DataPoint]] = {}
        self.points = 0  # kept so far
        self.dropped = 0  # pushed out because nobody drained in time

    def keep(self, points: list[DataPoint]) -> None:
        overflow = len(self._buffer) + len(points) - self._size
        if overflow > 0:
            for _ in range(min(overflow, len(self._buffer))):
                self._buffer.popleft()
            self.dropped += overflow
        self._buffer.extend(points[-self._size:])
        self.points += len(points)
        latest = self._latest
        for point in points:
            by_key = latest.get(point.vin)
            if by_key is None:
                by_key = latest[point.vin] = {}
            by_key[point.key] = point

    def take(self, max_items: int) -> Collection[DataPoint]:
        """Up to `max_items` points, oldest first; O(1) when the whole buffer fits."""
        if len(self._buffer) > max_items:
            popleft = self._buffer.popleft
            return [popleft() for _ in range(max_items)]
        batch, self._buffer = self._buffer, deque()
        return batch

    def latest(self, vin: str) -> dict[str, DataPoint]:
        return dict(self._latest.get(vin, {}))

    def vins(self) -> list[str]:
        return list(self._latest)

