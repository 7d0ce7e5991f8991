"""The MQTT feed: pushed vehicle data over mutual TLS into bounded buffers (design.md §2).

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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import paho.mqtt.client as mqtt

from hm_tui.service.feed_buffer import PointBuffer
from hm_tui.service.feed_parse import BadPayload, parse_message
from hm_tui.service.models import DataPoint

FeedStatus = Literal["connecting", "connected", "retrying", "stopped"]
BAD_SAMPLES = 5
SAMPLE_CHARS = 120
KEEPALIVE_S = 30
STOP_WAIT_S = 0.5  # a thread asleep in reconnect backoff ends by itself within 1 s
READ_BURST = 256  # packets read per wake-up of paho's loop (paho reads one per select())
RECV_CHUNK = 64 * 1024  # bytes asked of the TLS socket at once (one record is up to 16 KB)
GATHER_S = 0.002  # after reading, let more arrive before the next select(): the most it delays


class MqttSettingsLike(Protocol):
    """What the feed needs of `hm_tui.service.config.MqttSettings`."""

    host: str
    port: int
    client_id: str
    ca_file: str
    cert_file: str
    key_file: str
    format: str
    topic: str | None


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


def escape_sample(data: bytes | bytearray | str, limit: int = SAMPLE_CHARS) -> str:
    """Printable ASCII only: control characters, escapes and non-ASCII become `\\x..` forms."""
    text = data if isinstance(data, str) else bytes(data).decode("utf-8", "backslashreplace")
    escaped = text[:limit].encode("unicode_escape").decode("ascii")
    return escaped + ("..." if len(text) > limit else "")


def feed_topic(settings: MqttSettingsLike, environment: str, app_id: str) -> str:
    """The subscription: the profile's own, else the platform's V1 or V2 topic."""
    if settings.topic:
        return settings.topic
    base = f"{environment}/level13/{app_id}"
    return base if settings.format == "v2" else f"{base}/#"


class _Client(mqtt.Client):
    """paho's client, remembering why the last connection attempt failed (paho only says that),
    doing less per message (reads in bulk, PUBLISHes taken past paho's per-packet machinery,
    PUBACKs written together) and not waking its own loop for the packets it queues itself."""

    last_failure: BaseException | None = None
    on_publish_bytes: Callable[[str, bytes | bytearray], None] | None = None  # topic, payload

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._received = bytearray()  # read from the socket, not yet taken by paho
        self._received_from: object = None  # the socket it came from (reconnects make new ones)
        self._peer_closed = False  # the socket said EOF behind what the buffer holds
        self._read_packets = 0  # packets read in the current turn of the loop

    def _loop(self, timeout: float = 1.0) -> mqtt.MQTTErrorCode:
        """One turn of paho's loop, then, if it read anything, its PUBACKs go out at once (the
        broker's in-flight window refills) and the thread rests GATHER_S: a steady stream then
        wakes it a few hundred times a second with a batch each, instead of once per message
        with a select(), a failed read and a write each (~20 % of the feed process's CPU at
        5,000 msg/s). An idle connection waits in select() as before."""
        self._read_packets = 0
        rc = super()._loop(timeout)
        if rc == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS and self._read_packets:
            if self._out_packet:
                rc = self.loop_write()
            time.sleep(GATHER_S)
        return rc

    def _packet_queue(self, *args: Any, **kwargs: Any) -> mqtt.MQTTErrorCode:
        """paho writes a byte to a socket pair for every packet it queues, to wake its loop out of
        select(). Its loop queues a PUBACK for every message and writes it on its next turn
        anyway: skipping that wake-up saves two system calls per message (~15 % of paho's CPU at
        5,000 msg/s). Other threads' packets (disconnect) still wake it: while the loop is in
        here it is not in select(), so a packet they queue meanwhile goes out on its next turn."""
        if threading.current_thread() is not self._thread:
            return super()._packet_queue(*args, **kwargs)
        waker, self._sockpairW = self._sockpairW, None
        try:
            return super()._packet_queue(*args, **kwargs)
        finally:
            self._sockpairW = waker

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        """Read every packet that has arrived (READ_BURST at least), not one per select() as
        paho does: at thousands of messages a second that is one select() and one write of
        PUBACKs per burst instead of per message. It never returns with bytes in our read
        buffer, which select() cannot see: what is left is in the socket (select() sees it) or
        in the TLS layer (paho checks `pending()`), so nothing waits on a timeout."""
        count = 0
        while count < READ_BURST or self._received:
            count += 1
            if self._sock is None:
                return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == mqtt.MQTTErrorCode.MQTT_ERR_AGAIN:
                break
            self._read_packets += 1
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _packet_read(self) -> mqtt.MQTTErrorCode:
        """A PUBLISH at QoS 0 or 1 lying whole in our read buffer is taken here, without paho's
        per-packet machinery (its packet dict, an `MQTTMessage`, a debug log call, the topic
        matcher: the feed process's CPU -27 % at 5,000 msg/s, -45 % at 20,000, and at 40,000
        it keeps up where paho's path took 24,000): its topic and payload go to
        `on_publish_bytes`, its PUBACK is queued as paho queues it. Everything else (the first
        packet of a read, one cut by the buffer's end, QoS 2, MQTT 5, every other packet type)
        goes to paho as before; paho's own reads start from where this left the buffer."""
        taken = self._take_publish()
        if taken is None:
            return super()._packet_read()
        topic, payload, mid = taken
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        if self.on_publish_bytes is not None:
            self.on_publish_bytes(topic, payload)
        if mid is None:
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        return self._send_puback(mid)

    def _take_publish(self) -> tuple[str, bytes, int | None] | None:
        """(topic, payload, packet id or None at QoS 0) of a whole QoS 0/1 PUBLISH at the head
        of the read buffer, removed from it; None (the buffer untouched) for anything else."""
        received = self._received
        if (self.on_publish_bytes is None or self._in_packet["command"] != 0
                or self._received_from is not self._sock or self._protocol == mqtt.MQTTv5
                or self._manual_ack or len(received) < 2):
            return None
        command = received[0]
        qos = (command >> 1) & 3
        if command & 0xF0 != mqtt.PUBLISH or qos > 1:
            return None
        length, shift, pos = 0, 0, 1
        while True:  # the remaining length: 1-4 bytes, 7 bits each, low first
            if pos >= len(received) or pos > 4:
                return None
            byte = received[pos]
            length |= (byte & 0x7F) << shift
            pos += 1
            if not byte & 0x80:
                break
            shift += 7
        end = pos + length
        topic_end = pos + 2 + int.from_bytes(received[pos:pos + 2], "big")
        body = topic_end + 2 * qos
        if end > len(received) or length < 2 or body > end:
            return None  # not all here yet, or malformed: paho reads it and decides
        topic = received[pos + 2:topic_end].decode("utf-8", "replace")
        mid = int.from_bytes(received[topic_end:body], "big") if qos else None
        payload = bytes(received[body:end])
        del received[:end]
        return topic, payload, mid

    def _sock_recv(self, bufsize: int) -> bytes:
        """paho asks for a packet a few bytes at a time (type, each length byte, the rest): serve
        those from large reads of the TLS socket instead of a call into it for each. A TLS read
        returns one record, and the broker writes a record per packet: so a read takes every
        record that has arrived, and the packets after the first lie whole in the buffer for
        `_take_publish`."""
        if self._received_from is not self._sock:  # a new connection: nothing of the old one
            self._received, self._received_from = bytearray(), self._sock
            self._peer_closed = False
        received = self._received
        if not received:
            if self._peer_closed:
                return b""  # paho sees the close once it has read what came before it
            chunk = super()._sock_recv(RECV_CHUNK)  # BlockingIOError when there is nothing
            if len(chunk) <= bufsize:
                return chunk  # b"" is the peer closing: paho sees it as it would
            received += chunk
            self._read_more(received)
        data = bytes(received[:bufsize])
        del received[:bufsize]  # a bytearray drops its head in O(1)
        return data

    def _read_more(self, received: bytearray) -> None:
        while len(received) < RECV_CHUNK:
            try:
                more = super()._sock_recv(RECV_CHUNK)
            except OSError:  # nothing more yet; a broken socket fails paho's next read too
                return
            if not more:
                self._peer_closed = True
                return
            received += more

    def _packet_write(self) -> mqtt.MQTTErrorCode:
        """Send the PUBACKs queued at the head as one write (one TLS record, one system call)
        instead of one each. A PUBACK has no completion callback, so paho's bookkeeping of the
        merged packet (partial writes included) is the same as for one."""
        queue = self._out_packet
        if len(queue) > 1 and queue[0]["command"] & 0xF0 == mqtt.PUBACK \
                and queue[1]["command"] & 0xF0 == mqtt.PUBACK:
            parts = []
            while queue and queue[0]["command"] & 0xF0 == mqtt.PUBACK:
                packet = queue.popleft()
                parts.append(packet["packet"][packet["pos"]:])
            data = b"".join(parts)
            queue.appendleft({"command": mqtt.PUBACK, "mid": 0, "qos": 0, "pos": 0,
                              "to_process": len(data), "packet": data, "info": None})
        return super()._packet_write()

    def reconnect(self) -> mqtt.MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as exc:
            self.last_failure = exc
            raise


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

    def __init__(self, settings: MqttSettingsLike, environment: str, app_id: str,
                 buffer: int) -> None:
        self.settings = settings
        self.topic = feed_topic(settings, environment, app_id)
        self._lock = threading.Lock()
        self._kept = PointBuffer(buffer)
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
        """Every VIN that has sent data since the feed was made."""
        with self._lock:
            return self._kept.vins()


class FeedClient(BufferedFeed):
    """Receives pushed data for one app; `start()` returns at once, the state tells how it goes."""

    def __init__(self, settings: MqttSettingsLike, environment: str, app_id: str, *,
                 buffer: int = 50_000, dedup: int = 100_000,
                 reconnect_delay: tuple[int, int] = (1, 30)) -> None:
        super().__init__(settings, environment, app_id, buffer)
        self._reconnect_delay = reconnect_delay
        self._dedup = _Dedup(dedup)
        self._bad: deque[BadSample] = deque(maxlen=BAD_SAMPLES)
        self._client: _Client | None = None
        self._status: FeedStatus = "stopped"
        self._subscribed = False
        self._last_error: str | None = None
        self._received = self._duplicates = self._bad_count = 0
        self._window_start = time.monotonic()
        self._window_count = 0
        self._rate = 0.0

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
        client.connect_async(self.settings.host, int(self.settings.port), keepalive=KEEPALIVE_S)
        client.loop_start()

    def _make_client(self, context: ssl.SSLContext) -> _Client:
        client = _Client(
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
        with self._lock:
            return FeedState(
                status=self._status, last_error=self._last_error, received=self._received,
                duplicates=self._duplicates, bad_payloads=self._bad_count,
                rate=round(self._current_rate(), 1), points=self._kept.points,
                dropped=self._kept.dropped, topic=self.topic, bad_samples=tuple(self._bad),
                subscribed=self._subscribed and self._status == "connected",
            )

    def _current_rate(self) -> float:
        idle = time.monotonic() - self._window_start
        if idle > 2.0:  # nothing closed the window lately: the rate has fallen
            return self._window_count / idle
        return self._rate

    # --- the paho thread -------------------------------------------------------------------------

    def ingest(self, topic: str, payload: bytes | bytearray) -> None:
        """Take one message as if it came off the wire (paho calls this; tests and benches too)."""
        now = datetime.now(UTC)
        try:
            message = parse_message(payload, now)
        except BadPayload as exc:
            self._count_bad(str(exc), topic, payload, now)
            return
        with self._lock:
            if message.message_id is not None and not self._dedup.is_new(message.message_id):
                self._duplicates += 1
                return
            self._received += 1
            self._tick_rate()
            self._kept.keep(message.points)

    def _tick_rate(self) -> None:
        self._window_count += 1
        now = time.monotonic()
        elapsed = now - self._window_start
        if elapsed >= 1.0:
            self._rate = self._window_count / elapsed
            self._window_start, self._window_count = now, 0

    def _count_bad(self, reason: str, topic: str, payload: bytes | bytearray,
                   now: datetime) -> None:
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

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            self._set_status("retrying", f"the broker refused the connection: {reason}")
            return
        self._set_status("connected", None)
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any,
                      properties: Any) -> None:
        if any(code.is_failure for code in reasons):
            self._set_status("connected", f"the broker refused the subscription to {self.topic}")
            return
        with self._lock:
            self._subscribed = True

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        failure = getattr(client, "last_failure", None)
        where = f"{self.settings.host}:{self.settings.port}"
        self._set_status("retrying", f"cannot connect to {where}: {_why(failure)}")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        if self._client is client:
            self._set_status("retrying", f"connection lost: {reason}")

    def _set_status(self, status: FeedStatus, error: str | None) -> None:
        with self._lock:
            self._status = status
            self._last_error = error
            if status != "connected":
                self._subscribed = False


def tls_context(settings: MqttSettingsLike) -> ssl.SSLContext:
    """Verify the broker against the profile's CA (hostname too) and present our certificate."""
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
