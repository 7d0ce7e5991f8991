"""The feed client against real brokers over mutual TLS: the emulator's stream, persistent
sessions (amqtt and mosquitto), reconnects, and clear errors when it cannot connect."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from helpers import wait_for
from mqtt_helpers import (
    Mosquitto,
    client_tls,
    feed_connected,
    mqtt_settings,
    running_mosquitto,
)

from hm_tui.emulator.broker import EmbeddedBroker, free_port
from hm_tui.emulator.certs import CertBundle, ensure_certs
from hm_tui.emulator.publisher import Publisher
from hm_tui.service.feed.client import FeedClient
from hm_tui.service.feed.mqtt_client import TunedClient

APP = "a1b2c3d4e5f6a1b2c3d4e5f6"
CARS = [("WBA12345678901234", "bmw"), ("5YJ3E1EA7KF000001", "tesla")]
TOPIC = f"sandbox/level13/{APP}/{CARS[0][0]}/ignition/get/state"


def ignition(message_id: str, state: str = "on") -> bytes:
    return json.dumps(
        {
            "version": 1,
            "message_id": message_id,
            "vin": CARS[0][0],
            "capability": "ignition",
            "property": "state",
            "data": {"ignition": {"state": {"data": state, "timestamp": "2025-11-23T10:00:00Z"}}},
        }
    ).encode()


@pytest.fixture
def running_feeds() -> Iterator[list[FeedClient]]:
    feeds: list[FeedClient] = []
    yield feeds
    for feed in feeds:
        feed.stop()


def new_feed(
    feeds: list[FeedClient], certs: CertBundle, port: int, message_format: str = "v1"
) -> FeedClient:
    feed = FeedClient(
        mqtt_settings(certs, port, message_format=message_format),
        "sandbox",
        APP,
        reconnect_delay=(1, 1),
    )
    feeds.append(feed)
    feed.start()
    return feed


@pytest.mark.parametrize("message_format", ["v1", "v2"])
async def test_feed_receives_the_emulator_stream_over_mutual_tls(
    embedded_broker: EmbeddedBroker, running_feeds: list[FeedClient], message_format: str
) -> None:
    feed = new_feed(running_feeds, embedded_broker.certs, embedded_broker.port, message_format)
    await feed_connected(feed)
    await wait_for(lambda: embedded_broker.subscribers(feed.topic), 5)
    stream = Publisher(
        lambda: CARS, app_id=APP, broker=embedded_broker, format=message_format, duplicate_rate=0
    )
    sent = [await stream.report_now(*car) for car in CARS]
    await wait_for(lambda: feed.state.received == sum(sent), 10)
    latest = feed.latest(CARS[1][0])
    assert latest["charging.battery_level"].unit is None
    assert 0 <= latest["charging.battery_level"].value <= 1
    assert latest["diagnostics.odometer"].unit == "kilometers"
    assert len(latest["doors.locks"].value) == 4
    assert {point.vin for point in feed.drain()} == {vin for vin, _ in CARS}
    assert feed.state.bad_payloads == 0 and feed.state.status == "connected"


Target = tuple[Publisher, CertBundle, int, Any]


@asynccontextmanager
async def amqtt_target(workdir: Path) -> AsyncIterator[Target]:
    broker = EmbeddedBroker("127.0.0.1", 0, ensure_certs(workdir))
    await broker.start()
    try:
        yield Publisher(lambda: [], app_id=APP, broker=broker), broker.certs, broker.port, broker
    finally:
        await broker.stop()


@asynccontextmanager
async def mosquitto_target(workdir: Path) -> AsyncIterator[Target]:
    with running_mosquitto(workdir) as mosquitto:
        stream = Publisher(lambda: [], app_id=APP, broker_url=mosquitto.url, certs=mosquitto.certs)
        await stream.start()
        try:
            yield stream, mosquitto.certs, mosquitto.port, mosquitto
        finally:
            await stream.stop()


TARGETS = {"amqtt": amqtt_target, "mosquitto": mosquitto_target}


@pytest.mark.parametrize("broker_name", list(TARGETS))
async def test_messages_sent_while_away_arrive_after_restart_without_duplicates(
    tmp_path: Path, running_feeds: list[FeedClient], broker_name: str
) -> None:
    target: AbstractAsyncContextManager = TARGETS[broker_name](tmp_path)
    async with target as (stream, certs, port, broker):
        first = new_feed(running_feeds, certs, port)
        await feed_connected(first)
        await stream.publish_raw(TOPIC, ignition("0" * 64))  # proves the subscription is live
        await wait_for(lambda: first.state.received == 1, 10)
        first.stop()
        if isinstance(broker, EmbeddedBroker):  # away means the broker saw us leave
            await wait_for(lambda: certs.client_id not in broker.connected_clients(), 5)

        ids = [f"{i + 1:064x}" for i in range(30)]
        for message_id in ids:
            await stream.publish_raw(TOPIC, ignition(message_id, "off"))
        await stream.publish_raw(TOPIC, ignition(ids[0], "off"))  # at-least-once: again
        if isinstance(broker, EmbeddedBroker):  # everything routed (queued) before we return
            await wait_for(lambda: broker.backlog() == 0, 5)
        if isinstance(broker, Mosquitto):  # the queue survives a broker restart too
            await wait_for(lambda: stream._sink.backlog() == 0, 10)
            broker.restart()

        second = new_feed(running_feeds, certs, port)
        await wait_for(
            lambda: second.state.received == len(ids),
            15,
            message=f"queued messages ({second.state})",
        )
        await wait_for(lambda: second.state.duplicates == 1, 5)
        assert sorted(p.message_id for p in second.drain()) == ids


async def test_bad_payloads_on_the_wire_are_counted_and_the_feed_goes_on(
    embedded_broker: EmbeddedBroker, running_feeds: list[FeedClient]
) -> None:
    feed = new_feed(running_feeds, embedded_broker.certs, embedded_broker.port)
    await feed_connected(feed)
    await wait_for(lambda: embedded_broker.subscribers(feed.topic), 5)
    stream = Publisher(lambda: [], app_id=APP, broker=embedded_broker)
    for payload in (b"\x00\xff garbage", b'{"version": 9}', b"[" * 5000, ignition("f" * 64)):
        await stream.publish_raw(TOPIC, payload)
    await wait_for(lambda: feed.state.received == 1, 10)
    state = feed.state
    assert state.bad_payloads == 3 and state.status == "connected"
    assert all(sample.sample.isprintable() for sample in state.bad_samples)


async def test_no_broker_means_retrying_with_a_reason(
    tmp_path: Path, running_feeds: list[FeedClient]
) -> None:
    feed = new_feed(running_feeds, ensure_certs(tmp_path), free_port())
    await wait_for(lambda: feed.state.status == "retrying", 10)
    assert "refused" in (feed.state.last_error or "")


async def test_broker_with_a_certificate_we_do_not_trust_is_never_used(
    embedded_broker: EmbeddedBroker, tmp_path: Path, running_feeds: list[FeedClient]
) -> None:
    strangers = ensure_certs(tmp_path / "other-ca")
    feed = new_feed(running_feeds, strangers, embedded_broker.port)
    await wait_for(lambda: feed.state.status == "retrying", 10)
    assert "not trusted" in (feed.state.last_error or "")
    assert feed.state.received == 0


async def test_unreadable_certificate_files_leave_the_feed_stopped_with_a_message(
    tmp_path: Path,
) -> None:
    certs = ensure_certs(tmp_path)
    certs.client_key.unlink()
    feed = FeedClient(mqtt_settings(certs, 1), "sandbox", APP)
    feed.start()
    state = feed.state
    assert state.status == "stopped"
    assert "certificate files" in (state.last_error or "")
    assert "BEGIN" not in (state.last_error or "")


class _Wire:
    """A socket that takes at most `limit` bytes per send (partial writes) and records them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sends: list[bytes] = []

    def send(self, data: bytes) -> int:
        self.sends.append(bytes(data[: self.limit]))
        return min(len(data), self.limit)

    def close(self) -> None:
        pass


