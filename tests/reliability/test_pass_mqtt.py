"""Hostile MQTT (issue 20, the independent pass): a TLS port that takes the TCP connection and
never finishes the handshake, one that finishes it and never answers the MQTT CONNECT, and
topics whose VIN or property segment carries bidi, zero-width or escape characters, through
real mosquitto and the real `hm-tui feed` binary. The feed says what is wrong within a bounded
time, never sits at "connecting"; nothing active from a topic reaches its output."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hm_tui.emulator.certs import ensure_certs
from hm_tui.emulator.publisher import Publisher
from hm_tui.service.feed.client import FeedClient
from hm_tui.service.feed.mqtt import CONNECT_TIMEOUT_S
from reliability.figures import Figures
from reliability.hostile_checks import assert_inert
from reliability.support import cli_env, emulator_profile, write_config
from tests.cli.test_feed_cmd import FeedProcess
from tests.helpers import wait_for
from tests.mqtt_helpers import Mosquitto, mqtt_settings, running_mosquitto

VIN = "WBA12345678901234"


@pytest.fixture
async def silent_port() -> AsyncIterator[tuple[int, list[Any]]]:
    """A port that accepts TCP connections and never says a byte (no TLS handshake)."""
    held: list[Any] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], held
    server.close()
    for writer in held:
        writer.close()


async def test_a_tls_port_that_never_finishes_the_handshake_is_said_within_the_deadline(
    emulator: Any, silent_port: tuple[int, list[Any]], tmp_path: Path, figures: Figures
) -> None:
    figures.tried("hostile MQTT: a broker that never finishes the TLS handshake")
    port, held = silent_port
    certs = ensure_certs(tmp_path / "certs")
    profile = replace(emulator_profile(emulator), mqtt=mqtt_settings(certs, port))
    env = cli_env(write_config(tmp_path / "config" / "config.toml", profile), tmp_path / "data")
    feed = FeedProcess(env, tmp_path, "--json")
    try:
        said = await wait_for(
            lambda: [s for s in feed.statuses() if s["status"] == "retrying"],
            CONNECT_TIMEOUT_S * 2 + 10,  # the handshake's deadline, and room for a busy machine
            message="hm-tui feed saying it cannot connect",
        )
        assert held, "the feed never opened a connection to the silent port"
        assert said[0]["level"] == "error" and said[0]["headline"] == "not connected", said
        assert "TLS handshake" in said[0]["error"] and "TLS port" in said[0]["error"], said
        assert await feed.stop() == 0
    finally:
        feed.kill()
    assert_inert(feed.err.read_text(), "stderr")


async def test_a_broker_that_never_answers_connect_is_said_after_one_keepalive(
    tmp_path: Path, figures: Figures
) -> None:
    figures.tried("hostile MQTT: a TLS broker that never answers CONNECT")
    certs = ensure_certs(tmp_path / "certs")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certs.server_cert), str(certs.server_key))
    handshakes: list[Any] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handshakes.append(writer)  # (the handshake is done before this runs)
        await reader.read()

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    feed = FeedClient(
        mqtt_settings(certs, port, host="localhost"),
        "sandbox",
        "a" * 24,
        keepalive=2,
        share_dir=str(tmp_path / "share"),
    )
    feed.start()
    try:
        state = await wait_for(
            lambda: feed.state.status == "retrying" and feed.state,
            2 * 3 + 10,
            message="the feed giving up on a broker that never answers CONNECT",
        )
        assert handshakes, "the TLS handshake never completed"
        assert "never answered as an MQTT broker" in (state.last_error or ""), state
        assert feed.health().headline == "not connected"
    finally:
        feed.stop()
        server.close()
        for writer in handshakes:
            writer.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


def payload(vin: str, number: int, value: str = "on") -> bytes:
    when = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {
            "version": 1,
            "message_id": f"{number:064x}",
            "vin": vin,
            "data": {"ignition": {"state": {"data": value, "timestamp": when}}},
        }
    ).encode()


# mosquitto refuses a topic with a control character (it drops the publisher: "malformed
# packet"), so escapes are tried on the feed's own intake below; these it delivers
HOSTILE_SEGMENTS = [
    "\u202e43210987654321ABW",  # reads as a reversed VIN
    "WBA1234567890\u200b1234",  # zero-width inside the VIN
    "\u2066WBA12345678901234\u2069",  # an isolate around it
    "WBA12345678901234\u034f",  # CGJ
    "WBA12345678901234\ufe0f",  # a variation selector
]
ESCAPES = ["\x1b]52;c;cm0gLXJmIH4=\x07", "\x1b[2J", "\x9b31m", "\x00"]


def hostile_cases(base: str, segment: str) -> list[tuple[str, bytes]]:
    return [
        (f"{base}/{segment}/ignition/get/state", payload(VIN, 0)),  # the topic's VIN only
        (f"{base}/{segment}/ignition/get/state", payload(segment, 0)),  # both VINs
        (f"{base}/{VIN}/ignition/get/{segment}", payload(VIN, 0)),  # the property segment
        (f"{base}/{VIN}/{segment}/get/state", payload(VIN, 0)),  # the capability segment
    ]


def test_escapes_in_topic_segments_stay_escaped_in_what_the_feed_keeps(
    tmp_path: Path, figures: Figures
) -> None:
    certs = ensure_certs(tmp_path / "certs")
    feed = FeedClient(mqtt_settings(certs, 9), "sandbox", "a" * 24)
    base = "sandbox/level13/" + "a" * 24
    for segment in [*ESCAPES, *HOSTILE_SEGMENTS]:
        for number, (topic, body) in enumerate(hostile_cases(base, segment), 1):
            figures.tried("hostile MQTT: escapes or bidi in a topic segment")
            feed.take(topic, body.replace(b"0" * 64, b"%064x" % (number + 100 * len(topic))))
    state = feed.state
    points = feed.drain(10_000)
    assert {p.vin for p in points} == {VIN}, {p.vin for p in points}
    for point in points:
        assert_inert(f"{point.vin} {point.capability} {point.property} {point.value}", "point")
    assert state.bad_payloads >= 2 * (len(ESCAPES) + len(HOSTILE_SEGMENTS)), state
    for sample in state.bad_samples:
        assert_inert(f"{sample.reason} {sample.topic} {sample.sample}", "bad sample")


async def test_escapes_and_bidi_in_topic_segments_never_reach_the_feed_output(
    emulator: Any, broker: Mosquitto, tmp_path: Path, figures: Figures
) -> None:
    app_id = emulator.credentials["app_id"]
    profile = replace(emulator_profile(emulator), mqtt=mqtt_settings(broker.certs, broker.port))
    env = cli_env(write_config(tmp_path / "config" / "config.toml", profile), tmp_path / "data")
    publisher = Publisher(lambda: [], app_id=app_id, broker_url=broker.url, certs=broker.certs)
    await publisher.start()
    for name in ("text", "--json"):
        (tmp_path / name).mkdir()
    runs = {
        flags: FeedProcess(env, tmp_path / "-".join(flags or ("text",)), *flags)
        for flags in [(), ("--json",)]
    }
    base = f"sandbox/level13/{app_id}"
    number = 0
    try:
        # live first: a message sent now is printed by both
        for _ in range(30):
            number += 1
            await publisher.publish_raw(f"{base}/{VIN}/ignition/get/state", payload(VIN, number))
            try:
                await wait_for(lambda: all(r.lines() for r in runs.values()), 1)
                break
            except AssertionError:
                continue
        sent = 0
        for segment in HOSTILE_SEGMENTS:
            for topic, body in hostile_cases(base, segment):
                number += 1
                body = body.replace(b'"' + b"0" * 64 + b'"', b'"%064x"' % number)
                figures.tried("hostile MQTT: escapes or bidi in a topic segment")
                await publisher.publish_raw(topic, body)
                sent += 1
        # a last ordinary message: once both printed it, everything before it was handled
        number += 1
        last = payload(VIN, number, "off")
        await publisher.publish_raw(f"{base}/{VIN}/ignition/get/state", last)
        await wait_for(
            lambda: all(any("off" in line for line in r.lines()) for r in runs.values()),
            15,
            message="the last ordinary message printed",
        )
        assert "malformed" not in broker.log, "mosquitto refused a topic: the case is void"
        for run in runs.values():
            assert await run.stop() == 0
    finally:
        for run in runs.values():
            run.kill()
        await publisher.stop()
    for flags, run in runs.items():
        out, err = run.out.read_text(), run.err.read_text()
        assert "Traceback" not in err, err
        assert_inert(out, f"feed {flags} stdout")
        assert_inert(err, f"feed {flags} stderr")
        if not flags:
            assert "43210987654321ABW" not in out, out  # no line shown as the reversed VIN
        else:
            vins = {json.loads(line)["vin"] for line in out.splitlines()}
            assert vins == {VIN}, vins  # only the VIN both topic and payload name
