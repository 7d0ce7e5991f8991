"""The MQTT feed: pushed vehicle data over mutual TLS into bounded buffers
(docs/architecture.md#rules-the-layers-keep).

paho's network thread only parses, de-duplicates by `message_id` (at-least-once delivery repeats
messages), appends to a bounded buffer and updates the latest value per VIN. Consumers (a UI
timer, `hm-tui feed`) `drain()` batches. A persistent session (clean session off, QoS 1) means
what arrives while we are away waits on the broker; paho reconnects with backoff by itself.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import paho.mqtt.client as mqtt

from hm_tui.service.config import MqttSettings
from hm_tui.service.feed_buffer import LATEST_VINS, PointBuffer
from hm_tui.service.feed_health import (
    Backlog,
    FeedHealth,
    FeedWatch,
    newest_stamp,
)
from hm_tui.service.feed_parse import BadPayload, parse_message
from hm_tui.service.feed_takeover import SUSPECTED, TAKEN, TakeoverWatch
from hm_tui.service.models import DataPoint
from hm_tui.service.mqtt_client import TunedClient
from hm_tui.service.safe_file import FileRefused, check_file

#: "unresponsive": connected as far as paho knows, but the broker sent nothing, not even the
#: answer to our keep-alive ping, for BROKER_SILENT_FACTOR keep-alives (paho itself gives up
#: only after two). "taken over": another client using the same certificate (client id)
#: holds the MQTT session; the feed stays away for a while (`feed_takeover`).
FeedStatus = Literal["connecting", "connected", "unresponsive", "retrying", "taken over", "stopped"]
BAD_SAMPLES = 5
MAX_CERT_FILE_BYTES = 1024 * 1024  # a PEM bundle of a few certificates is a few KB
SAMPLE_CHARS = 120
KEEPALIVE_S = 30
BROKER_SILENT_FACTOR = 1.5
RATE_QUIET_S = 2.0  # the rate reads 0 once nothing came for this long
STOP_WAIT_S = 0.5  # a thread asleep in reconnect backoff ends by itself within 1 s


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
    replayed: int = 0  # messages delivered from the persistent session's queue (feed_health.py)
    takeovers: int = 0  # times another client using this certificate took the MQTT session


def escape_sample(data: bytes | bytearray | str, limit: int = SAMPLE_CHARS) -> str:
    """Printable ASCII only: control characters, escapes and non-ASCII become `\\x..` forms."""
    text = data if isinstance(data, str) else bytes(data).decode("utf-8", "backslashreplace")
    escaped = text[:limit].encode("unicode_escape").decode("ascii")
    return escaped + ("..." if len(text) > limit else "")


def feed_topic(settings: MqttSettings, environment: str, app_id: str) -> str:
    """The subscription: the profile's own, else the platform's V1 or V2 topic."""
    if settings.topic:
        return settings.topic
    base = f"{environment}/level13/{app_id}"
    return base if settings.format == "v2" else f"{base}/#"


class _Dedup:
    """The last `size` message ids, in arrival order; O(1) per message."""

    def __init__(self, size: int) -> None:
        self._order: deque[str] = deque()
        self._seen: set[str] = set()
        self._size = size

    def is_new(self, message_id: str) -> bool:
        if message_id in self._seen:
            return False
        self._seen.add(message_id)
        self._order.append(message_id)
        if len(self._order) > self._size:
            self._seen.discard(self._order.popleft())
        return True


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
        off, seconds since the last message, the silence that would be a stall (feed_health.py).
        Cheap: the header, the feed panel and `hm-tui feed` ask every second."""
        state = self.state
        with self._lock:
            return self._watch.health(state, time.monotonic() if now is None else now)


