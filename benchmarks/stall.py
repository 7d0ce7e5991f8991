"""Event-loop stall probe: a task that sleeps 5 ms and records how late it wakes up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(slots=True)
class Window:
    """A measured stretch of time; `max_stall_ms` is filled in when the window closes."""

    started: float
    ended: float = 0.0
    max_stall_ms: float = 0.0


class StallProbe:
    """Runs in the loop it measures; `window()` reports the longest lateness while it was open."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self._samples: list[tuple[float, float]] = []  # (woke at, lateness) in loop time
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="stall-probe")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(self.interval)
            woke = loop.time()
            self._samples.append((woke, max(0.0, woke - asked - self.interval)))

    @property
    def samples(self) -> int:
        """How many wake-ups the probe has recorded (0 until it has run once)."""
        return len(self._samples)

    def max_stall_ms(self, started: float, ended: float) -> float:
        """Longest lateness of any sleep that overlapped [started, ended] (loop time)."""
        worst = 0.0
        for woke, late in self._samples:
            if woke >= started and woke - late - self.interval <= ended:
                worst = max(worst, late)
        return worst * 1000

    @contextlib.asynccontextmanager
    async def window(self) -> AsyncIterator[Window]:
        """Measure the stalls while the block runs (the probe gets one wake-up after it)."""
        loop = asyncio.get_running_loop()
        measured = Window(started=loop.time())
        try:
            yield measured
        finally:
            measured.ended = loop.time()
            await asyncio.sleep(self.interval * 2)  # let a stall that just ended be recorded
            measured.max_stall_ms = self.max_stall_ms(measured.started, measured.ended)

    @property
    def overall_max_ms(self) -> float:
        return max((late for _, late in self._samples), default=0.0) * 1000
