"""Webhooks (docs/platform.md#webhooks): a real receiver gets signed fleet_clearance_changed."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from helpers import wait_for

from hm_tui.emulator.server import Emulator

SANDBOX = "2HM12345678901234"


class Receiver:
    """A webhook endpoint on loopback; fails the first `fail_first` deliveries with 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500)
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
    yield hook
    await runner.cleanup()


async def started(factory: Any, receiver: Receiver) -> Emulator:
    return await factory(fleet=0, speed=0.0, publish=False, webhook_url=receiver.url)


async def test_every_state_change_is_delivered_signed(
    emulator_factory: Any, receiver: Receiver
) -> None:
    emu = await started(emulator_factory, receiver)
    emu.state.add(SANDBOX, "sandbox", {}, None, emu.clock.now())
    emu.state.tick(emu.clock.advance(60))
    await wait_for(lambda: len(receiver.received) == 2, message="two webhook deliveries")
    secret = emu.credentials["webhook_secret"].encode()
    for headers, body in receiver.received:
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-HM-Signature-256"], expected)
        assert headers["X-HM-Event"] == "fleet_clearance_changed"
        assert headers["User-Agent"] == "HM-Webhook/1.2.0"
    assert len({h["X-HM-Delivery"] for h, _ in receiver.received}) == 2
    first, second = receiver.events()
    assert first["vehicle"] == {"vin": SANDBOX}
    assert first["application"] == {"id": emu.credentials["app_id"]}
    assert first["event"]["type"] == "fleet_clearance_changed"
    assert (first["event"]["action"], second["event"]["action"]) == ("pending", "approved")


async def test_rejection_reason_is_in_the_detail(emulator_factory: Any, receiver: Receiver) -> None:
    emu = await started(emulator_factory, receiver)
    emu.state.add("WVWZZZ1KZAW000001", "volkswagen", {}, None, emu.clock.now())
    emu.state.tick(emu.clock.advance(3600))
    await wait_for(lambda: len(receiver.received) == 2)
    assert receiver.events()[1]["event"]["detail"] == "customer name tag missing"


async def test_failed_deliveries_are_retried(emulator_factory: Any, receiver: Receiver) -> None:
    receiver.fail_first = 1
    emu = await started(emulator_factory, receiver)
    emu.state.add(SANDBOX, "sandbox", {}, None, emu.clock.now())
    await wait_for(lambda: len(receiver.received) == 1, message="the retried delivery")
    await wait_for(lambda: emu.context.stats.webhooks_delivered == 1)
