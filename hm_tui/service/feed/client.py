"""The MQTT feed: pushed vehicle data over mutual TLS into bounded buffers
(docs/architecture.md#rules-the-layers-keep).

paho's network thread only parses, de-duplicates by `message_id` (at-least-once delivery repeats
messages), appends to a bounded buffer and updates the latest value per VIN. Consumers (a UI
timer, `hm-tui feed`) `drain()` batches. A persistent session (clean session off, QoS 1) means
what arrives while we are away waits on the broker; paho reconnects with backoff by itself.

One process per MQTT session holds the connection (`feed.mqtt.MqttLink`); the other feeds on this
machine using the same certificate attach to it and get the same messages (`feed.share`,
docs/feed-sessions.md). Every feed parses and de-duplicates for itself either way.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from hm_tui.service.config.profiles import MqttSettings
from hm_tui.service.feed.buffer import LATEST_VINS, Dedup, PointBuffer
from hm_tui.service.feed.health import (
    Backlog,
    FeedHealth,
    FeedWatch,
    newest_stamp,
)
from hm_tui.service.feed.hub import Hub
from hm_tui.service.feed.mqtt import MqttLink, tls_context
from hm_tui.service.feed.mqtt import why as _why
from hm_tui.service.feed.parse import BadPayload, escape_sample, parse_message
from hm_tui.service.feed.share import HolderNews, SessionShare, share_paths
from hm_tui.service.feed.takeover import TakeoverWatch
from hm_tui.service.models import DataPoint

__all__ = ["FeedClient", "FeedState", "escape_sample", "tls_context"]
log = logging.getLogger(__name__)

#: "unresponsive": connected as far as paho knows, but the broker sent nothing, not even the
#: answer to our keep-alive ping, for BROKER_SILENT_FACTOR keep-alives (paho itself gives up
#: only after two). "taken over": another client using the same certificate (client id)
#: holds the MQTT session; the feed stays away for a while (`feed.takeover`).
FeedStatus = Literal["connecting", "connected", "unresponsive", "retrying", "taken over", "stopped"]
FEED_STATUSES = frozenset(FeedStatus.__args__)  # type: ignore[attr-defined]
BAD_SAMPLES = 5
KEEPALIVE_S = 30
BROKER_SILENT_FACTOR = 1.5
RATE_QUIET_S = 2.0  # the rate reads 0 once nothing came for this long


@dataclass(frozen=True, slots=True)
class BadSample:
    """A payload we could not use: why, where, and its start escaped (safe to print as text)."""

    at: datetime
    reason: str
    topic: str
    sample: str


@dataclass(frozen=True, slots=True)
class FeedState:
    """A snapshot of the feed's health for the status bar and `hm-tui feed`."""

    status: FeedStatus
    last_error: str | None
    received: int  # messages accepted (after de-duplication)
    duplicates: int
    bad_payloads: int
    rate: float  # accepted messages per second, recently
    points: int  # data points buffered so far
    dropped: int  # data points dropped because nobody drained the buffer in time
    topic: str
    bad_samples: tuple[BadSample, ...] = ()
    subscribed: bool = False  # the broker acknowledged our subscription on this connection
    replayed: int = 0  # messages delivered from the persistent session's queue (feed/health.py)
    takeovers: int = 0  # times another client using this certificate took the MQTT session
    #: where this feed stands in its session (docs/feed-sessions.md): "holder" (connected to
    #: the broker for the others too), "attached" (gets what `holder_pid` receives), "alone"
    #: (cannot share here: `sharing_error` says why), "" (stopped)
    role: str = ""
    holder_pid: int | None = None
    attached: int = 0  # processes attached to us, the holder
    missed: int = 0  # messages lost to us while re-attaching (the holder kept no copy)
    sharing_error: str | None = None


def feed_topic(settings: MqttSettings, environment: str, app_id: str) -> str:
    """The subscription: the profile's own, else the platform's V1 or V2 topic."""
    if settings.topic:
        return settings.topic
    base = f"{environment}/level13/{app_id}"
    return base if settings.format == "v2" else f"{base}/#"


