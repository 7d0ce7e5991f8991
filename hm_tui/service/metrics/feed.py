"""`ConnectionWatch`: how often a feed's connection was lost, for the metrics endpoint.

The feed judges its own health (`feed.health()`: seconds since the last message, stalled or not)
and counts the takeovers of its MQTT session, but keeps no count of lost connections. A small
thread reads the feed's state a few times a second and counts them. With `drain`, it also
empties the feed's buffer: a headless exporter shows no points, and an undrained buffer would
count them as dropped.
"""

from __future__ import annotations

import threading
from typing import Any

SAMPLE_S = 0.25
DRAIN_MAX = 100_000
#: The states a lost connection goes to (a stop the program asked for is not a loss).
DOWN = ("connecting", "retrying", "taken over")
#: The states in which the connection is up (an unresponsive broker has not closed it yet).
UP = ("connected", "unresponsive")


class ConnectionWatch:
    """Reads `feed.state` every `interval` seconds in a daemon thread until `stop()`."""

    def __init__(self, feed: Any, *, interval: float = SAMPLE_S, drain: bool = False) -> None:
        self._feed = feed
        self._interval = interval
        self._drain = drain
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._status: str | None = None
        self._disconnects = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hm-feed-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(2.0)

    @property
    def disconnects(self) -> int:
        """Connections lost after they were up (taken over by another client included)."""
        with self._lock:
            return self._disconnects

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.sample()
            self._stopping.wait(self._interval)

    def sample(self) -> None:
        """One reading of the feed's state (the thread's; tests call it directly)."""
        state = self._feed.state
        with self._lock:
            up, down = self._status in UP, state.status in DOWN
            failed = state.status == "stopped" and bool(state.last_error)
            self._disconnects += int(up and (down or failed))
            self._status = state.status
        if self._drain:
            self._feed.drain(DRAIN_MAX)
