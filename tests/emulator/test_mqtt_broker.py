"""The embedded broker and the publisher: the console's command works, certificates are required,
and the stream is exactly the V1/V2 wire format of docs/platform.md#mqtt-streaming-push."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest
from helpers import wait_for
from mqtt_helpers import Capture, feed_connected, mqtt_settings

from hm_tui.emulator import broker as broker_module
from hm_tui.emulator.broker import EmbeddedBroker
from hm_tui.emulator.certs import CertBundle, ensure_certs
from hm_tui.emulator.publisher import Publisher
from hm_tui.service.feed.client import FeedClient

APP = "a1b2c3d4e5f6a1b2c3d4e5f6"
CAR = ("WBA12345678901234", "bmw")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def publisher(broker: EmbeddedBroker, cars: list[tuple[str, str]], **kwargs: object) -> Publisher:
    return Publisher(lambda: cars, app_id=APP, broker=broker, **kwargs)  # type: ignore[arg-type]


def console_command(certs: CertBundle, port: int, *, with_certificate: bool = True) -> list[str]:
    """The console's mosquitto_sub line (docs/platform.md#mqtt-streaming-push), for our broker."""
    command = ["mosquitto_sub", "--disable-clean-session", "--cafile", str(certs.ca_file)]
    if with_certificate:
        command += ["--cert", str(certs.client_cert), "--key", str(certs.client_key)]
    return [
        *command,
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-q",
        "1",
        "-t",
        f"sandbox/level13/{APP}/#",
        "-i",
        certs.client_id,
    ]


async def test_console_mosquitto_sub_command_receives_the_v1_stream(broker: EmbeddedBroker) -> None:
    command = [*console_command(broker.certs, broker.port), "-C", "3", "-W", "20", "-v"]
    sub = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    await wait_for(lambda: broker.subscribers(f"sandbox/level13/{APP}/#"), 10)
    stream = publisher(broker, [CAR])
    await stream.report_now(*CAR)
    out, err = await asyncio.wait_for(sub.communicate(), 20)
    lines = out.decode().splitlines()
    assert sub.returncode == 0, err
    assert len(lines) == 3
    topic, payload = lines[0].split(" ", 1)
    assert topic.startswith(f"sandbox/level13/{APP}/{CAR[0]}/")
    assert json.loads(payload)["version"] == 1


