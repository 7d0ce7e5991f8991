"""`TunedClient`: paho's MQTT client doing less per message, for the feed's thousands a second.

paho reads one packet per `select()`, asks the TLS socket for a packet a few bytes at a time,
builds an `MQTTMessage` with a debug-log call and a topic match for every PUBLISH, wakes its
own loop for every PUBACK it queues and writes each PUBACK alone. This subclass reads in bulk,
takes whole QoS 0/1 PUBLISHes past that machinery, and writes the PUBACKs of a burst together;
connecting, sessions, keep-alive, reconnects and every other packet stay paho's. It overrides
paho internals (pinned below 3 in pyproject.toml); tests/service/test_feed_mqtt.py holds it to
paho's behaviour on the wire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

READ_BURST = 256  # packets read per wake-up of paho's loop (paho reads one per select())
RECV_CHUNK = 64 * 1024  # bytes asked of the TLS socket at once (one record is up to 16 KB)
GATHER_S = 0.002  # after reading, let more arrive before the next select(): the most it delays
HOLD_OFF_STEP_S = 0.1  # a hold-off sleeps in steps this long, to end soon after a stop
_STOPPING = (
    mqtt._ConnectionState.MQTT_CS_DISCONNECTING,
    mqtt._ConnectionState.MQTT_CS_DISCONNECTED,
)


class TunedClient(mqtt.Client):
    """paho's client, remembering why the last connection attempt failed (paho only says that),
    doing less per message (reads in bulk, PUBLISHes taken past paho's per-packet machinery,
    PUBACKs written together) and not waking its own loop for the packets it queues itself."""

    last_failure: BaseException | None = None
    on_publish_bytes: Callable[[str, bytes | bytearray], None] | None = None  # topic, payload
    #: monotonic time the broker last sent us a whole packet of any kind (None: never): paho
    #: moves its own `_last_bytes_received` when it sends a ping, so it cannot tell this
    heard_at: float | None = None
    #: Called in paho's thread before it writes to the socket (PUBACKs among it): what the
    #: client must do with the messages read so far before the broker may forget them.
    before_write: Callable[[], None] | None = None
    #: The current connection read an orderly end of stream: the broker closed it (it does so
    #: when another connection takes the session), rather than a reset or a timeout.
    closed_by_peer = False
    #: When set, the next reconnection waits this long instead of paho's backoff (then clears).
    hold_off_s: float | None = None

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
            self._last_bytes_received = self.heard_at = mqtt.time_func()
        if self.on_publish_bytes is not None:
            self.on_publish_bytes(topic, payload)
        if mid is None:
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        return self._send_puback(mid)

    def _packet_handle(self) -> mqtt.MQTTErrorCode:
        """Every packet paho reads whole (CONNACK, PINGRESP, SUBACK, a PUBLISH it reads itself)
        passes here: the broker answered."""
        self.heard_at = mqtt.time_func()
        return super()._packet_handle()

    def _take_publish(self) -> tuple[str, bytes, int | None] | None:
        """(topic, payload, packet id or None at QoS 0) of a whole QoS 0/1 PUBLISH at the head
        of the read buffer, removed from it; None (the buffer untouched) for anything else."""
        received = self._received
        if (
            self.on_publish_bytes is None
            or self._in_packet["command"] != 0
            or self._received_from is not self._sock
            or self._protocol == mqtt.MQTTv5
            or self._manual_ack
            or len(received) < 2
        ):
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
        topic_end = pos + 2 + int.from_bytes(received[pos : pos + 2], "big")
        body = topic_end + 2 * qos
        if end > len(received) or length < 2 or body > end:
            return None  # not all here yet, or malformed: paho reads it and decides
        topic = received[pos + 2 : topic_end].decode("utf-8", "replace")
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
                self.closed_by_peer = True
                return b""  # paho sees the close once it has read what came before it
            chunk = super()._sock_recv(RECV_CHUNK)  # BlockingIOError when there is nothing
            if not chunk:
                self.closed_by_peer = True
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
        if (
            len(queue) > 1
            and queue[0]["command"] & 0xF0 == mqtt.PUBACK
            and queue[1]["command"] & 0xF0 == mqtt.PUBACK
        ):
            parts = []
            while queue and queue[0]["command"] & 0xF0 == mqtt.PUBACK:
                packet = queue.popleft()
                parts.append(packet["packet"][packet["pos"] :])
            data = b"".join(parts)
            queue.appendleft(
                {
                    "command": mqtt.PUBACK,
                    "mid": 0,
                    "qos": 0,
                    "pos": 0,
                    "to_process": len(data),
                    "packet": data,
                    "info": None,
                }
            )
        return super()._packet_write()

    def loop_write(self) -> mqtt.MQTTErrorCode:
        if self.before_write is not None:
            self.before_write()
        return super().loop_write()

    def _reconnect_wait(self) -> None:
        """paho's backoff, unless `hold_off_s` asks for a longer wait (another client took the
        session). Either way the wait ends at once when we disconnect or stop."""
        hold_off, self.hold_off_s = self.hold_off_s, None
        if hold_off is None:
            super()._reconnect_wait()
            return
        deadline = time.monotonic() + hold_off
        while not self._thread_terminate and self._state not in _STOPPING:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(remaining, HOLD_OFF_STEP_S))

    def reconnect(self) -> mqtt.MQTTErrorCode:
        self.closed_by_peer = False
        try:
            return super().reconnect()
        except OSError as exc:
            self.last_failure = exc
            raise
