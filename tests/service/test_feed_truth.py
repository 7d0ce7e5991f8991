"""What the feed says about itself, on real brokers over mutual TLS: a stalled stream, a broker
gone, a broker that stops answering, and the persistent session's backlog marked as replayed."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for
from mqtt_helpers import Mosquitto, feed_connected, mqtt_settings, running_mosquitto

from hm_tui.emulator.broker import EmbeddedBroker
from hm_tui.emulator.publisher import Publisher
from hm_tui.service.feed.client import FeedClient
from hm_tui.service.feed.process import ProcessFeed
from hm_tui.service.models import DataPoint

APP = "a1b2c3d4e5f6a1b2c3d4e5f6"
VIN = "WBA12345678901234"
TOPIC = f"sandbox/level13/{APP}/{VIN}/ignition/get/state"
FLOOR_S = 1.0  # the least silence called a stall: short, so the tests wait seconds
Feed = FeedClient | ProcessFeed


def message(number: int, stamp: datetime | None = None) -> bytes:
    when = (stamp or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {
            "version": 1,
            "message_id": f"{number:064x}",
            "vin": VIN,
            "capability": "ignition",
            "property": "state",
            "data": {"ignition": {"state": {"data": "on", "timestamp": when}}},
        }
    ).encode()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


@pytest.fixture
def feeds() -> Iterator[list[Feed]]:
    started: list[Feed] = []
    yield started
    for feed in started:
        feed.stop()


def start_feed(feeds: list[Feed], kind: Any, certs: Any, port: int, **options: Any) -> Feed:
    settings = mqtt_settings(certs, port)
    feed = kind(settings, "sandbox", APP, reconnect_delay=(1, 1), stall_floor=FLOOR_S, **options)
    feeds.append(feed)
    feed.start()
    return feed


class Points:
    """Everything the feed handed on, drained as a consumer would."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.all: list[DataPoint] = []

    def count(self) -> int:
        self.all += self.feed.drain()
        return len(self.all)


async def steady(stream: Publisher, points: Points, first: int, count: int) -> None:
    """`count` messages, each sent once the one before it arrived: a cadence to learn."""
    for number in range(first, first + count):
        before = points.count()
        await stream.publish_raw(TOPIC, message(number))
        await wait_for(lambda before=before: points.count() > before, 10)


@pytest.mark.parametrize("kind", [FeedClient, ProcessFeed], ids=["in-process", "own process"])
async def test_a_stalled_stream_warns_within_its_window_and_clears_when_data_returns(
    mosquitto: Mosquitto, feeds: list[Feed], kind: Any
) -> None:
    stream = Publisher(lambda: [], app_id=APP, broker_url=mosquitto.url, certs=mosquitto.certs)
    await stream.start()
    try:
        feed = start_feed(feeds, kind, mosquitto.certs, mosquitto.port)
        await feed_connected(feed)
        points = Points(feed)
        await steady(stream, points, 1, 8)
        health = feed.health()
        assert (health.level, health.learned, health.stall_after_s) == ("ok", True, FLOOR_S)
        stalled = await wait_for(lambda: feed.health().stalled and feed.health(), 10)
        assert (stalled.level, stalled.headline) == ("warning", "stalled")
        assert stalled.since_last_s is not None and stalled.since_last_s > FLOOR_S
        assert stalled.since_last_s < FLOOR_S + 5  # seen within the window, not long after
        await stream.publish_raw(TOPIC, message(100))
        await wait_for(lambda: feed.health().level == "ok", 10, message="ok once data is back")
    finally:
        await stream.stop()


async def test_a_broker_gone_is_an_error_and_its_return_is_ok(
    mosquitto: Mosquitto, feeds: list[Feed]
) -> None:
    feed = start_feed(feeds, ProcessFeed, mosquitto.certs, mosquitto.port)
    await feed_connected(feed)
    mosquitto.stop()
    gone = await wait_for(lambda: feed.health().level == "error" and feed.health(), 10)
    assert gone.headline == "not connected" and gone.detail  # why, in words
    mosquitto.start()
    await wait_for(lambda: feed.health().level == "ok", 15, message="reconnected")


async def test_a_broker_that_stops_answering_is_said_before_paho_gives_up(
    mosquitto: Mosquitto, feeds: list[Feed]
) -> None:
    keepalive = 4  # paho pings after 4 s of quiet and gives up 4 s later; we say it at 6 s
    feed = start_feed(feeds, FeedClient, mosquitto.certs, mosquitto.port, keepalive=keepalive)
    await feed_connected(feed)
    assert mosquitto.process is not None
    pid = mosquitto.process.pid
    os.kill(pid, signal.SIGSTOP)  # the connection stays open; nothing answers on it
    try:
        silent = await wait_for(
            lambda: feed.state.status != "connected" and feed.state, 3 * keepalive
        )
        assert silent.status == "unresponsive", silent
        assert "no answer from the broker" in (silent.last_error or "")
        assert feed.health().level == "error"
    finally:
        os.kill(pid, signal.SIGCONT)
    await wait_for(lambda: feed.health().level == "ok", 30, message="answering again")


async def queue_while_away(stream: Publisher, numbers: range, stamp: datetime) -> None:
    for number in numbers:
        await stream.publish_raw(TOPIC, message(number, stamp))


async def test_the_persistent_sessions_backlog_is_marked_replayed_on_mosquitto(
    mosquitto: Mosquitto, feeds: list[Feed]
) -> None:
    stream = Publisher(lambda: [], app_id=APP, broker_url=mosquitto.url, certs=mosquitto.certs)
    await stream.start()
    try:
        first = start_feed(feeds, ProcessFeed, mosquitto.certs, mosquitto.port)
        await feed_connected(first)
        points = Points(first)
        await steady(stream, points, 1, 1)
        assert not points.all[0].replayed  # a first, live message
        first.stop()
        await queue_while_away(stream, range(10, 30), datetime.now(UTC) - timedelta(minutes=1))
        await wait_for(lambda: stream._sink.backlog() == 0, 10)

        again = start_feed(feeds, ProcessFeed, mosquitto.certs, mosquitto.port)
        later = Points(again)
        await wait_for(lambda: later.count() == 20, 15, message="the queued messages")
        assert all(point.replayed for point in later.all)
        assert again.state.replayed == 20
        await stream.publish_raw(TOPIC, message(99))  # live: stamped now
        await wait_for(lambda: later.count() == 21, 10)
        assert not later.all[-1].replayed
    finally:
        await stream.stop()


async def test_the_emulator_brokers_backlog_is_marked_replayed_too(
    embedded_broker: EmbeddedBroker, feeds: list[Feed]
) -> None:
    stream = Publisher(lambda: [], app_id=APP, broker=embedded_broker)
    first = start_feed(feeds, FeedClient, embedded_broker.certs, embedded_broker.port)
    await feed_connected(first)
    await wait_for(lambda: embedded_broker.subscribers(first.topic), 5)
    first.stop()
    client_id = embedded_broker.certs.client_id
    await wait_for(lambda: client_id not in embedded_broker.connected_clients(), 5)
    await queue_while_away(stream, range(1, 6), datetime.now(UTC) - timedelta(minutes=5))
    await wait_for(lambda: embedded_broker.backlog() == 0, 5)

    again = start_feed(feeds, FeedClient, embedded_broker.certs, embedded_broker.port)
    points = Points(again)
    await wait_for(lambda: points.count() == 5, 15, message="the queued messages")
    assert [point.replayed for point in points.all] == [True] * 5
    await stream.publish_raw(TOPIC, message(50))
    await wait_for(lambda: points.count() == 6, 10)
    assert not points.all[-1].replayed
