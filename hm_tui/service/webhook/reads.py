"""What a webhook delivery may do: ask for one VIN to be read again from the platform.

A delivery's signature covers its body only, so a captured delivery can be sent again, with a new
delivery id, as often as anyone likes. Its content is therefore never applied: it only names a VIN
whose clearance is then read from the platform (one `GET /fleets/vehicles/{vin}`), and the roster
shows what the platform holds. The reads are coalesced and rate-limited per VIN, and the VINs
waiting are bounded, so a flood of replays costs at most two reads per VIN per `min_interval`
(one at once, one after: a change that happened after a read started is still seen) and never
more than `max_waiting` VINs' worth of memory; the poller stays the safety net.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("hm_tui.webhook")

MIN_INTERVAL_S = 10.0  # one read per VIN at most this often (the platform bills every call)
MAX_WAITING = 1000  # VINs remembered (a read due, under way or recent); more: left to polling
CONCURRENT = 4  # reads under way at once, all VINs together

Read = Callable[[str], Awaitable[None]]


@dataclass(slots=True)
class _Vin:
    last: float | None = None  # monotonic: when its last read started
    task: asyncio.Task[None] | None = None  # a read under way or waiting for its slot
    again: bool = False  # asked for while `task` ran: one more read after it


@dataclass(slots=True)
class ReadStats:
    asked: int = 0  # deliveries that named a VIN
    reads: int = 0  # reads started
    coalesced: int = 0  # asks folded into a read already due or under way
    dropped: int = 0  # asks refused: too many VINs waiting
    failed: int = 0  # reads that raised


class VinReads:
    """`ask(vin)`: read that VIN again soon; `read(vin)` does the reading (and the applying)."""

    def __init__(
        self,
        read: Read,
        *,
        min_interval: float = MIN_INTERVAL_S,
        max_waiting: int = MAX_WAITING,
        concurrent: int = CONCURRENT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read, self._clock = read, clock
        self.min_interval, self.max_waiting = min_interval, max_waiting
        self._slots = asyncio.Semaphore(max(concurrent, 1))
        self._vins: dict[str, _Vin] = {}
        self.stats = ReadStats()

    def ask(self, vin: str) -> None:
        """Read `vin` again: now, or once `min_interval` has passed since its last read; folded
        into a read already due or under way (one more after it, at most)."""
        self.stats.asked += 1
        state = self._vins.get(vin)
        if state is not None and state.task is not None and not state.task.done():
            self.stats.coalesced += 1
            state.again = True
            return
        if state is None:
            if len(self._vins) >= self.max_waiting:
                self._forget_idle()
            if len(self._vins) >= self.max_waiting:
                self.stats.dropped += 1
                log.warning("webhook: too many VINs waiting for a read; one left to polling")
                return
            state = self._vins[vin] = _Vin()
        state.task = asyncio.ensure_future(self._run(vin, state))

    @property
    def known(self) -> int:
        """VINs remembered: a read due or under way, or one done less than min_interval ago."""
        return len(self._vins)

    async def _run(self, vin: str, state: _Vin) -> None:
        while True:
            if state.last is not None:
                wait = state.last + self.min_interval - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            state.again = False
            async with self._slots:
                state.last = self._clock()
                self.stats.reads += 1
                try:
                    await self._read(vin)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the poller will catch up: one log line, no traceback up
                    self.stats.failed += 1
                    log.warning("webhook: reading %s again failed", vin, exc_info=True)
            if not state.again:
                break
        self._forget_idle()

    def _forget_idle(self) -> None:
        """Drop VINs whose last read is older than `min_interval` and that wait for nothing:
        the table stays as small as the recent deliveries."""
        now = self._clock()
        for vin, state in list(self._vins.items()):
            idle = state.task is None or state.task.done()
            if idle and (state.last is None or now - state.last >= self.min_interval):
                del self._vins[vin]

    async def stop(self) -> None:
        """Cancel every read due or under way (the session is stopping)."""
        tasks = [s.task for s in self._vins.values() if s.task is not None and not s.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._vins.clear()