def test_queued_pubacks_go_out_in_one_write_and_survive_partial_writes() -> None:
    client = TunedClient(mqtt.CallbackAPIVersion.VERSION2, client_id="unit", clean_session=False)
    wire = _Wire(limit=5)
    client._sock = wire  # type: ignore[assignment]
    acks = [bytes([0x40, 2, 0, mid]) for mid in (1, 2, 3)]
    for command, packet in [*((0x40, ack) for ack in acks), (0xC0, b"\xc0\x00")]:  # PINGREQ last
        client._out_packet.append(
            {
                "command": command,
                "mid": 0,
                "qos": 0,
                "pos": 0,
                "to_process": len(packet),
                "packet": packet,
                "info": None,
            }
        )

    while client._out_packet:
        client._packet_write()

    assert wire.sends[:3] == [b"".join(acks)[:5], b"".join(acks)[5:10], b"".join(acks)[10:]]
    assert wire.sends[3:] == [b"\xc0\x00"]


class _Arriving(_Wire):
    """A socket whose reads return `data` in pieces of `piece` bytes, then 'nothing yet'."""

    def __init__(self, data: bytes, piece: int, gaps: bool = False) -> None:
        super().__init__(limit=1 << 20)
        self.pieces: list[bytes | None] = []
        for i in range(0, len(data), piece):  # with gaps, one piece arrives per wake-up
            self.pieces += [data[i : i + piece], None] if gaps else [data[i : i + piece]]

    def recv(self, size: int) -> bytes:
        if not self.pieces or self.pieces[0] is None:
            if self.pieces:
                self.pieces.pop(0)
            raise BlockingIOError
        head = self.pieces[0]
        self.pieces[0] = head[size:]
        if not self.pieces[0]:
            self.pieces.pop(0)
        return head[:size]


