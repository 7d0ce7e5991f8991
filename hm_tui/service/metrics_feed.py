"""`FeedWatch`: what the metrics endpoint needs to know about a feed over time.

The feed counts its messages but does not say when the last one came, nor how often its
connection was lost or taken over by another client using the same certificate. A small thread
reads the feed's state a few times a second and keeps those facts (the time of the last message
is known to within one reading). With `drain`, it also empties the feed's buffer: a headless
exporter shows no points, and an undrained buffer would count them as dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SAMPLE_S = 0.25
DRAIN_MAX = 100_000
#: What a feed says when another client took its MQTT session (it names the certificate's
#: other user); a feed state with a `takeovers` count is read instead when it has one.
TAKEOVER_WORDS = "another client"


@dataclass(frozen=True, slots=True)
class FeedFacts:
    """Wall-clock times (epoch seconds) and counts, as of the last reading."""

    running_since: float | None  # first seen connecting or connected (None: never started)
    last_message_at: float | None  # None: no message seen yet
    disconnects: int  # connections lost after they were up
    takeovers: int  # of those, the ones another client using the certificate caused

    def silence_s(self, now: float) -> float | None:
        """Seconds without a message: since the last one, or since the feed started when none
        came yet; None when the feed never started."""
        since = self.last_message_at or self.running_since
        return None if since is None else max(0.0, now - since)


class FeedWatch:
    """Reads `feed.state` every `interval` seconds in a daemon thread until `stop()`."""

    def __init__(
        self,
        feed: Any,
        *,
        interval: float = SAMPLE_S,
        drain: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._feed = feed
        self._interval = interval
        self._drain = drain
        self._clock = clock
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._received: int | None = None
        self._status: str | None = None
        self._facts = FeedFacts(None, None, 0, 0)

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
    def facts(self) -> FeedFacts:
        with self._lock:
            return self._facts

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.sample()
            self._stopping.wait(self._interval)

    def sample(self) -> None:
        """One reading of the feed's state (the thread's; tests call it directly)."""
        state = self._feed.state
        now = self._clock()
        with self._lock:
            self._facts = self._next(self._facts, state, now)
            self._received, self._status = state.received, state.status
        if self._drain:
            self._feed.drain(DRAIN_MAX)

    def _next(self, facts: FeedFacts, state: Any, now: float) -> FeedFacts:
        running = facts.running_since
        if running is None and state.status in ("connecting", "connected", "retrying"):
            running = now
        last = facts.last_message_at
        if state.received > (self._received or 0):  # (messages before the first reading: now)
            last = now
        lost = self._status == "connected" and state.status in ("connecting", "retrying")
        disconnects = facts.disconnects + int(lost)
        takeovers = getattr(state, "takeovers", None)
        if not isinstance(takeovers, int):
            taken = lost and TAKEOVER_WORDS in (state.last_error or "")
            takeovers = facts.takeovers + int(taken)
        return FeedFacts(running, last, disconnects, takeovers)
