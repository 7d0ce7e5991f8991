"""The feed's MQTT connection, held by one process per session (docs/feed-sessions.md): paho over
mutual TLS, a persistent session (clean session off, QoS 1), reconnecting with backoff, and the
broker's closes judged for takeovers (`feed.takeover`). What it reads goes to its `LinkSink`
(the `FeedClient`) and, when others are attached, to the hub that hands it on (`feed.hub`).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import paho.mqtt.client as mqtt

from hm_tui.service.feed.hub import Hub
from hm_tui.service.feed.mqtt_client import TunedClient
from hm_tui.service.feed.parse import escape_sample
from hm_tui.service.feed.takeover import SUSPECTED, TAKEN, TakeoverWatch
from hm_tui.service.files.safe import FileRefused, check_file

if TYPE_CHECKING:
    from hm_tui.service.config.profiles import MqttSettings
    from hm_tui.service.feed.client import FeedStatus

MAX_CERT_FILE_BYTES = 1024 * 1024  # a PEM bundle of a few certificates is a few KB
#: a TCP connection and its TLS handshake must be done within this (paho's own default, named);
#: a broker that then never answers the MQTT CONNECT is given up after one keep-alive
CONNECT_TIMEOUT_S = 5.0
STOP_WAIT_S = 0.5  # a thread asleep in reconnect backoff ends by itself within 1 s


class LinkSink(Protocol):
    """What the connection reports to (the `FeedClient`)."""

    topic: str

    def take(self, topic: str, payload: bytes | bytearray) -> None:
        """A message off the wire (never raises)."""

    def link_status(self, status: FeedStatus, error: str | None) -> None:
        """The connection's state changed."""

    def link_connected(self, session_present: bool) -> None:
        """A CONNACK accepted us (the session's backlog follows if it was kept)."""

    def link_subscribed(self) -> None:
        """The broker acknowledged the subscription."""


class MqttLink:
    """One paho client for the session; `start()` returns at once."""

    def __init__(
        self,
        sink: LinkSink,
        settings: MqttSettings,
        context: ssl.SSLContext,
        *,
        hub: Hub | None,
        watch: TakeoverWatch,
        keepalive: int,
        reconnect_delay: tuple[int, int],
    ) -> None:
        self.sink = sink
        self.settings = settings
        self.hub = hub
        self.watch = watch
        self._keepalive = keepalive
        self._answered = False  # the broker answered this connection's CONNECT (a CONNACK)
        self._client: TunedClient | None = self._make_client(context, reconnect_delay)

    def _make_client(self, context: ssl.SSLContext, delay: tuple[int, int]) -> TunedClient:
        client = TunedClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.settings.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        client.tls_set_context(context)
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.reconnect_delay_set(*delay)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_publish_bytes = self._on_publish_bytes
        if self.hub is not None:  # the attached get each message before the broker's PUBACK
            client.before_write = self.hub.flush
        return client

    def start(self) -> None:
        assert self._client is not None
        self._client.connect_async(
            self.settings.host, int(self.settings.port), keepalive=self._keepalive
        )
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect (the broker keeps our session and queues for us) and end paho's thread.
        A thread that does not end in time has its socket shut, so that it acknowledges
        nothing more: what it would have taken goes to the next holder instead."""
        client, self._client = self._client, None
        if client is None:
            return
        client.disconnect()
        # paho's loop_stop joins without a timeout; a thread sleeping in backoff may take a while
        stopper = threading.Thread(target=client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(STOP_WAIT_S)
        sock = client.socket()
        if stopper.is_alive() and isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @property
    def heard_at(self) -> float | None:
        """When the broker last sent us a packet (monotonic; None: never)."""
        return getattr(self._client, "heard_at", None)

    # --- paho's thread ---------------------------------------------------------------------------

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # paho decodes strictly; the topic only ever names a sample
            topic = "(topic not UTF-8)"
        self._on_publish_bytes(topic, message.payload)

    def _on_publish_bytes(self, topic: str, payload: bytes | bytearray) -> None:
        if self.hub is not None:
            self.hub.add(topic, payload)
        self.sink.take(topic, payload)

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._answered = True
        if reason.is_failure:
            self.sink.link_status("retrying", f"the broker refused the connection: {reason}")
            return
        present = bool(getattr(flags, "session_present", False))
        self.sink.link_connected(present)
        if self.hub is not None:
            self.hub.connected(datetime.now().astimezone().isoformat(), present)
        self.watch.connected(time.monotonic())
        self.sink.link_status("connected", None)
        client.subscribe(self.sink.topic, qos=1)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        if any(code.is_failure for code in reasons):
            refused = f"the broker refused the subscription to {self.sink.topic}"
            self.sink.link_status("connected", refused)
            return
        self.sink.link_subscribed()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        failure = getattr(client, "last_failure", None)
        where = f"{self.settings.host}:{self.settings.port}"
        self.sink.link_status("retrying", f"cannot connect to {where}: {why(failure)}")

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        tuned = self._client
        if tuned is not client or tuned is None:
            return  # we closed it (stop)
        answered, self._answered = self._answered, False
        if not answered:  # TLS done, then silence: paho gives up after a keep-alive
            where = f"{self.settings.host}:{self.settings.port}"
            self.sink.link_status(
                "retrying",
                f"{where} took the connection but never answered as an MQTT broker (no CONNACK "
                f"within {self._keepalive} s): is this the broker's MQTT-over-TLS port?",
            )
            return
        verdict = self.watch.dropped(time.monotonic(), tuned.closed_by_peer)
        if verdict.kind == "taken":
            tuned.hold_off_s = verdict.hold_off_s
            again = datetime.now().astimezone() + timedelta(seconds=verdict.hold_off_s)
            self.sink.link_status("taken over", f"{TAKEN}; trying again at {again:%H:%M:%S}")
        elif verdict.kind == "suspected":
            self.sink.link_status("retrying", SUSPECTED)
        else:
            self.sink.link_status("retrying", f"connection lost: {reason}")


class CertificateFileRefused(ValueError):
    """A CA, certificate or key file that cannot be used; the message says which and the fix."""


def tls_context(settings: MqttSettings) -> ssl.SSLContext:
    """Verify the broker against the profile's CA (hostname too) and present our certificate.
    Each file must be a regular file of sane size first (`ValueError` naming it otherwise)."""
    for what, path in (
        ("CA file", settings.ca_file),
        ("certificate file", settings.cert_file),
        ("key file", settings.key_file),
    ):
        try:
            check_file(path, what, max_bytes=MAX_CERT_FILE_BYTES, private=what == "key file")
        except FileRefused as exc:
            raise CertificateFileRefused(str(exc)) from None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.ca_file)
    context.load_cert_chain(settings.cert_file, settings.key_file, password=_no_password)
    return context


def _no_password() -> bytes:
    """An encrypted key fails with a message instead of prompting on the terminal."""
    return b""


def why(exc: BaseException | None) -> str:
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
        return (
            f"timed out: no TCP connection and TLS handshake within {CONNECT_TIMEOUT_S:g} s "
            "(is the broker up, and is this its TLS port?)"
        )
    if isinstance(exc, CertificateFileRefused):  # ours, with the command that fixes it: whole
        return escape_sample(str(exc), 600)
    if isinstance(exc, OSError):
        filename = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or type(exc).__name__}{filename}"
    return escape_sample(str(exc) or type(exc).__name__, 160)
