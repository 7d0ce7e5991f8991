"""Coalescing for UI work that can be asked for faster than it is worth doing.

`Throttle.request()` runs the callback at once if it has not run for `interval` seconds (an
isolated keystroke or roster change costs no latency), otherwise once at the end of the interval
(a burst costs one run, and the callback reads the latest state: the latest query wins).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Throttle:
    """At most one `callback()` per `interval` seconds, leading and trailing edge."""

    def __init__(self, owner: Any, interval: float, callback: Callable[[], None]) -> None:
        self._owner = owner  # a Textual DOM node: its `set_timer` runs the trailing call
        self._interval = interval
        self._callback = callback
        self._last = float("-inf")
        self._timer: Any = None

    @property
    def pending(self) -> bool:
        return self._timer is not None

    def request(self) -> None:
        if self._timer is not None:
            return  # the trailing run will see the latest state
        wait = self._last + self._interval - time.monotonic()
        if wait <= 0:
            self._run()
        else:
            self._timer = self._owner.set_timer(wait, self._run)

    def flush(self) -> None:
        """Run now if a trailing run is waiting (e.g. before reading the result)."""
        if self._timer is not None:
            self._timer.stop()
            self._run()

    def _run(self) -> None:
        self._timer = None
        self._last = time.monotonic()
        self._callback()
