"""The emulator's embedded MQTT broker: amqtt on TLS, client certificate required.

amqtt out of the box treats every client as anonymous (no persistent session, so nothing queued
for an absent client) and accepts TLS clients without a certificate (docs/decisions.md). Two small
plugins fix both: `CertificateRequired` refuses a connection whose TLS peer sent no certificate,
`CertificateIdentity` authenticates the rest without marking the session anonymous. The
connection's writer stops at a lost connection (`_Writer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass
from functools import partial
from typing import Any

from amqtt.adapters import StreamReaderAdapter, StreamWriterAdapter
from amqtt.broker import Broker, RetainedApplicationMessage
from amqtt.contexts import ListenerType
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

from hm_tui.emulator.certs import CertBundle

log = logging.getLogger(__name__)

# A client away longer than this loses its session (and its queue), so memory stays bounded.
SESSION_EXPIRY_S = 3600
# Messages kept for an absent persistent session; beyond it the oldest go (mosquitto's
# max_queued_messages, 1000 by default, drops too). amqtt keeps them all and sends them all at
# once on reconnect: past 65,535 in flight it searches every packet id for each message, and the
# broker (and with it the emulator's loop) stalls for good.
MAX_QUEUED = 10_000
STOP_TIMEOUT_S = 3.0
# A connection whose TLS handshake is not done by then is closed (asyncio waits 60 s by default,
# holding a plain TCP client that waits for the server to speak first).
TLS_HANDSHAKE_TIMEOUT_S = 5.0


def _peer_certificate(session: Session) -> dict[str, Any] | None:
    ssl_object = session.ssl_object
    if ssl_object is None:
        return None
    try:
        return ssl_object.getpeercert() or None
    except ValueError:  # handshake not complete
        return None


class CertificateRequired(BaseAuthPlugin):
    """Refuse any client whose TLS peer certificate is missing (amqtt only asks for one)."""

    @dataclass
    class Config:
        pass

    async def authenticate(self, *, session: Session) -> bool | None:
        return _peer_certificate(session) is not None


class CertificateIdentity(BaseAuthPlugin):
    """Authenticate certificate-bearing clients as themselves, so their sessions persist."""

    @dataclass
    class Config:
        pass

    async def authenticate(self, *, session: Session) -> bool | None:
        cert = _peer_certificate(session)
        if cert is None:
            return None
        session.is_anonymous = False
        session.username = session.username or _common_name(cert)
        return True


def _common_name(cert: dict[str, Any]) -> str | None:
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def _connection_lost(writer: asyncio.StreamWriter) -> bool:
    """The connection under `writer` is closing or gone.

    Over TLS, a failed send closes the socket's transport at once, but the TLS transport above
    it (all a StreamWriter shows) hears of it only a loop pass later: look at both.
    """
    transport = writer.transport
    if transport.is_closing():
        return True
    socket_transport = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
    return socket_transport is not None and socket_transport.is_closing()


class _Writer(StreamWriterAdapter):
    """amqtt's writer, which stops writing once the connection is lost.

    amqtt hands every message to a task of its own, and a task writes without yielding (the
    write lock is free, drain returns at once): the replay of an absent session's queue writes
    thousands of messages in one loop pass. A client that leaves meanwhile (`mosquitto_sub -C
    3`) made asyncio log "socket.send() raised exception." for each one written after the loss.
    """

    closing = False  # the broker has begun to stop this connection's handler

    @property
    def gone(self) -> bool:
        return self.closing or self.is_closed or _connection_lost(self._writer)

    def write(self, data: bytes) -> None:
        if not _connection_lost(self._writer):
            super().write(data)

    async def drain(self) -> None:
        if not self.is_closed and _connection_lost(self._writer):
            # what StreamWriter.drain raises a pass later; amqtt then closes the session
            raise ConnectionResetError("MQTT client connection lost")
        await super().drain()


class _PubackWaiters(dict[int, "asyncio.Future[Any]"]):
    """One connection's PUBACK waiters (amqtt's `_puback_waiters`); one added after the
    connection is gone is cancelled at once, as amqtt cancels those waiting when it closes.

    amqtt keeps routing to a session until it hears its connection is gone: a message handed
    over meanwhile (or queued behind a stalled write) waited 5 s for an ack that cannot come,
    then logged a TimeoutError traceback, one per message.

    A QoS 1 message whose wait ends without a PUBACK (the connection closed, or it timed out)
    goes back to the session's queue, sent again when the client reconnects, as MQTT requires
    of a persistent session and mosquitto does: amqtt forgot it, so a message in flight when
    the client disconnected (or another connection took the session) was lost.
    """

    def __init__(self, writer: _Writer, session: Session, broker: _Broker) -> None:
        super().__init__()
        self._writer = writer
        self._session = session
        self._broker = broker

    def __setitem__(self, packet_id: int, waiter: asyncio.Future[Any]) -> None:
        super().__setitem__(packet_id, waiter)
        message = self._session.inflight_out.get(packet_id)
        if message is not None and not self._session.clean_session:
            waiter.add_done_callback(partial(self._unacknowledged, message))
        if self._writer.gone:
            waiter.cancel()

    def _unacknowledged(self, message: Any, waiter: asyncio.Future[Any]) -> None:
        if waiter.cancelled() and message.puback_packet is None:
            again = RetainedApplicationMessage(None, message.topic, message.data, message.qos)
            self._broker.queue_for_absent(self._session, again)


class _Broker(Broker):
    """amqtt's Broker, with the TLS object of *this* connection on a resumed session, a TLS
    handshake timeout, and connections that stop at their end (`_Writer`, `_PubackWaiters`).

    amqtt swaps a reconnecting client's fresh session for the stored one, which still holds the
    first connection's TLS object; a client without a certificate could ride on it.
    """

    dropped_for_absent = 0  # queued messages dropped because an absent session's queue was full

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: client id → (the protocol handler of its live connection, set when that ends)
        self._live: dict[str, tuple[Any, asyncio.Event]] = {}

    async def _create_server_instance(
        self,
        listener_name: str,
        listener_type: ListenerType,
        address: str | None,
        port: int,
        ssl_context: Any,
    ) -> Any:
        if listener_type != ListenerType.TCP or ssl_context is None:
            return await super()._create_server_instance(
                listener_name, listener_type, address, port, ssl_context
            )
        return await asyncio.start_server(
            partial(self.stream_connected, listener_name=listener_name),
            address,
            port,
            reuse_address=True,
            ssl=ssl_context,
            ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT_S,
        )

    async def _stop_handler(self, handler: Any) -> None:
        # amqtt's stop cancels the waiters, then waits for the reader before closing the writer:
        # a message handed over meanwhile must not wait for its PUBACK either
        if isinstance(handler.writer, _Writer):
            handler.writer.closing = True
        await super()._stop_handler(handler)

    async def _handle_client_session(
        self, reader: Any, writer: Any, session: Session, handler: Any, *rest: Any
    ) -> None:
        """A connection with a certificate takes over the session of its client id, as
        mosquitto and the platform do: the connection holding it is closed first, and its end
        is handled before the new one begins.

        amqtt does it only while the stored session reads "connected"; but the connection it
        closed then marks that session disconnected as it ends, after the new one took it: the
        next newcomer found it "disconnected" and left the connection holding it open, silent
        (subscribed, answering pings, sent nothing), a frozen feed that still looked connected.
        """
        client_id = session.client_id or ""
        live = self._live.get(client_id)
        if live is not None and _peer_certificate(session) is not None:
            old_handler, ended = live
            log.info("MQTT client %s connected again: closing its previous connection", client_id)
            await old_handler.handle_connection_closed()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), STOP_TIMEOUT_S)
        ended = asyncio.Event()
        self._live[client_id] = (handler, ended)
        try:
            await super()._handle_client_session(reader, writer, session, handler, *rest)
        finally:
            ended.set()
            if self._live.get(client_id, (None,))[0] is handler:
                del self._live[client_id]

    async def stream_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
    ) -> None:
        await self._client_connected(listener_name, StreamReaderAdapter(reader), _Writer(writer))

    async def _initialize_client_session(
        self,
        reader: Any,
        writer: Any,
        remote_address: str,
        remote_port: int,
    ) -> Any:
        handler, session = await super()._initialize_client_session(
            reader,
            writer,
            remote_address,
            remote_port,
        )
        session.ssl_object = writer.get_ssl_info()
        if isinstance(writer, _Writer):
            handler._puback_waiters = _PubackWaiters(writer, session, self)
        return handler, session

    async def _retain_broadcast_message(
        self, broadcast: Any, qos: int, target_session: Session
    ) -> None:
        self._make_room(target_session)
        await super()._retain_broadcast_message(broadcast, qos, target_session)

    def queue_for_absent(self, session: Session, message: RetainedApplicationMessage) -> None:
        """Queue `message` for when `session`'s client is back (the newest MAX_QUEUED kept)."""
        self._make_room(session)
        session.retained_messages.put_nowait(message)

    def _make_room(self, session: Session) -> None:
        queued = session.retained_messages
        while queued.qsize() >= MAX_QUEUED:
            queued.get_nowait()
            self.dropped_for_absent += 1


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for callers that must know it before binding)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """An MQTT 3.1.1 broker over mutual TLS in the current asyncio loop."""

    def __init__(self, host: str, port: int, certs: CertBundle) -> None:
        self.host = host
        self._requested_port = port
        self.certs = certs
        self._broker: _Broker | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the broker is not started")
        return self._port

    @property
    def running(self) -> bool:
        return self._broker is not None

    def _config(self) -> dict[str, Any]:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return {
            "listeners": {
                "default": {
                    "type": "tcp",
                    "bind": f"{host}:{self._requested_port}",
                    "ssl": True,
                    "cafile": str(self.certs.ca_file),
                    "certfile": str(self.certs.server_cert),
                    "keyfile": str(self.certs.server_key),
                },
            },
            "session_expiry_interval": SESSION_EXPIRY_S,
            "plugins": {
                f"{__name__}.CertificateRequired": {},
                f"{__name__}.CertificateIdentity": {},
            },
        }

    async def start(self) -> None:
        """Listen; returns once the port accepts connections."""
        if self._broker is not None:
            return
        quiet = logging.getLogger("amqtt")
        if quiet.level == logging.NOTSET:  # its PUBACK chatter would land on the dashboard's screen
            quiet.setLevel(logging.ERROR)
        broker = _Broker(self._config())
        await broker.start()
        self._broker = broker
        server = broker._servers["default"].instance
        self._port = int(server.sockets[0].getsockname()[1])
        log.info("MQTT broker listening on %s:%d", self.host, self._port)

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Deliver a message as the platform would: to subscribers, queued for absent sessions."""
        if self._broker is None:
            raise RuntimeError("the broker is not started")
        await self._broker.internal_message_broadcast(topic, payload, qos)

    @property
    def dropped_for_absent(self) -> int:
        """Messages dropped because an absent session's queue held `MAX_QUEUED` already."""
        return self._broker.dropped_for_absent if self._broker else 0

    def connected_clients(self) -> list[str]:
        """Client ids with a live connection."""
        if self._broker is None:
            return []
        return [
            client_id
            for client_id, (session, _handler) in self._broker.sessions.items()
            if session.transitions.state == "connected"
        ]

    def subscribers(self, topic_filter: str) -> list[str]:
        """Client ids subscribed to exactly `topic_filter` (connected or not)."""
        if self._broker is None:
            return []
        return [
            session.client_id or ""
            for session, _qos in self._broker.subscriptions.get(topic_filter, [])
        ]

    def backlog(self) -> int:
        """Messages accepted but not yet routed (the publisher holds back above a limit)."""
        return self._broker._broadcast_queue.qsize() if self._broker else 0

    async def drop_clients(self) -> int:
        """Cut every connected client, as a broker restart would; sessions and queues survive."""
        if self._broker is None:
            return 0
        dropped = 0
        for session, handler in list(self._broker.sessions.values()):
            if session.transitions.state == "connected":
                await handler.handle_connection_closed()
                dropped += 1
        return dropped

    async def stop(self) -> None:
        broker, self._broker = self._broker, None
        if broker is None:
            return
        self._port = None
        try:
            # amqtt can wait forever on a handler whose deliveries went astray
            await asyncio.wait_for(broker.shutdown(), STOP_TIMEOUT_S)
        except Exception:  # a timeout included: never keep the emulator from stopping
            log.warning("MQTT broker did not shut down cleanly", exc_info=True)
