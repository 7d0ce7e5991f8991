"""Telling a takeover of our MQTT session from an ordinary lost connection (docs/feed-sessions.md).

A broker lets one connection hold a client id's session: a new connection with the same id (on
the platform the certificate id) takes the session and the broker closes the old connection. With
MQTT 3.1.1 it says nothing first, it just closes. So one close by the broker right after a
successful connection could be a takeover or a broker restarting; a second close soon after we
connected again is a fight over the session: another client using this certificate reconnects
as we do. From then on we stay away for a while (doubling, capped) instead of fighting back,
and say so. Pure logic, no IO: the feed's paho thread calls it with a monotonic clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: A close by the broker within this long of the previous one (or of connecting again while we
#: stay away) is a fight over the session; a connection that lasts this long ends the fight.
FIGHT_WINDOW_S = 30.0
HOLD_OFF_MIN_S = 5.0
HOLD_OFF_MAX_S = 300.0

SUSPECTED = (
    "the broker closed the connection: another client using this certificate may have taken "
    "the MQTT session (or the broker restarted)"
)
TAKEN = "another client using this certificate took the MQTT session"

Kind = Literal["lost", "suspected", "taken"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a lost connection was: `lost` (a network error, a timeout: reconnect as usual),
    `suspected` (the broker closed it once: reconnect as usual, say why it may be), or `taken`
    (another client holds the session: stay away `hold_off_s` seconds)."""

    kind: Kind
    hold_off_s: float = 0.0


class TakeoverWatch:
    """Follows one feed's connections: `connected()` at each successful CONNACK, `dropped()`
    when a connection we did not close ends. `takeovers` counts the takeovers recognised."""

    def __init__(self) -> None:
        self.takeovers = 0
        self._level = 0  # takeovers in a row: the hold-off doubles with each
        self._connected_at: float | None = None
        self._last_close: float | None = None  # the broker's previous close

    def connected(self, now: float) -> None:
        self._connected_at = now

    def dropped(self, now: float, closed_by_broker: bool) -> Verdict:
        """Classify the end of the current connection (`closed_by_broker`: it read an orderly
        end of stream, not an error)."""
        connected_at, self._connected_at = self._connected_at, None
        if connected_at is None or not closed_by_broker:
            return Verdict("lost")
        lasted = now - connected_at
        if lasted >= FIGHT_WINDOW_S:
            self._level = 0  # we held the session a good while: any fight was over
        previous, self._last_close = self._last_close, now
        fighting = self._level > 0 and lasted < FIGHT_WINDOW_S
        if fighting or (previous is not None and now - previous <= FIGHT_WINDOW_S):
            self._level += 1
            self.takeovers += 1
            hold = min(HOLD_OFF_MIN_S * 2 ** (self._level - 1), HOLD_OFF_MAX_S)
            return Verdict("taken", hold)
        return Verdict("suspected")