def publish_packet(topic: str, payload: bytes, qos: int, mid: int = 0) -> bytes:
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name + (mid.to_bytes(2, "big") if qos else b"")
    body += payload
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length % 128, length // 128
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([0x30 | qos << 1]) + bytes(encoded) + body


@pytest.mark.parametrize("gaps", [False, True])
@pytest.mark.parametrize("piece", [1, 7, 100, 64 * 1024])
def test_publishes_read_whole_or_in_pieces_reach_the_feed_in_order_and_are_acknowledged(
    piece: int, gaps: bool
) -> None:
    """Whole QoS 0/1 PUBLISHes in the read buffer skip paho's machinery; the rest (the first
    of a read, one cut by the buffer's end, QoS 2) is paho's. Either way: every message once,
    in order, and a PUBACK for each QoS-1 packet id."""
    messages = [
        ("t/a", b"A" * 3, 1, 1),
        ("t/b", b"B", 0, 0),
        ("t/\u00e9", b"C" * 300, 1, 3),
        ("t/d", b"", 1, 4),
        ("t/e", b"E" * 20000, 1, 5),
        ("t/f", b"F", 2, 6),
        ("t/g", b"G", 1, 7),
    ]
    client = TunedClient(mqtt.CallbackAPIVersion.VERSION2, client_id="unit", clean_session=False)
    wire = _Arriving(b"".join(publish_packet(*m) for m in messages), piece, gaps)
    client._sock = wire  # type: ignore[assignment]
    fast: list[tuple[str, bytes]] = []
    got: list[tuple[str, bytes]] = []
    client.on_message = lambda _c, _u, message: got.append((message.topic, message.payload))

    def taken(topic: str, payload: bytes) -> None:
        fast.append((topic, payload))
        got.append((topic, payload))

    client.on_publish_bytes = taken
    while wire.pieces or client._received:
        assert client.loop_read() == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    expected = [(topic, payload) for topic, payload, qos, _ in messages if qos < 2]
    assert got == expected  # the QoS-2 one waits for its PUBREL, as paho does it
    if not gaps:  # all here at once: after the first packet of the read, paho sees only QoS 2
        assert len(fast) == (0 if piece == 1 else 5)  # (1-byte reads never fill the buffer)
    acked = b"".join(wire.sends)
    assert acked.count(b"\x40\x02") == 5  # PUBACK for 1, 3, 4, 5, 7; PUBREC for 6
    for mid in (1, 3, 4, 5, 7):
        assert bytes([0x40, 2, 0, mid]) in acked
    assert bytes([0x50, 2, 0, 6]) in acked


def test_a_malformed_publish_is_left_to_paho_which_ends_the_connection() -> None:
    client = TunedClient(mqtt.CallbackAPIVersion.VERSION2, client_id="unit", clean_session=False)
    good = publish_packet("t/a", b"x", 1, 1)
    bad = bytes([0x32, 3, 0, 9, 0x41])  # says a 9-byte topic in a 3-byte packet
    client._sock = _Arriving(good + bad, 64 * 1024)  # type: ignore[assignment]
    got: list[str] = []
    client.on_publish_bytes = lambda topic, _payload: got.append(topic)
    client.on_message = lambda _c, _u, message: got.append(message.topic)
    rc = client.loop_read()
    assert got == ["t/a"] and rc != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS


async def test_every_message_of_a_burst_is_acknowledged(
    tmp_path: Path, running_feeds: list[FeedClient]
) -> None:
    """Read in bursts, acknowledged in merged writes: after a clean restart the broker has
    nothing left to send again (an unacknowledged QoS-1 message would come back)."""
    with running_mosquitto(tmp_path) as mosquitto:
        first = new_feed(running_feeds, mosquitto.certs, mosquitto.port)
        await feed_connected(first)
        await wait_for(lambda: first.state.subscribed, 10)
        ids = [f"{i + 1:064x}" for i in range(1000)]
        publish_burst(mosquitto, [ignition(message_id) for message_id in ids])
        await wait_for(lambda: first.state.received == len(ids), 20)
        first.stop()

        second = new_feed(running_feeds, mosquitto.certs, mosquitto.port)
        await feed_connected(second)
        publish_burst(mosquitto, [ignition("e" * 64)])
        await wait_for(lambda: second.state.received == 1, 10)
        assert second.state.duplicates == 0
        assert [point.message_id for point in second.drain()] == ["e" * 64]


def publish_burst(broker: Mosquitto, payloads: list[bytes]) -> None:
    """Publish at QoS 1 as fast as paho can queue, and wait until the broker has them all."""
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="burst")
    publisher.tls_set_context(client_tls(broker.certs))
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    try:
        sent = [publisher.publish(TOPIC, payload, qos=1) for payload in payloads]
        for info in sent:
            info.wait_for_publish(10)
            assert info.is_published()
    finally:
        publisher.disconnect()
        publisher.loop_stop()
