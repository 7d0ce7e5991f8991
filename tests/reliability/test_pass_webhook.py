"""A slow client against the real webhook receiver (issue 20, the independent pass): raw sockets
that open and say nothing, trickle the headers or the body a byte at a time, stay idle after an
answer, or send enormous headers. Each is closed within the receiver's deadline, and a real
signed delivery goes through while they are held open."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from hm_tui.service.webhook.receiver import (
    MAX_HEADER_BYTES,
    READ_DEADLINE_S,
    ClearanceEvent,
    WebhookReceiver,
    signature,
)
from reliability.figures import Figures
from tests.helpers import wait_for

SECRET = "webhook-secret-for-the-pass"
VIN = "WBA00000000000777"
PACE_S = 0.2  # a trickler sends its next byte when the connection stayed open this long
GIVE_UP_S = 60.0  # without a deadline aiohttp keeps a connection 3,630 s: the test ends first
# headers within the deadline, then the body within the deadline: a request is held at most
# twice the deadline; the rest is room for a loaded shared machine
HELD_AT_MOST_S = 2 * READ_DEADLINE_S + 5


def delivery() -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(
        {"vehicle": {"vin": VIN}, "event": {"type": "fleet_clearance_changed", "action": "revoked"}}
    ).encode()
    return raw, {
        "X-HM-Signature-256": signature(SECRET, raw),
        "X-HM-Delivery": "pass-1",
        "X-HM-Event": "fleet_clearance_changed",
        "Content-Type": "application/json",
    }


@dataclass
class Slow:
    """One raw connection: what it sent first, then what it trickles (nothing: it stays idle)."""

    what: str
    first: bytes
    trickle: bytes = b""
    closed_after: float | None = None
    answer: bytes = b""


async def hold(port: int, slow: Slow) -> None:
    """Send `first`, then a byte of `trickle` every PACE_S until the receiver closes the
    connection (EOF or reset); record how long it stayed open and what came back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.monotonic()
    try:
        writer.write(slow.first)
        await writer.drain()
        at = 0
        while time.monotonic() - start < GIVE_UP_S:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), PACE_S)
            except TimeoutError:  # still open: trickle on
                if slow.trickle:
                    writer.write(slow.trickle[at % len(slow.trickle) : at % len(slow.trickle) + 1])
                    await writer.drain()
                    at += 1
                continue
            except ConnectionError:
                break
            if not chunk:
                break
            slow.answer += chunk
        else:
            return  # never closed: closed_after stays None
        slow.closed_after = time.monotonic() - start
    except ConnectionError:
        slow.closed_after = time.monotonic() - start
    finally:
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[WebhookReceiver, list[ClearanceEvent]]]:
    events: list[ClearanceEvent] = []
    # (room for the 207 slow connections below: this test is about time; the count cap has its
    # own test, test_pass_webhook_flood.py)
    hook = WebhookReceiver("127.0.0.1:0", SECRET, events.append, max_connections=400)
    await hook.start()
    yield hook, events
    await hook.stop()


async def test_slow_and_idle_clients_are_closed_within_the_deadline_and_deliveries_go_on(
    receiver: tuple[WebhookReceiver, list[ClearanceEvent]],
    figures: Figures,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook, events = receiver
    raw, headers = delivery()
    request_head = b"POST /hooks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    full_request = (
        request_head
        + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
        + f"Content-Length: {len(raw)}\r\n\r\n".encode()
        + raw
    )
    slows = [
        Slow("a connection opened and left idle", b""),
        Slow("headers trickled", request_head, b"X-Slow: " + b"a" * 64),
        Slow("a request line trickled", b"", b"POST /hooks HTTP/1.1 " * 4),
        Slow(
            "a body trickled",
            request_head + b"Content-Length: 100000\r\nContent-Type: application/json\r\n\r\n",
            b'{"a": 1}',
        ),
        Slow("idle after one answer (keep-alive)", full_request),
        Slow("a header line past the limit", request_head + b"X-Big: " + b"a" * 65536 + b"\r\n"),
        Slow(
            "headers past their number",
            request_head + b"".join(b"X-%d: 1\r\n" % n for n in range(1000)) + b"\r\n",
        ),
    ]
    slows += [Slow(f"idle connection {n}", b"") for n in range(200)]  # a small slowloris
    held = [asyncio.create_task(hold(hook.port, slow)) for slow in slows]
    try:
        # while all of them are open, a real signed delivery is answered and handed on
        await wait_for(lambda: len(hook_connections(hook)) >= 200, message="200 connections")
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                hook.url + "hooks", content=raw, headers={**headers, "X-HM-Delivery": "pass-2"}
            )
        assert answer.status_code == 200, answer.text
        assert (VIN, "pass-2") in [(e.vin, e.delivery) for e in events]
        still_open = sum(1 for slow in slows if slow.closed_after is None)
        assert still_open >= 200, f"only {still_open} slow connections were open meanwhile"
        await asyncio.gather(*held)
    finally:
        for task in held:
            task.cancel()
    for slow in slows:
        assert slow.closed_after is not None, f"{slow.what}: still open after {GIVE_UP_S:g} s"
        assert slow.closed_after < HELD_AT_MOST_S, (
            f"{slow.what}: held {slow.closed_after:.1f} s (deadline {READ_DEADLINE_S:g} s)"
        )
    by_what = {slow.what: slow for slow in slows}
    assert by_what["a body trickled"].answer.startswith(b"HTTP/1.1 408"), by_what[
        "a body trickled"
    ].answer[:200]
    assert hook.stats["too_slow"] == 1
    assert by_what["idle after one answer (keep-alive)"].answer.startswith(b"HTTP/1.1 200")
    for big in ("a header line past the limit", "headers past their number"):
        assert by_what[big].answer[:12] in (b"HTTP/1.0 400", b"HTTP/1.1 400"), (
            big,
            by_what[big].answer[:200],
        )
    assert MAX_HEADER_BYTES < 65536
    # aiohttp's refusals are one quiet line each, not an ERROR and a traceback per request
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    figures.tried("hostile webhook client: slow or idle connections", len(slows))


def hook_connections(hook: WebhookReceiver) -> list[object]:
    """The connections the receiver's aiohttp server holds right now."""
    runner = hook._runner
    server = runner.server if runner is not None else None
    return list(server.connections) if server is not None else []
