"""Pacing of platform calls: when to retry (backoff with full jitter) and how fast to ask (a token
bucket for the 60-per-minute get-one limit)."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: The longest wait a server may impose (a `Retry-After`, a "retry after N s" in a body): one cap
#: for every such wait, the per-call retry's and the dashboard poller's alike, so a confused proxy
#: (or a hostile one saying ten years) cannot park anything for longer.
MAX_SERVER_WAIT_S = 60.0


def server_wait(seconds: float | None) -> float | None:
    """A wait the server asked for, as we will honour it: within 0..`MAX_SERVER_WAIT_S` (NaN
    and negative are 0, infinity the cap); None stays None (the server did not say)."""
    if seconds is None:
        return None
    if math.isnan(seconds) or seconds <= 0:
        return 0.0
    return min(seconds, MAX_SERVER_WAIT_S)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter (delay drawn from [0, min(cap, base * 2**n)]).

    A `Retry-After` from the platform wins over the drawn delay but is capped by
    `max_retry_after`, so a confused proxy cannot park a call for an hour.
    """

    attempts: int = 5  # total tries of one call, the first included
    base: float = 0.5
    cap: float = 20.0
    max_retry_after: float = MAX_SERVER_WAIT_S
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 0)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.rng.uniform(0.0, min(self.cap, self.base * (2**attempt)))


NO_RETRY = RetryPolicy(attempts=1)


class TokenBucket:
    """At most `capacity` calls at once, refilled at `rate` per second; `acquire` waits its turn.

    For the platform's 60 per minute on `GET /fleets/vehicles/{vin}` the default is a burst of 10
    refilled at 50 per minute: no 60-second window can then see more than 60 calls.
    """

    def __init__(
        self,
        rate: float = 50 / 60,
        capacity: float = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self, on_wait: Callable[[float], None] | None = None) -> None:
        """Take a token, waiting for one if needed (`on_wait(seconds)` is told first)."""
        async with self._lock:  # waiters are served in arrival order
            self._refill()
            while self._tokens < 1:
                delay = (1 - self._tokens) / self.rate
                if on_wait is not None:
                    on_wait(delay)
                await asyncio.sleep(delay)
                self._refill()
            self._tokens -= 1
