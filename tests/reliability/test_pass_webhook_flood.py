"""A flood of connections against the real webhook receiver (issue 20, the third pass): raw
sockets opened and left idle, far more of them than the receiver may hold. The receiver holds at
most `MAX_CONNECTIONS` (64) at once: a connection past the cap gets a 503 and is closed at once
(not after the read deadline, set long here so that only the cap can close it), and a real
signed delivery gets through as soon as one of the held connections ends. What the receiver
holds is counted from the kernel's table of TCP connections, not only from its own counter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hm_tui.service.webhook.receiver import MAX_CONNECTIONS, ClearanceEvent, WebhookReceiver
from reliability.figures import Figures
from reliability.test_pass_webhook import SECRET, VIN, delivery
from tests.helpers import wait_for

FLOOD = 1_000
LONG_DEADLINE_S = 600.0  # no connection is closed for being slow during the test
ESTABLISHED = "01"


def held_by_receiver(port: int) -> int:
    """Established TCP connections whose local end is the receiver's port (the kernel's view:
    each is a descriptor the receiver holds)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state == ESTABLISHED and int(local.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


async def refused_at_once(port: int) -> bytes:
    """Open a connection, say nothing, read what comes until the receiver closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await reader.read()  # (EOF: closed by the receiver, or a reset)
    except ConnectionError:
        return b""
    finally:
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[WebhookReceiver, list[ClearanceEvent]]]:
    events: list[ClearanceEvent] = []
    hook = WebhookReceiver("127.0.0.1:0", SECRET, events.append, read_deadline=LONG_DEADLINE_S)
    await hook.start()
    yield hook, events
    await hook.stop()


@pytest.mark.timeout(300)
async def test_a_flood_of_idle_connections_is_capped_and_a_delivery_gets_a_freed_slot(
    receiver: tuple[WebhookReceiver, list[ClearanceEvent]], figures: Figures
) -> None:
    hook, events = receiver
    assert MAX_CONNECTIONS == 64
    held = [await asyncio.open_connection("127.0.0.1", hook.port) for _ in range(MAX_CONNECTIONS)]
    try:
        await wait_for(lambda: hook.connections == MAX_CONNECTIONS, message="64 held")
        await wait_for(lambda: held_by_receiver(hook.port) == MAX_CONNECTIONS)

        # the flood: each one answered 503 and closed, long before any deadline would
        answers = await asyncio.wait_for(
            asyncio.gather(*(refused_at_once(hook.port) for _ in range(FLOOD))),
            LONG_DEADLINE_S / 4,
        )
        refused = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
        assert len(refused) + answers.count(b"") == FLOOD, {a[:40] for a in answers}
        assert len(refused) >= FLOOD * 0.9, f"{len(refused)} of {FLOOD} said 503"
        assert all(b"Retry-After: 5" in a for a in refused)
        assert hook.stats["busy"] == FLOOD
        assert hook.connections == MAX_CONNECTIONS
        await wait_for(lambda: held_by_receiver(hook.port) == MAX_CONNECTIONS)

        # a real signed delivery while every slot is held: refused, not handed on
        raw, headers = delivery()
        async with httpx.AsyncClient() as http:
            try:
                busy = await http.post(hook.url + "hooks", content=raw, headers=headers)
                assert busy.status_code == 503, busy.text
            except httpx.TransportError:  # (closed before its request was written)
                pass
            assert events == []

            # one held connection ends: its slot takes the delivery
            _, writer = held.pop()
            writer.close()
            await wait_for(lambda: hook.connections == MAX_CONNECTIONS - 1)
            answer = await http.post(
                hook.url + "hooks", content=raw, headers={**headers, "X-HM-Delivery": "flood-1"}
            )
        assert answer.status_code == 200, answer.text
        assert [(e.vin, e.delivery) for e in events] == [(VIN, "flood-1")]
    finally:
        for _, writer in held:
            writer.close()
    await wait_for(lambda: hook.connections == 0, message="every slot given back")
    await wait_for(lambda: held_by_receiver(hook.port) == 0)
    figures.tried("hostile webhook client: a flood of idle connections", FLOOD + MAX_CONNECTIONS)