async def test_client_without_certificate_is_refused(broker: EmbeddedBroker) -> None:
    command = console_command(broker.certs, broker.port, with_certificate=False)
    sub = await asyncio.create_subprocess_exec(
        *command,
        "-C",
        "1",
        "-W",
        "10",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(sub.communicate(), 15)
    assert sub.returncode != 0 and out == b""
    assert b"not authorised" in err.lower() or b"not authorized" in err.lower()


async def test_client_without_certificate_cannot_resume_a_known_session(
    broker: EmbeddedBroker,
) -> None:
    topic = f"sandbox/level13/{APP}/#"
    with Capture(
        broker.certs, broker.port, topic, client_id="fleet-1", clean_session=False
    ) as owner:
        await wait_for(owner.subscribed.is_set, 10)
    with Capture(
        broker.certs,
        broker.port,
        topic,
        client_id="fleet-1",
        clean_session=False,
        with_certificate=False,
    ) as intruder:
        await wait_for(lambda: intruder.refusal, 10)
        await broker.publish(f"sandbox/level13/{APP}/{CAR[0]}/ignition/get/state", b"{}")
        assert not intruder.connected.is_set() and intruder.messages == []


async def test_an_absent_session_keeps_only_the_newest_messages_up_to_the_limit(
    broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """amqtt alone queues without limit and re-sends it all at once on reconnect: past 65,535
    in flight its broker loop stalls for good (seen after an hour away at 200 msg/s)."""
    monkeypatch.setattr(broker_module, "MAX_QUEUED", 5)
    topic = f"sandbox/level13/{APP}/#"
    with Capture(
        broker.certs, broker.port, topic, client_id="fleet-away", clean_session=False
    ) as away:
        await wait_for(away.subscribed.is_set, 10)
    await wait_for(lambda: "fleet-away" not in broker.connected_clients(), 10)
    for n in range(12):
        await broker.publish(
            f"sandbox/level13/{APP}/{CAR[0]}/odometer/get/state", json.dumps({"n": n}).encode()
        )
    # routed while the session is away (under load the broker's loop routed some only once it
    # was back: they went to it live, and the test saw 0..12)
    await wait_for(lambda: broker.backlog() == 0, 20, message="the messages routed")
    with Capture(
        broker.certs, broker.port, topic, client_id="fleet-away", clean_session=False
    ) as back:
        await wait_for(lambda: len(back.messages) >= 5, 10)
        await broker.publish(f"sandbox/level13/{APP}/{CAR[0]}/odometer/get/state", b'{"n": 12}')
        await wait_for(lambda: len(back.messages) >= 6, 10)
    assert [json.loads(payload)["n"] for _, payload in back.messages] == [7, 8, 9, 10, 11, 12]
    assert broker.dropped_for_absent == 7


async def test_v1_messages_match_the_platform_wire_format(broker: EmbeddedBroker) -> None:
    with Capture(broker.certs, broker.port, f"sandbox/level13/{APP}/#") as capture:
        await wait_for(capture.subscribed.is_set, 10)
        sent = await publisher(broker, [CAR], duplicate_rate=0).report_now(*CAR)
        await wait_for(lambda: len(capture.messages) == sent, 10)
    for topic, raw in capture.messages:
        body = json.loads(raw)
        env, level, app, vin, capability, get, prop = topic.split("/")
        assert (env, level, app, vin, get) == ("sandbox", "level13", APP, CAR[0], "get")
        assert set(body) == {"version", "message_id", "vin", "capability", "property", "data"}
        assert body["version"] == 1 and HEX64.match(body["message_id"])
        assert (body["vin"], body["capability"], body["property"]) == (vin, capability, prop)
        item = body["data"][capability][prop]
        for entry in item if isinstance(item, list) else [item]:
            assert set(entry) == {"data", "timestamp"} and entry["timestamp"].endswith("Z")


async def test_v2_messages_carry_one_report_per_car_as_arrays(broker: EmbeddedBroker) -> None:
    with Capture(broker.certs, broker.port, f"sandbox/level13/{APP}") as capture:
        await wait_for(capture.subscribed.is_set, 10)
        await publisher(broker, [CAR], format="v2", duplicate_rate=0).report_now(*CAR)
        await wait_for(lambda: capture.messages, 10)
    ((topic, raw),) = capture.messages
    body = json.loads(raw)
    assert topic == f"sandbox/level13/{APP}"
    assert set(body) == {"version", "application_id", "message_id", "vin", "data"}
    assert (body["version"], body["application_id"], body["vin"]) == (2, APP, CAR[0])
    assert HEX64.match(body["message_id"])
    assert all(
        isinstance(items, list) and items
        for props in body["data"].values()
        for items in props.values()
    )
    assert len(body["data"]) >= 4


async def test_at_least_once_sends_the_same_message_id_twice(broker: EmbeddedBroker) -> None:
    with Capture(broker.certs, broker.port, f"sandbox/level13/{APP}/#") as capture:
        await wait_for(capture.subscribed.is_set, 10)
        stream = publisher(broker, [CAR], duplicate_rate=1.0)
        sent = await stream.report_now(*CAR)
        await wait_for(lambda: len(capture.messages) == sent, 10)
    ids = [json.loads(raw)["message_id"] for _, raw in capture.messages]
    assert len(set(ids)) == len(ids) // 2 and stream.duplicates == len(ids) // 2
    assert stream.published == len(ids)


async def test_only_approved_cars_report_and_the_set_is_followed(broker: EmbeddedBroker) -> None:
    approved = [CAR]
    newcomer = ("WVWZZZ1JZXW000001", "volkswagen")
    fast = time.time()
    stream = Publisher(
        lambda: list(approved),
        app_id=APP,
        broker=broker,
        clock=lambda: fast + (time.monotonic() - start) * 3600,
        max_rate=1000,
    )
    start = time.monotonic()
    with Capture(broker.certs, broker.port, f"sandbox/level13/{APP}/#") as capture:
        await wait_for(capture.subscribed.is_set, 10)
        await stream.start()
        try:
            await wait_for(lambda: capture.messages, 10)
            assert {topic.split("/")[3] for topic, _ in capture.messages} == {CAR[0]}
            approved[:] = [newcomer]
            await wait_for(lambda: any(newcomer[0] in topic for topic, _ in capture.messages), 10)
        finally:
            await stream.stop()


async def test_message_rate_is_capped(broker: EmbeddedBroker) -> None:
    cars = [(f"WBA0000000000{i:04d}", "bmw") for i in range(300)]
    stream = Publisher(
        lambda: cars,
        app_id=APP,
        broker=broker,
        max_rate=40,
        tick=0.05,
        clock=lambda: time.time() + 3600,
    )
    started = time.monotonic()
    await stream.start()
    try:
        await wait_for(lambda: stream.published >= 40, 10)
        elapsed = time.monotonic() - started
        assert stream.published <= 40 + 40 * elapsed + 30  # burst + rate + one report's worth
    finally:
        await stream.stop()


async def test_dropped_clients_reconnect_by_themselves(broker: EmbeddedBroker) -> None:
    feed = FeedClient(
        mqtt_settings(broker.certs, broker.port), "sandbox", APP, reconnect_delay=(1, 1)
    )
    feed.start()
    try:
        await feed_connected(feed)
        assert await broker.drop_clients() == 1
        await wait_for(lambda: feed.state.status == "retrying", 5)
        await feed_connected(feed)
    finally:
        feed.stop()


async def test_stop_is_quick_and_leaves_no_tasks(tmp_path: Path) -> None:
    embedded = EmbeddedBroker("127.0.0.1", 0, ensure_certs(tmp_path))
    await embedded.start()
    assert embedded.port > 0
    before = time.monotonic()
    await embedded.stop()
    assert time.monotonic() - before < 1.0
    await asyncio.sleep(0)
    leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    assert leftovers == []