class BufferedFeed:
    """A feed for one app as consumers read it: batches, oldest first, and the newest point per
    VIN. Subclasses fill `_kept` under `_lock` (from paho's thread, or a feed process's reader)."""

    def __init__(
        self,
        settings: MqttSettings,
        environment: str,
        app_id: str,
        buffer: int,
        latest_vins: int = LATEST_VINS,
        stall_floor: float | None = None,
    ) -> None:
        self.settings = settings
        self.topic = feed_topic(settings, environment, app_id)
        self._lock = threading.Lock()
        self._kept = PointBuffer(buffer, latest_vins)
        if stall_floor is None:  # the profile's [mqtt] stall_floor_s
            stall_floor = settings.stall_floor_s
        self._watch = FeedWatch(stall_floor)  # arrivals as this consumer sees them
        #: Called (from the feed's own thread, so it must be thread-safe and quick) after new
        #: points were buffered: a consumer may drain at once instead of at its next tick.
        self.on_data: Callable[[], None] | None = None

    def drain(self, max_items: int = 5000) -> list[DataPoint]:
        """Up to `max_items` buffered points, oldest first (thread-safe)."""
        with self._lock:
            batch = self._kept.take(max_items)
        return list(batch)

    def latest(self, vin: str) -> dict[str, DataPoint]:
        """The newest point of every property of `vin` ("capability.property" keys)."""
        with self._lock:
            return self._kept.latest(vin)

    def vins(self) -> list[str]:
        """The VINs whose newest points are kept (the LATEST_VINS heard from last), oldest
        first."""
        with self._lock:
            return self._kept.vins()

    @property
    def state(self) -> FeedState:
        raise NotImplementedError

    def health(self, now: float | None = None) -> FeedHealth:
        """The feed judged now (`now`: a `time.monotonic()` reading): connected, stalled or cut
        off, seconds since the last message, the silence that would be a stall (feed/health.py).
        Cheap: the header, the feed panel and `hm-tui feed` ask every second."""
        state = self.state
        with self._lock:
            return self._watch.health(state, time.monotonic() if now is None else now)


