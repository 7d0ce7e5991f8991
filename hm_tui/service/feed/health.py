"""What a feed can truthfully say about itself: live, stalled, or cut off. Pure: no IO, no clock
of its own (every method takes `now`), so each rule is tested with a fake clock.

Three things are judged here, for every consumer alike (the dashboard's header and feed panel,
`hm-tui feed`, the metrics):

- **The stall.** A stream is stalled when nothing arrived for longer than its own cadence: the
  95th percentile of its recent gaps between arrivals, times STALL_FACTOR, never less than a floor
  (a fast stream's gaps are milliseconds; a pause of a few seconds is not news). Until MIN_GAPS
  gaps are known the cadence is unknown and a stall takes STALL_LEARNING_FACTOR floors. Silence is
  counted from the last arrival or from the moment the current connection came up, whichever is
  later: a feed that just reconnected has not been silent for the length of the outage. A gap that
  spans a lost connection teaches nothing about the cadence and is not kept.
- **The backlog** (`Backlog`): which messages the broker delivered from our persistent session's
  queue at a (re)connect rather than live. The rule is written out on the class.
- **The level** of the whole (`judge`): ok, warning (stalled), error (no connection, or a broker
  that stopped answering), idle (off, starting: nothing to alarm about yet).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from hm_tui.service.feed.client import FeedState
    from hm_tui.service.models import DataPoint

Level = Literal["ok", "warning", "error", "idle"]

STALL_FLOOR_S = 30.0  # the least silence called a stall, however fast the stream
STALL_FACTOR = 4.0  # times the usual longest gap (its 95th percentile)
STALL_PERCENTILE = 0.95
STALL_LEARNING_FACTOR = 4.0  # floors of silence for a stall while the cadence is unknown
STALL_CEILING_S = 3600.0  # a stream that speaks once an hour is called stalled after an hour
MIN_GAPS = 5  # gaps needed before the cadence counts as learned
GAPS_KEPT = 256  # the recent gaps the cadence is learned from

BACKLOG_GAP_S = 2.0  # a pause this long after a (re)connect: the broker's queue is drained
BACKLOG_SKEW_S = 1.0  # data stamped this close to the connect may have been queued or live

#: The connection states a feed reports (FeedState.status). "unresponsive": paho still holds the
#: connection, but the broker sent nothing (not even an answer to our keep-alive ping) for
#: longer than the keep-alive allows.
CONNECTED = ("connected", "unresponsive")


def stall_after(gaps: Sequence[float], floor: float = STALL_FLOOR_S) -> float:
    """Seconds of silence that make a stall for a stream whose recent gaps are `gaps`."""
    if len(gaps) < MIN_GAPS:
        return floor * STALL_LEARNING_FACTOR
    ordered = sorted(gaps)
    high = ordered[max(0, math.ceil(STALL_PERCENTILE * len(ordered)) - 1)]
    return max(floor, min(STALL_CEILING_S, high * STALL_FACTOR))


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """A feed's health at one moment, for every consumer (UI, CLI, metrics).

    `since_last_s`: seconds since the last message arrived (None: none yet); `silent_s`: seconds
    of silence on the current connection (what a stall is judged on); `stall_after_s`: the
    silence that counts as a stall for this stream now; `learned`: the cadence is learned from
    the stream (else `stall_after_s` is the cautious default). `state` has the counters (rate in
    messages/s, duplicates, bad payloads, replayed).
    """

    level: Level
    headline: str  # a few words: "connected", "stalled", "not connected", ...
    stalled: bool
    since_last_s: float | None
    silent_s: float | None
    stall_after_s: float
    learned: bool
    state: FeedState

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def detail(self) -> str | None:
        """Why the level is what it is, when the headline does not say it all (the error)."""
        return self.state.last_error if self.level in ("error", "idle") else None


class FeedWatch:
    """Arrivals and connection changes of one feed as its consumer sees them, on the
    consumer's monotonic clock. Not locked: its owner calls it under its own lock."""

    def __init__(self, floor: float = STALL_FLOOR_S) -> None:
        self.floor = floor
        self._gaps: deque[float] = deque(maxlen=GAPS_KEPT)
        self._threshold: float | None = None  # stall_after(gaps), until the next gap
        self._last: float | None = None  # monotonic time of the last arrival
        self._live_since: float | None = None  # when the current connection came up
        self._broken = False  # the connection was lost since the last arrival
        self._status = "stopped"

    def status(self, status: str, now: float) -> None:
        """The feed reported `status` (calling again with the same one changes nothing)."""
        if status == self._status:
            return
        if status in CONNECTED:
            if self._status not in CONNECTED:
                self._live_since = now
        else:
            self._broken = True
            self._live_since = None
        self._status = status

    def arrived(self, now: float) -> None:
        """Messages arrived at `now` (a batch counts once: its gap is the one before it)."""
        if self._last is not None and not self._broken and now >= self._last:
            self._gaps.append(now - self._last)
            self._threshold = None
        self._broken = False
        self._last = now

    def stall_after(self) -> float:
        if self._threshold is None:
            self._threshold = stall_after(self._gaps, self.floor)
        return self._threshold

    def health(self, state: FeedState, now: float) -> FeedHealth:
        """Judge `state` (the feed's last report) against the arrivals seen so far."""
        self.status(state.status, now)
        since_last = None if self._last is None else max(0.0, now - self._last)
        starts = [t for t in (self._last, self._live_since) if t is not None]
        silent = max(0.0, now - max(starts)) if starts and self._live_since is not None else None
        threshold = self.stall_after()
        stalled = (
            state.status == "connected"
            and self._last is not None
            and silent is not None
            and silent > threshold
        )
        level, headline = judge(state.status, bool(state.last_error), stalled)
        return FeedHealth(
            level=level,
            headline=headline,
            stalled=stalled,
            since_last_s=since_last,
            silent_s=silent,
            stall_after_s=threshold,
            learned=len(self._gaps) >= MIN_GAPS,
            state=state,
        )


