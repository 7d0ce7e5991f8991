"""What a feed keeps for its consumers: a bounded buffer of points and the newest point per VIN.

Shared by the in-process `FeedClient` and the parent side of `ProcessFeed`, so both drop and
count overflow the same way (every buffer is bounded, consumers drain in batches:
docs/architecture.md#rules-the-layers-keep).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Collection

from hm_tui.service.models import DataPoint

#: VINs whose newest points are kept: the ones heard from most recently (~10 points and ~6 KB
#: each). Unbounded, the emulator's 100,000-car fleet added ~1,300 VINs (~8 MB) a minute, on the
#: way to hundreds of MB (docs/decisions.md#budgets allows 250 MB in all); the detail screen of a
#: car not among them offers `v` (pull) instead.
LATEST_VINS = 2_000
LATEST_KEYS = 256  # properties kept per VIN: a car reports a few dozen; the payload is untrusted


class PointBuffer:
    """Oldest-first points up to `size` (the oldest go first, counted in `dropped`) and the
    newest point of every property of the `latest_vins` VINs heard from last (0: none kept). Not
    locked: its owner holds its own lock around every call, so that counters kept beside it
    change together with it."""

    def __init__(self, size: int, latest_vins: int = LATEST_VINS) -> None:
        self._buffer: deque[DataPoint] = deque()
        self._size = size
        self._latest: OrderedDict[str, dict[str, DataPoint]] = OrderedDict()
        self._latest_vins = latest_vins
        self.points = 0  # kept so far
        self.dropped = 0  # pushed out because nobody drained in time

    def keep(self, points: list[DataPoint]) -> None:
        overflow = len(self._buffer) + len(points) - self._size
        if overflow > 0:
            for _ in range(min(overflow, len(self._buffer))):
                self._buffer.popleft()
            self.dropped += overflow
        self._buffer.extend(points[-self._size :])
        self.points += len(points)
        if self._latest_vins:
            self._keep_latest(points)

    def _keep_latest(self, points: list[DataPoint]) -> None:
        latest = self._latest
        vin: str | None = None
        by_key: dict[str, DataPoint] = {}
        for point in points:  # a message's points share a VIN: one lookup per message
            if point.vin != vin:
                vin = point.vin
                found = latest.get(vin)
                if found is None:
                    found = latest[vin] = {}
                else:
                    latest.move_to_end(vin)
                by_key = found
            if len(by_key) < LATEST_KEYS or point.key in by_key:
                by_key[point.key] = point
        while len(latest) > self._latest_vins:
            latest.popitem(last=False)

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


class Dedup:
    """The last `size` message ids, in arrival order; O(1) per message."""

    def __init__(self, size: int) -> None:
        self._order: deque[str] = deque()
        self._seen: set[str] = set()
        self._size = size

    def is_new(self, message_id: str) -> bool:
        if message_id in self._seen:
            return False
        self._seen.add(message_id)
        self._order.append(message_id)
        if len(self._order) > self._size:
            self._seen.discard(self._order.popleft())
        return True
