"""The embedded broker's connections over real sockets: a client that leaves in the middle of a
burst gets no more writes, and a connection that never completes its TLS handshake is closed."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from pathlib import Path

import pytest
from helpers import wait_for
from mqtt_helpers import Capture

from hm_tui.emulator import broker as broker_module
from hm_tui.emulator.broker import EmbeddedBroker
from hm_tui.emulator.certs import ensure_certs

APP = "a1b2c3d4e5f6a1b2c3d4e5f6"
TOPIC = f"sandbox/level13/{APP}/#"
VIN = "WBA12345678901234"
# asyncio's complaints about writes to a connection already lost (plain socket, TLS)
WRITE_AFTER_LOSS = ("socket.send() raised exception.", "SSL connection is closed")


async def queue_for_absent_session(broker: EmbeddedBroker, client_id: str, count: int) -> None:
    """Make `client_id` a persistent subscriber, let it leave, then publish `count` messages."""
    with Capture(
        broker.certs, broker.port, TOPIC, client_id=client_id, clean_session=False
    ) as capture:
        await wait_for(capture.subscribed.is_set, 10)
    await wait_for(lambda: client_id not in broker.connected_clients(), 10)
    for n in range(count):
        await broker.publish(
            f"sandbox/level13/{APP}/{VIN}/diagnostics/get/odometer", b'{"n": %d}' % n
        )
    await wait_for(lambda: broker.backlog() == 0, 20, message="messages routed")


async def test_a_client_gone_during_a_burst_gets_no_more_writes(
    broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The console's mosquitto_sub with `-C 3`, back to 3000 queued messages: it leaves after 3
    while the broker replays the rest; asyncio used to log one warning per message written to
    the lost connection (hundreds a time, 16,000 lines in an afternoon's terminal)."""
    certs = broker.certs
    await queue_for_absent_session(broker, certs.client_id, 3000)
    caplog.set_level(logging.WARNING, logger="asyncio")
    sub = await asyncio.create_subprocess_exec(
        "mosquitto_sub",
        "--disable-clean-session",
        "--cafile",
        str(certs.ca_file),
        "--cert",
        str(certs.client_cert),
        "--key",
        str(certs.client_key),
        "-h",
        "127.0.0.1",
        "-p",
        str(broker.port),
        "-q",
        "1",
        "-t",
        TOPIC,
        "-i",
        certs.client_id,
        "-C",
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(sub.communicate(), 20)
    assert sub.returncode == 0, err
    assert len(out.splitlines()) == 3
    await wait_for(
        lambda: certs.client_id not in broker.connected_clients(),
        10,
        message="the session marked disconnected",
    )
    complaints = [r.getMessage() for r in caplog.records if r.getMessage() in WRITE_AFTER_LOSS]
    assert complaints == []


async def test_a_message_for_a_connection_already_gone_is_not_waited_on(
    broker: EmbeddedBroker,
) -> None:
    """amqtt routes to a session until it hears its connection is gone: a message handed over
    meanwhile used to wait 5 s for a PUBACK that cannot come, then leave a TimeoutError
    traceback, one per message (thousands when a replay was cut short by a slow client)."""
    with Capture(
        broker.certs, broker.port, TOPIC, client_id="gone", clean_session=False
    ) as capture:
        await wait_for(capture.subscribed.is_set, 10)
    await wait_for(lambda: "gone" not in broker.connected_clients(), 10)
    _session, handler = broker._broker.sessions["gone"]  # type: ignore[union-attr]
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):  # as a waiter cut by the connection's end is
        await handler.mqtt_publish(
            f"sandbox/level13/{APP}/{VIN}/diagnostics/get/odometer", b"{}", 1, retain=False
        )
    assert time.monotonic() - started < 1


async def test_a_connection_without_a_tls_handshake_is_closed_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain TCP client that waits for the server to speak first used to hold its connection
    for asyncio's default 60 s; now it is closed once the handshake timeout passes."""
    monkeypatch.setattr(broker_module, "TLS_HANDSHAKE_TIMEOUT_S", 0.5, raising=False)
    embedded = EmbeddedBroker("127.0.0.1", 0, ensure_certs(tmp_path))
    await embedded.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", embedded.port)
        started = time.monotonic()
        with contextlib.suppress(ConnectionResetError):  # a reset is as good as an EOF here
            assert await asyncio.wait_for(reader.read(100), 10) == b""
        assert time.monotonic() - started < 5
        writer.close()
    finally:
        await embedded.stop()


async def test_a_client_certificate_from_another_ca_is_refused(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    foreign = ensure_certs(tmp_path / "foreign")
    certs = dataclasses.replace(
        broker.certs, client_cert=foreign.client_cert, client_key=foreign.client_key
    )
    sub = await asyncio.create_subprocess_exec(
        "mosquitto_sub",
        "--cafile",
        str(certs.ca_file),
        "--cert",
        str(certs.client_cert),
        "--key",
        str(certs.client_key),
        "-h",
        "127.0.0.1",
        "-p",
        str(broker.port),
        "-t",
        TOPIC,
        "-i",
        "foreign-client",
        "-C",
        "1",
        "-W",
        "5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(sub.communicate(), 15)
    assert sub.returncode != 0 and out == b""
    assert sub.returncode != 0 and out == b""
    assert b"timed out" not in err.lower(), err  # refused, not merely left waiting
    assert "foreign-client" not in broker.subscribers(TOPIC)
