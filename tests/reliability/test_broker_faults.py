"""Broker faults with a real mosquitto (persistence on, mutual TLS): the broker restarted and the
client's connection cut while QoS-1 messages flow; the client itself stopped and started again.
Every message the broker acknowledged reaches the feed, and none is handed on twice: the
in-process FeedClient and the ProcessFeed the dashboard uses (paho in a child process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for
from mqtt_helpers import Mosquitto, feed_connected, mqtt_settings, running_mosquitto

from hm_tui.service.feed.client import FeedClient
from hm_tui.service.feed.process import ProcessFeed
from reliability.figures import Figures
from reliability.mqtt_faults import APP, CuttableProxy, PacedPublisher, message_id

STREAM = 600
Feed = FeedClient | ProcessFeed


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


@pytest.fixture
async def proxy(broker: Mosquitto) -> AsyncIterator[CuttableProxy]:
    link = CuttableProxy(broker.port)
    await link.start()
    yield link
    await link.stop()


@pytest.fixture(params=[FeedClient, ProcessFeed], ids=["in-process", "own process"])
def feed_kind(request: pytest.FixtureRequest) -> Any:
    return request.param


def new_feed(kind: Any, broker: Mosquitto, port: int) -> Feed:
    """The app's feed client, with the same client id every time (its persistent session)."""
    return kind(mqtt_settings(broker.certs, port), "sandbox", APP, reconnect_delay=(1, 1))


class Delivered:
    """Every message id the feed handed on, drained as the app's UI timer would."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.ids: list[str] = []

    def drain(self) -> set[str]:
        self.ids += [point.message_id for point in self.feed.drain() if point.message_id]
        return set(self.ids)


async def subscribed(feed: Feed, publisher: PacedPublisher, delivered: Delivered) -> None:
    """Connected, and the subscription proven live by a probe message."""
    await feed_connected(feed)
    probe = message_id(0)
    await asyncio.to_thread(publisher.publish, [probe])
    await wait_for(lambda: probe in delivered.drain(), 10, message="the probe message")


async def test_broker_restart_and_cut_connections_lose_nothing_and_repeat_nothing(
    broker: Mosquitto, proxy: CuttableProxy, feed_kind: Any, figures: Figures
) -> None:
    feed = new_feed(feed_kind, broker, proxy.port)
    publisher = PacedPublisher(broker.certs, broker.port)
    delivered = Delivered(feed)
    feed.start()
    try:
        await subscribed(feed, publisher, delivered)
        ids = [message_id(n) for n in range(1, STREAM + 1)]
        publisher.start(ids)
        for at, fault in ((100, "cut"), (250, "restart"), (400, "cut")):
            await wait_for(lambda at=at: len(publisher.sent) >= at or publisher.error, 30)
            if fault == "cut":
                await wait_for(lambda: proxy.connections() == 1, 10, message="feed connected")
                proxy.cut()
                figures.fault("client connection cut")
            else:
                await asyncio.to_thread(broker.restart)
                figures.fault("mosquitto restarted")
        await wait_for(lambda: publisher.done, 60, message="every message acknowledged")
        assert publisher.error is None, publisher.error
        again = ids[::50]  # the platform repeats messages (at-least-once): so do we
        await asyncio.to_thread(publisher.publish, again)
        await wait_for(
            lambda: delivered.drain() >= set(ids),
            30,
            message=f"every message delivered ({feed.state})",
        )
        await wait_for(lambda: feed.state.duplicates >= len(again), 10)
        assert feed.state.status == "connected" and proxy.cuts == 2
    finally:
        publisher.close()
        feed.stop()
    shown = [i for i in delivered.ids if i != message_id(0)]
    assert len(shown) == len(set(shown)) == STREAM  # each message handed on exactly once
    figures.delivery(STREAM + len(again), len(set(ids) - set(shown)), feed.state.duplicates)


async def test_client_restart_resumes_its_persistent_session(
    broker: Mosquitto, feed_kind: Any, figures: Figures
) -> None:
    publisher = PacedPublisher(broker.certs, broker.port)
    first = new_feed(feed_kind, broker, broker.port)
    first.start()
    try:
        await subscribed(first, publisher, Delivered(first))
        first.stop()  # a clean disconnect: the broker keeps the session and queues for it
        figures.fault("client restarted")
        ids = [message_id(n) for n in range(1, 201)]
        await asyncio.to_thread(publisher.publish, ids)
        await asyncio.to_thread(broker.restart)  # the queue is on disk, not only in memory
        figures.fault("mosquitto restarted")
        second = new_feed(feed_kind, broker, broker.port)
        delivered = Delivered(second)
        second.start()
        try:
            await wait_for(
                lambda: delivered.drain() >= set(ids),
                20,
                message=f"the queued messages ({second.state})",
            )
        finally:
            second.stop()
    finally:
        publisher.close()
    assert sorted(delivered.ids) == ids
    figures.delivery(len(ids), len(set(ids) - set(delivered.ids)), 0)
