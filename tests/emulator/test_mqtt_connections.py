"""The embedded broker's connections over real sockets: a client that leaves in the middle of a
burst gets no more writes, and a connection that never completes its TLS handshake is closed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from helpers import wait_for
from mqtt_helpers import Capture

from hm_tui.emulator.broker import EmbeddedBroker
from hm_tui.emulator.certs import ensure_certs

APP = "a1b2c3d4e5f6a1b2c3d4e5f6"
TOPIC = f"sandbox/level13/{APP}/#"
VIN = "WBA12345678901234"
# asyncio's complaints about writes to a connection already lost (plain socket, TLS)
WRITE_AFTER_LOSS = ("socket.send() raised exception.", "SSL connection is closed")


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    embedded = EmbeddedBroker("127.0.0.1", 0, ensure_certs(tmp_path))
    await embedded.start()
    yield embedded
    await embedded.stop()


async def queue_for_absent_session(broker: EmbeddedBroker, client_id: str, count: int) -> None:
    """Make `client_id` a persistent subscriber, let it leave, then publish `count` messages."""
    with Capture(broker.certs, broker.port, TOPIC, client_id=client_id,
                 clean_session=False) as capture:
        await wait_for(capture.subscribed.is_set, 10)
    await wait_for(lambda: client_id not in broker.connected_clients(), 10)
    for n in range(count):
        await broker.publish(f"sandbox/level13/{APP}/{VIN}/diagnostics/get/odometer",
                             b'{"n": %d}' % n)
    await wait_for(lambda: broker.backlog() == 0, 20, message="messages routed")


async def test_a_client_gone_during_a_burst_gets_no_more_writes(
        broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture) -> None:
    """The console's mosquitto_sub with `-C 3`, back to 3000 queued messages: it leaves after 3
    while the broker replays the rest; asyncio used to log one warning per message written to
    the lost connection (hundreds a time, 16,000 lines in an afternoon's terminal)."""
    certs = broker.certs
    await queue_for_absent_session(broker, certs.client_id, 3000)
    caplog.set_level(logging.WARNING, logger="asyncio")
    sub = await asyncio.create_subprocess_exec(
        "mosquitto_sub", "--disable-clean-session", "--cafile", str(certs.ca_file),
        "--cert", str(certs.client_cert), "--key", str(certs.client_key), "-h", "127.0.0.1",
        "-p", str(broker.port), "-q", "1", "-t", TOPIC, "-i", certs.client_id, "-C", "3",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(sub.communicate(), 20)
    assert sub.returncode == 0, err
    assert len(out.splitlines()) == 3
    await wait_for(lambda: certs.client_id not in broker.connected_clients(), 10,
                   message="the session marked disconnected")
    complaints = [r.getMessage() for r in caplog.records if r.getMessage() in WRITE_AFTER_LOSS]
    assert complaints == []
