"""`ConnectionWatch`: what the metrics endpoint needs to know about a feed's connection over time.

The feed judges its own health (`feed.health()`: seconds since the last message, stalled or not)
but keeps no count of how often its connection was lost, nor of how often another client using
the same certificate took its MQTT session over. A small thread reads the feed's state a few
times a second and counts those changes. With `drain`, it also empties the feed's buffer: a
headless exporter shows no points, and an undrained buffer would count them as dropped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

SAMPLE_S = 0.25
DRAIN_MAX = 100_000
#: What a feed says when another client took its MQTT session (it names the certificate's
#: other user); a feed state with a `takeovers` count is read instead when it has one.
TAKEOVER_WORDS = "another client"
#: The states in which the connection is up (an unresponsive broker has not closed it yet).
UP = ("connected", "unresponsive")


@dataclass(frozen=True, slots=True)
class ConnectionFacts:
    disconnects: int  # connections lost after they were up
    takeovers: int  # of those, the ones another client using the certificate caused


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
        self._facts = ConnectionFacts(0, 0)

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
    def facts(self) -> ConnectionFacts:
        with self._lock:
            return self._facts

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.sample()
            self._stopping.wait(self._interval)

    def sample(self) -> None:
        """One reading of the feed's state (the thread's; tests call it directly)."""
        state = self._feed.state
        with self._lock:
            self._facts = self._next(self._facts, state)
            self._status = state.status
        if self._drain:
            self._feed.drain(DRAIN_MAX)

    def _next(self, facts: ConnectionFacts, state: Any) -> ConnectionFacts:
        down = state.status in ("connecting", "retrying")
        lost = self._status in UP and (
            down or (state.status == "stopped" and bool(state.last_error))
        )
        disconnects = facts.disconnects + int(lost)
        takeovers = getattr(state, "takeovers", None)
        if not isinstance(takeovers, int):
            taken = lost and TAKEOVER_WORDS in (state.last_error or "")
            takeovers = facts.takeovers + int(taken)
        return ConnectionFacts(disconnects, takeovers)
