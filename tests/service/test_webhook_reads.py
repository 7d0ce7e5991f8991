"""A webhook delivery only makes the session read that VIN again (`VinReads`): a captured delivery
sent again with new delivery ids cannot show a state the platform does not hold, and costs at most
one read at once and one after, never a list call. Against the running emulator, with deliveries
it really sent (captured on their way), posted to the session's real receiver."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from aiohttp import web

from hm_tui.service.webhook.reads import VinReads
from tests.helpers import wait_for
from tests.service.platform_helpers import Control, emulator_profile
from tests.service.test_session import bmw, running

GET_ONE = "GET /v1/fleets/vehicles/{vin}"
LIST = "GET /v1/fleets/vehicles"
REPLAYS = 20


class Capture:
    """Where the emulator delivers its webhooks: each delivery kept, as an attacker on the path
    would keep it (headers and the exact bytes)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.deliveries.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    def about(self, vin: str, action: str) -> tuple[dict[str, str], bytes]:
        return next(
            (h, b) for h, b in self.deliveries if vin.encode() in b and f'"{action}"'.encode() in b
        )


@pytest.fixture
async def capture() -> AsyncIterator[Capture]:
    hook = Capture()
    app = web.Application()
    app.router.add_post("/hooks", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
    yield hook
    await runner.cleanup()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def replay(url: str, captured: tuple[dict[str, str], bytes], times: int) -> list[int]:
    """The captured delivery sent again `times` times, each with a fresh delivery id."""
    headers, body = captured
    statuses = []
    async with httpx.AsyncClient() as http:
        for _ in range(times):
            fresh = {
                "Content-Type": "application/json",
                "X-HM-Event": headers["X-HM-Event"],
                "X-HM-Signature-256": headers["X-HM-Signature-256"],
                "X-HM-Delivery": str(uuid.uuid4()),
            }
            statuses.append((await http.post(url, content=body, headers=fresh)).status_code)
    return statuses


async def calls(control: Control) -> tuple[int, int]:
    requests = (await control.stats())["requests"]
    return requests.get(GET_ONE, 0), requests.get(LIST, 0)


def settled(reads: VinReads) -> bool:
    return reads.known == 0 or all(
        s.task is None or s.task.done()
        for s in reads._vins.values()  # (no read due or under way)
    )


async def test_a_replayed_revocation_never_shows_and_costs_at_most_two_reads(
    emulator_factory: Any, capture: Capture
) -> None:
    emu = await emulator_factory(fleet=0, speed=0.0, publish=False, webhook_url=capture.url)
    control = Control(emu)
    vin = bmw(501)
    await control.force(vin, status="approved", brand="bmw")
    await control.force(vin, status="revoked")  # delivered, and captured on its way
    await control.force(vin, status="approved")  # the car was added again since
    await wait_for(lambda: len(capture.deliveries) >= 3, 10, message="three deliveries")
    revoked = capture.about(vin, "revoked")
    port = free_port()
    profile = replace(emulator_profile(emu), webhook_listen=f"127.0.0.1:{port}")
    profile = replace(profile, webhook_secret=emu.credentials["webhook_secret"])
    async with running(emu, profile=profile, feed=False) as (session, _):
        assert session.roster.entry(vin).status == "approved"
        session.webhook_reads.min_interval = 1.0  # the follow-up read comes within the test
        before = await calls(control)
        statuses = await replay(f"http://127.0.0.1:{port}/hook", revoked, REPLAYS)
        assert statuses == [200] * REPLAYS  # verified: the signature is the platform's own
        shown = {session.roster.entry(vin).status}
        await wait_for(lambda: session.webhook_reads.stats.reads >= 1, 10)
        await wait_for(lambda: settled(session.webhook_reads), 10)
        shown.add(session.roster.entry(vin).status)
        after = await calls(control)
        stats = session.webhook_reads.stats
    assert shown == {"approved"}, "a replayed delivery showed a state the platform does not hold"
    assert 1 <= after[0] - before[0] <= 2 and after[1] == before[1]
    assert stats.asked == REPLAYS and stats.reads == after[0] - before[0]


async def test_replays_of_an_unknown_vin_cost_one_get_not_list_calls(
    emulator_factory: Any, capture: Capture
) -> None:
    emu = await emulator_factory(fleet=0, speed=0.0, publish=False, webhook_url=capture.url)
    control = Control(emu)
    port = free_port()
    profile = replace(emulator_profile(emu), webhook_listen=f"127.0.0.1:{port}")
    profile = replace(profile, webhook_secret=emu.credentials["webhook_secret"])
    async with running(emu, profile=profile, feed=False) as (session, _):
        session.webhook_reads.min_interval = 1.0  # the follow-up read comes within the test
        vin = bmw(502)  # added elsewhere after the roster was read: unknown here
        await control.force(vin, status="pending", brand="bmw")
        await wait_for(lambda: capture.deliveries, 10, message="the delivery")
        before = await calls(control)
        statuses = await replay(f"http://127.0.0.1:{port}/hook", capture.about(vin, "pending"), 20)
        assert statuses == [200] * REPLAYS
        await wait_for(lambda: vin in session.roster, 10, message="the VIN read into the roster")
        await wait_for(lambda: settled(session.webhook_reads), 10)
        after = await calls(control)
        assert session.roster.entry(vin).status == "pending"
    assert after[0] - before[0] <= 2 and after[1] == before[1]  # was: 20 list calls


# -- VinReads on its own (one function's rules: a fake read) -------------------------------------
async def test_reads_are_coalesced_per_vin_and_spaced_by_the_interval() -> None:
    started: list[tuple[str, float]] = []
    loop = asyncio.get_running_loop()
    gate = asyncio.Event()

    async def read(vin: str) -> None:
        started.append((vin, loop.time()))
        await gate.wait()

    reads = VinReads(read, min_interval=0.3)
    for _ in range(50):
        reads.ask("A")
    reads.ask("B")
    await wait_for(lambda: len(started) == 2)
    reads.ask("A")  # during A's read: one more read after it, not fifty
    gate.set()
    await wait_for(lambda: len(started) == 3, 5)
    await wait_for(lambda: settled(reads), 5)
    assert [vin for vin, _ in started] == ["A", "B", "A"]
    assert started[2][1] - started[0][1] >= 0.29  # spaced by the interval
    assert reads.stats.asked == 52 and reads.stats.reads == 3 and reads.stats.coalesced == 50


async def test_the_vins_remembered_are_bounded_and_a_failed_read_is_only_counted() -> None:
    gate = asyncio.Event()

    async def read(vin: str) -> None:
        await gate.wait()
        if vin == "V0":
            raise RuntimeError("platform down")

    reads = VinReads(read, min_interval=0.01, max_waiting=5)
    for n in range(8):
        reads.ask(f"V{n}")
    assert reads.known == 5 and reads.stats.dropped == 3
    gate.set()
    await wait_for(lambda: settled(reads), 5)
    assert reads.stats.failed == 1 and reads.stats.reads == 5
    await reads.stop()
    assert reads.known == 0