class FeedClient(BufferedFeed):
    """Receives pushed data for one app; `start()` returns at once, the state tells how it goes.
    It holds the MQTT session, or attaches to the process on this machine that does."""

    def __init__(
        self,
        settings: MqttSettings,
        environment: str,
        app_id: str,
        *,
        buffer: int = 50_000,
        dedup: int = 100_000,
        reconnect_delay: tuple[int, int] = (1, 30),
        latest_vins: int = LATEST_VINS,
        keepalive: int = KEEPALIVE_S,
        stall_floor: float | None = None,
        share_dir: str | None = None,
    ) -> None:
        super().__init__(settings, environment, app_id, buffer, latest_vins, stall_floor)
        self._reconnect_delay = reconnect_delay
        self._keepalive = keepalive
        self._share_dir = share_dir  # where the session's lock and socket live (None: default)
        self._backlog = Backlog()
        self._replayed = 0
        self._dedup = Dedup(dedup)
        self._bad: deque[BadSample] = deque(maxlen=BAD_SAMPLES)
        self._context: ssl.SSLContext | None = None
        self._share: SessionShare | None = None
        self._link: MqttLink | None = None
        self._hub: Hub | None = None
        self._status: FeedStatus = "stopped"
        self._subscribed = False
        self._last_error: str | None = None
        self._received = self._duplicates = self._bad_count = self._missed = 0
        self._window_start = time.monotonic()
        self._window_count = 0
        self._rate = 0.0
        self._last_tick = float("-inf")  # monotonic time of the last accepted message
        self._takeover = TakeoverWatch()
        self._news = HolderNews()  # what the holders we were attached to told us

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Hold the session or attach to its holder, in threads of their own. Unusable
        certificate files leave the feed stopped, with `last_error` saying which file and why."""
        if self._share is not None:
            return
        try:
            self._context = tls_context(self.settings)
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._set_status("stopped", f"cannot use the MQTT certificate files: {_why(exc)}")
            return
        paths, why_alone = share_paths(self.settings, self._share_dir)
        if why_alone is not None:
            log.warning("the MQTT session cannot be shared: %s", why_alone)
        self._share = SessionShare(self, paths, why_alone)
        self._set_status("connecting", None)
        self._share.start()

    def stop(self) -> None:
        """Leave the session: a holder disconnects (the broker keeps our session and queues for
        us) and hands over to a process attached to it, if any."""
        share, self._share = self._share, None
        if share is not None:
            share.stop()
        self._hub = self._news.last_holder = None
        self._set_status("stopped", self._last_error)

    def hold(self, hub: Hub | None) -> None:
        """(The election's thread) we hold the session now: connect to the broker."""
        assert self._context is not None
        self._hub = hub
        self._link = MqttLink(
            self,
            self.settings,
            self._context,
            hub=hub,
            watch=self._takeover,
            keepalive=self._keepalive,
            reconnect_delay=self._reconnect_delay,
        )
        gone = self._news.last_holder
        note = f"hm-tui process {gone}, which held the MQTT session, went away" if gone else None
        self._set_status("connecting", f"{note}: connecting in its place" if note else None)
        self._link.start()

    def let_go(self) -> None:
        """Disconnect from the broker; returns once paho's thread has ended (bounded)."""
        link, self._link = self._link, None
        if link is not None:
            link.stop()

    # --- what consumers read -------------------------------------------------------------------

    @property
    def state(self) -> FeedState:
        status, error = self._link_state()
        share = self._share
        with self._lock:
            return FeedState(
                status=status,
                last_error=error,
                received=self._received,
                duplicates=self._duplicates,
                bad_payloads=self._bad_count,
                rate=round(self._current_rate(), 1),
                points=self._kept.points,
                dropped=self._kept.dropped,
                topic=self.topic,
                bad_samples=tuple(self._bad),
                subscribed=self._subscribed and status == "connected",
                replayed=self._replayed,
                takeovers=self._takeover.takeovers + self._news.takeovers,
                role=share.role if share is not None else "",
                holder_pid=share.holder_pid if share is not None else None,
                attached=self._hub.attached if self._hub is not None else 0,
                missed=self._missed,
                sharing_error=share.why_alone if share is not None else None,
            )

    def session_state(self) -> dict[str, Any]:
        """(The holder) what the attached are told of the session, as plain values."""
        status, error = self._link_state()
        with self._lock:
            return {
                "status": status,
                "last_error": error,
                "subscribed": self._subscribed and status == "connected",
                "takeovers": self._takeover.takeovers + self._news.takeovers,
            }

    def _link_state(self) -> tuple[FeedStatus, str | None]:
        status, error = self._status, self._last_error
        if status == "connected" and self._broker_silent():
            silent = self._keepalive * BROKER_SILENT_FACTOR
            status, error = "unresponsive", f"no answer from the broker for over {silent:.0f} s"
        return status, error

    def _broker_silent(self) -> bool:
        """Nothing came from the broker (a message, an answer to our ping) for longer than
        BROKER_SILENT_FACTOR keep-alives: the connection paho holds may be dead."""
        link = self._link
        heard = link.heard_at if link is not None else None
        limit = self._keepalive * BROKER_SILENT_FACTOR
        return heard is not None and time.monotonic() - heard > limit

    def _current_rate(self) -> float:
        now = time.monotonic()
        if now - self._last_tick > RATE_QUIET_S:  # nothing lately: none per second, now
            return 0.0
        idle = now - self._window_start
        if idle > RATE_QUIET_S:  # nothing closed the window lately: the rate has fallen
            return self._window_count / idle
        return self._rate

    # --- paho's thread, or the attachment's ----------------------------------------------------

    def ingest(self, topic: str, payload: bytes | bytearray) -> None:
        """Take one message as if it came off the wire (paho calls this; tests and benches too)."""
        now = datetime.now(UTC)
        try:
            message = parse_message(payload, now, topic)
        except BadPayload as exc:
            self._count_bad(str(exc), topic, payload, now)
            return
        arrived = time.monotonic()
        with self._lock:
            backlog = self._backlog
            replayed = backlog.open and backlog.replayed(arrived, newest_stamp(message.points))
            if message.message_id is not None and not self._dedup.is_new(message.message_id):
                self._duplicates += 1
                return
            self._received += 1
            self._tick_rate()
            points = message.points
            if replayed:
                self._replayed += 1
                points = [replace(point, replayed=True) for point in points]
            self._kept.keep(points)
            self._watch.arrived(arrived)

    def take(self, topic: str, payload: bytes | bytearray) -> None:
        """`ingest`, never raising: one message must not end the feed."""
        try:
            self.ingest(topic, payload)
        except Exception as exc:  # a bug of ours, not a bad payload: logged with its traceback
            log.exception("the feed could not take a message on %r", topic)
            self._count_bad(f"unexpected error: {type(exc).__name__}", "", b"", datetime.now(UTC))

    def _tick_rate(self) -> None:
        self._window_count += 1
        now = self._last_tick = time.monotonic()
        elapsed = now - self._window_start
        if elapsed >= 1.0:
            self._rate = self._window_count / elapsed
            self._window_start, self._window_count = now, 0

    def _count_bad(
        self, reason: str, topic: str, payload: bytes | bytearray, now: datetime
    ) -> None:
        sample = BadSample(now, reason, escape_sample(topic, 80), escape_sample(payload))
        with self._lock:
            self._bad_count += 1
            self._bad.append(sample)

    # --- what the connection (MqttLink) and the holder (SessionShare) report ---------------------

    def link_status(self, status: FeedStatus, error: str | None) -> None:
        self._set_status(status, error)

    def link_connected(self, session_present: bool, wall: datetime | None = None) -> None:
        with self._lock:
            self._backlog.connected(time.monotonic(), wall or datetime.now(UTC), session_present)

    def link_subscribed(self) -> None:
        with self._lock:
            self._subscribed = True
        if self._hub is not None:
            self._hub.poke(state=True)

    def on_holder(self, kind: str, fields: list[Any]) -> None:
        """(The attachment's thread) news from or about the process holding the session."""
        try:
            self._on_holder(kind, fields)
        except (ValueError, TypeError, IndexError) as exc:  # an odd frame: noted, not fatal
            log.warning("the feed's holder sent an unreadable %r: %s", kind, exc)

    def _on_holder(self, kind: str, fields: list[Any]) -> None:
        if kind == "s" and fields and isinstance(fields[0], dict):
            self._adopt(fields[0])
        elif kind == "c" and len(fields) == 2:
            self.link_connected(bool(fields[1]), datetime.fromisoformat(str(fields[0])))
        elif kind == "a":
            self._news.attached(int(fields[0]))
            if fields[1]:
                with self._lock:
                    self._missed += int(fields[1])
                log.warning("%d messages missed while attaching to the feed", fields[1])
        elif kind == "r":
            self._set_status("retrying", f"cannot attach to the MQTT session: {fields[0]}")
        elif kind == "x":
            gone = f"hm-tui process {fields[0]}, which held the MQTT session, went away"
            self._set_status("connecting", f"{gone}: reconnecting")

    def _adopt(self, holder: dict[str, Any]) -> None:
        """The holder's state as ours: its connection is ours."""
        status = holder.get("status")
        error = holder.get("last_error")
        self._set_status(
            status if status in FEED_STATUSES else "connecting",  # type: ignore[arg-type]
            escape_sample(error, 300) if isinstance(error, str) else None,
        )
        with self._lock:
            self._news.heard(int(holder.get("takeovers") or 0))
            self._subscribed = bool(holder.get("subscribed"))

    def _set_status(self, status: FeedStatus, error: str | None) -> None:
        with self._lock:
            self._status = status
            self._last_error = error
            if status != "connected":
                self._subscribed = False
            self._watch.status(status, time.monotonic())
        if self._hub is not None:
            self._hub.poke(state=True)