class FeedClient(BufferedFeed):
    """Receives pushed data for one app; `start()` returns at once, the state tells how it goes."""

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
    ) -> None:
        super().__init__(settings, environment, app_id, buffer, latest_vins, stall_floor)
        self._reconnect_delay = reconnect_delay
        self._keepalive = keepalive
        self._backlog = Backlog()
        self._replayed = 0
        self._dedup = _Dedup(dedup)
        self._bad: deque[BadSample] = deque(maxlen=BAD_SAMPLES)
        self._client: TunedClient | None = None
        self._status: FeedStatus = "stopped"
        self._subscribed = False
        self._last_error: str | None = None
        self._received = self._duplicates = self._bad_count = 0
        self._window_start = time.monotonic()
        self._window_count = 0
        self._rate = 0.0
        self._last_tick = float("-inf")  # monotonic time of the last accepted message
        self._takeover = TakeoverWatch()

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in paho's thread. Unusable certificate files leave the feed stopped, with
        `last_error` saying which file and why."""
        if self._client is not None:
            return
        try:
            context = tls_context(self.settings)
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._set_status("stopped", f"cannot use the MQTT certificate files: {_why(exc)}")
            return
        client = self._make_client(context)
        self._client = client
        self._set_status("connecting", None)
        client.connect_async(self.settings.host, int(self.settings.port), keepalive=self._keepalive)
        client.loop_start()

    def _make_client(self, context: ssl.SSLContext) -> TunedClient:
        client = TunedClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.settings.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        client.tls_set_context(context)
        client.reconnect_delay_set(*self._reconnect_delay)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_publish_bytes = self._on_publish_bytes
        return client

    def stop(self) -> None:
        """Disconnect (the broker keeps our session and queues for us) and end paho's thread."""
        client, self._client = self._client, None
        self._set_status("stopped", self._last_error)
        if client is None:
            return
        client.disconnect()
        # paho's loop_stop joins without a timeout; a thread sleeping in backoff may take a while
        stopper = threading.Thread(target=client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(STOP_WAIT_S)

    # --- what consumers read -------------------------------------------------------------------

    @property
    def state(self) -> FeedState:
        status, error = self._status, self._last_error
        if status == "connected" and self._broker_silent():
            silent = self._keepalive * BROKER_SILENT_FACTOR
            status, error = "unresponsive", f"no answer from the broker for over {silent:.0f} s"
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
                takeovers=self._takeover.takeovers,
            )

    def _broker_silent(self) -> bool:
        """Nothing came from the broker (a message, an answer to our ping) for longer than
        BROKER_SILENT_FACTOR keep-alives: the connection paho holds may be dead."""
        heard = getattr(self._client, "heard_at", None)
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

    # --- the paho thread -------------------------------------------------------------------------

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

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # paho decodes strictly; the topic only ever names a sample
            topic = "(topic not UTF-8)"
        self._on_publish_bytes(topic, message.payload)

    def _on_publish_bytes(self, topic: str, payload: bytes | bytearray) -> None:
        try:
            self.ingest(topic, payload)
        except Exception as exc:  # never let one message end the feed
            self._count_bad(f"unexpected error: {type(exc).__name__}", "", b"", datetime.now(UTC))

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._set_status("retrying", f"the broker refused the connection: {reason}")
            return
        kept = bool(getattr(flags, "session_present", False))
        with self._lock:
            self._backlog.connected(time.monotonic(), datetime.now(UTC), kept)
        self._takeover.connected(time.monotonic())
        self._set_status("connected", None)
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        if any(code.is_failure for code in reasons):
            self._set_status("connected", f"the broker refused the subscription to {self.topic}")
            return
        with self._lock:
            self._subscribed = True

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        failure = getattr(client, "last_failure", None)
        where = f"{self.settings.host}:{self.settings.port}"
        self._set_status("retrying", f"cannot connect to {where}: {_why(failure)}")

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        tuned = self._client
        if tuned is not client or tuned is None:
            return  # we closed it (stop)
        verdict = self._takeover.dropped(time.monotonic(), tuned.closed_by_peer)
        if verdict.kind == "taken":
            tuned.hold_off_s = verdict.hold_off_s
            again = datetime.now().astimezone() + timedelta(seconds=verdict.hold_off_s)
            self._set_status("taken over", f"{TAKEN}; trying again at {again:%H:%M:%S}")
        elif verdict.kind == "suspected":
            self._set_status("retrying", SUSPECTED)
        else:
            self._set_status("retrying", f"connection lost: {reason}")

    def _set_status(self, status: FeedStatus, error: str | None) -> None:
        with self._lock:
            self._status = status
            self._last_error = error
            if status != "connected":
                self._subscribed = False
            self._watch.status(status, time.monotonic())


def tls_context(settings: MqttSettings) -> ssl.SSLContext:
    """Verify the broker against the profile's CA (hostname too) and present our certificate.
    Each file must be a regular file of sane size first (`ValueError` naming it otherwise)."""
    for what, path in (
        ("CA file", settings.ca_file),
        ("certificate file", settings.cert_file),
        ("key file", settings.key_file),
    ):
        try:
            check_file(path, what, max_bytes=MAX_CERT_FILE_BYTES)
        except FileRefused as exc:
            raise ValueError(str(exc)) from None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.ca_file)
    context.load_cert_chain(settings.cert_file, settings.key_file, password=_no_password)
    return context


def _no_password() -> bytes:
    """An encrypted key fails with a message instead of prompting on the terminal."""
    return b""


def _why(exc: BaseException | None) -> str:
    """A short, secret-free reason for a connection or certificate failure."""
    if exc is None:
        return "unknown error"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the broker's certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc.strerror or 'handshake error'})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the broker running?)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError):
        filename = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or type(exc).__name__}{filename}"
    return escape_sample(str(exc) or type(exc).__name__, 160)
