"""Another client using the same certificate (client id) takes the MQTT session, on mosquitto and
on the emulator's broker: the broker closes the connection holding it, every time, and the feed
says so plainly within one keepalive, stays away for a while instead of fighting back, and comes
back on its own once the other client is gone (never a silent freeze)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for
from mqtt_helpers import mqtt_settings

from hm_tui.service.feed.client import KEEPALIVE_S, FeedClient
from hm_tui.service.feed.takeover import HOLD_OFF_MIN_S, TAKEN
from reliability.brokers import BROKERS, AnyBroker, SameIdClient, any_broker, same_id_subscriber
from reliability.figures import Figures
from reliability.mqtt_faults import APP, VIN, PacedPublisher, message_id
from reliability.support import HM_TUI, cli_env, emulator_profile, write_config

FEED_TOPIC = f"sandbox/level13/{APP}/#"
MESSAGE_TOPIC = f"sandbox/level13/{APP}/{VIN}/ignition/get/state"


@pytest.fixture(params=BROKERS)
async def broker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AnyBroker]:
    async with any_broker(request.param, tmp_path) as started:
        yield started


async def test_a_new_connection_with_the_same_client_id_takes_the_session_every_time(
    broker: AnyBroker,
) -> None:
    """The emulator's broker closed the holder the first time only: the second time the session
    read "disconnected" and the old connection stayed open, silent (the dashboard's freeze)."""
    first = SameIdClient(broker, FEED_TOPIC)
    second = third = None
    publisher = PacedPublisher(broker.certs, broker.port, MESSAGE_TOPIC)
    try:
        await wait_for(first.connected.is_set, 10, message="the first client connected")
        second = SameIdClient(broker, FEED_TOPIC)
        await wait_for(first.lost.is_set, 10, message="the first client closed by the broker")
        await wait_for(second.connected.is_set, 10)
        third = SameIdClient(broker, FEED_TOPIC)
        await wait_for(second.lost.is_set, 10, message="the second client closed by the broker")
        await wait_for(third.connected.is_set, 10)
        await asyncio.to_thread(publisher.publish, [message_id(1)])
        await wait_for(lambda: third.messages, 10, message="the newest connection gets the data")
        assert second.messages == [] and first.messages == []
    finally:
        publisher.close()
        for client in (first, second, third):
            if client is not None:
                client.close()


async def test_a_message_never_acknowledged_goes_to_the_sessions_next_connection(
    broker: AnyBroker,
) -> None:
    """MQTT's persistent session: what the broker sent without getting a PUBACK is sent again
    to the next connection, after a clean disconnect and after a takeover alike. The emulator's
    broker forgot such a message (lost at every handover between two feeds)."""
    publisher = PacedPublisher(broker.certs, broker.port, MESSAGE_TOPIC)
    silent = SameIdClient(broker, FEED_TOPIC, acks=False)
    clients = [silent]
    try:
        await wait_for(silent.connected.is_set, 10)
        await asyncio.to_thread(publisher.publish, [message_id(1)])
        await wait_for(lambda: silent.messages, 10, message="delivered, not acknowledged")
        taker = SameIdClient(broker, FEED_TOPIC)  # takes the session over
        clients.append(taker)
        await wait_for(lambda: taker.messages, 10, message="sent again after the takeover")
        taker.close()
        await asyncio.to_thread(publisher.publish, [message_id(2)])
        silent = SameIdClient(broker, FEED_TOPIC, acks=False)
        clients.append(silent)
        await wait_for(lambda: silent.messages, 10)
        silent.close()  # a clean DISCONNECT, the message still not acknowledged
        back = SameIdClient(broker, FEED_TOPIC)
        clients.append(back)
        await wait_for(lambda: back.messages, 10, message="sent again after a disconnect")
    finally:
        publisher.close()
        for client in clients:
            client.close()
    assert [json.loads(m)["message_id"] for m in taker.messages] == [message_id(1)]
    assert [json.loads(m)["message_id"] for m in back.messages] == [message_id(2)]


async def test_a_takeover_is_said_within_one_keepalive_with_backoff_and_the_feed_comes_back(
    broker: AnyBroker, tmp_path: Path, figures: Figures
) -> None:
    feed = FeedClient(mqtt_settings(broker.certs, broker.port), "sandbox", APP)
    feed.start()
    other: subprocess.Popen[bytes] | None = None
    publisher = PacedPublisher(broker.certs, broker.port, MESSAGE_TOPIC)
    try:
        await wait_for(lambda: feed.state.subscribed, 15, message="the feed subscribed")
        other = subprocess.Popen(
            same_id_subscriber(broker, FEED_TOPIC),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        figures.fault(f"another client took the session ({broker.kind})")
        await wait_for(
            lambda: feed.state.status == "taken over",
            KEEPALIVE_S,
            message=f"the takeover recognised ({feed.state})",
        )
        taken_at = time.monotonic()
        state = feed.state
        assert (state.last_error or "").startswith(TAKEN) and state.takeovers == 1
        await wait_for(lambda: feed.state.status == "connected", 2 * HOLD_OFF_MIN_S + 10)
        assert time.monotonic() - taken_at >= HOLD_OFF_MIN_S - 0.5, "it must stay away a while"
        other.terminate()
        other.wait(10)
        await wait_for(
            lambda: feed.state.status == "connected" and feed.state.subscribed,
            4 * HOLD_OFF_MIN_S + 10,
            message=f"the feed back once the other client left ({feed.state})",
        )
        await asyncio.to_thread(publisher.publish, [message_id(7)])
        await wait_for(
            lambda: any(point.message_id == message_id(7) for point in feed.drain()),
            10,
            message="data flows again",
        )
    finally:
        publisher.close()
        if other is not None and other.poll() is None:
            other.kill()
            other.wait(10)
        await asyncio.to_thread(feed.stop)


async def test_feed_commands_say_another_client_took_the_session(
    broker: AnyBroker, emulator: Any, tmp_path: Path
) -> None:
    """`hm-tui feed` holds the session, `hm-tui feed --json` attached to it: both say so."""
    profile = replace(
        emulator_profile(emulator), app_id=APP, mqtt=mqtt_settings(broker.certs, broker.port)
    )
    config = write_config(tmp_path / "config" / "config.toml", profile)
    text_err, json_err = tmp_path / "text.err", tmp_path / "json.err"
    feeds: list[subprocess.Popen[bytes]] = []
    other: subprocess.Popen[bytes] | None = None
    try:
        for flags, err_path in (([], text_err), (["--json"], json_err)):
            with err_path.open("wb") as err:
                feeds.append(
                    subprocess.Popen(
                        [*HM_TUI, "feed", *flags],
                        env=cli_env(config, tmp_path / "data"),
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                    )
                )
            await wait_for(lambda p=err_path: "connected" in p.read_text(), 20)
        assert '"role": "attached"' in json_err.read_text()
        other = subprocess.Popen(
            same_id_subscriber(broker, FEED_TOPIC),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await wait_for(
            lambda: f"feed taken over: {TAKEN}; trying again at" in text_err.read_text(),
            KEEPALIVE_S,
            message=f"the takeover on stderr ({text_err.read_text()})",
        )
        await wait_for(lambda: taken_over(json_err), 5, message="the attached feed told")
        said = taken_over(json_err)
        assert said["level"] == "error" and said["error"].startswith(TAKEN)
    finally:
        for process in (other, *feeds):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
    assert [feed.returncode for feed in feeds] == [0, 0]
    assert "Traceback" not in text_err.read_text() + json_err.read_text()


def taken_over(err_path: Path) -> dict[str, Any] | None:
    """The first `feed_status` line of `feed --json` saying the session was taken over."""
    for line in err_path.read_text().splitlines():
        event = json.loads(line)
        if event.get("status") == "taken over":
            return dict(event)
    return None