def judge(status: str, has_error: bool, stalled: bool) -> tuple[Level, str]:
    """(level, headline) of a feed in `status`, stalled or not."""
    if status == "connected":
        return ("warning", "stalled") if stalled else ("ok", "connected")
    if status == "unresponsive":
        return "error", "no answer from the broker"
    if status == "retrying":
        return "error", "not connected"  # lost, or never made: the error says which
    if status == "taken over":  # another client using the certificate holds the session
        return "error", "taken over"
    if status == "stopped":
        return ("error", "stopped") if has_error else ("idle", "stopped")
    return "idle", status  # connecting: nothing is known yet


class Backlog:
    """Tells the messages the broker delivers from our persistent session's queue ("replayed")
    from live ones. MQTT 3.1.1 marks neither, so this is the rule:

    After a CONNACK saying the broker kept our session (session present), the broker sends what
    it queued for us first, in order, back to back. Every message from then on counts as
    replayed until the backlog ends, at the first of:
    - a message whose newest data timestamp is at or after the connect (less BACKLOG_SKEW_S):
      its data was measured after we connected, so it was not queued, and nothing after it was;
    - a pause of BACKLOG_GAP_S with nothing received (counted from the CONNACK for the first
      message): the queue is drained.
    Without a kept session (a first connect, or a broker that lost the session) nothing is
    replayed. The rule errs in one direction only when clocks disagree: a queued message whose
    data is stamped ahead of our clock ends the backlog early, and what follows reads as live;
    a live message carrying data measured before we connected, arriving inside the burst, reads
    as replayed (its data is that old either way).
    """

    def __init__(self) -> None:
        self._open = False
        self._last = 0.0  # monotonic time of the CONNACK, then of the last replayed message
        self._since: datetime | None = None  # the connect moment less the skew, on the wall

    @property
    def open(self) -> bool:
        """Messages may still be replayed (checked first: the rest costs a look at stamps)."""
        return self._open

    def connected(self, now: float, wall: datetime, session_present: bool) -> None:
        self._open = session_present
        self._last = now
        self._since = wall - timedelta(seconds=BACKLOG_SKEW_S)

    def replayed(self, now: float, stamp: datetime | None) -> bool:
        """Whether the message arriving at `now`, newest data at `stamp`, is from the queue."""
        if not self._open:
            return False
        since = self._since
        if now - self._last >= BACKLOG_GAP_S or (
            stamp is not None and since is not None and stamp >= since
        ):
            self._open = False
            return False
        self._last = now
        return True


def newest_stamp(points: list[DataPoint]) -> datetime | None:
    """The newest data timestamp among a message's points (None: none has one)."""
    stamps = [point.timestamp for point in points if point.timestamp is not None]
    return max(stamps) if stamps else None
