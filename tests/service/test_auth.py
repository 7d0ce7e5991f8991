"""TokenManager against the running emulator: renewal before expiry, single flight, failures."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest

from hm_tui.service.errors import AuthError, ServerError
from hm_tui.service.platform.auth import TokenManager, renewal_margin
from hm_tui.service.platform.client import PlatformClient
from hm_tui.service.platform.retry import RetryPolicy
from tests.helpers import wait_for
from tests.service.platform_helpers import FAST_RETRY, Control, emulator_profile


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_renewal_margin_is_60_s_for_real_tokens_and_scaled_for_short_ones() -> None:
    assert renewal_margin(300) == 60
    assert renewal_margin(6) == pytest.approx(2.0)


async def test_tokens_are_renewed_before_expiry_so_no_call_is_ever_answered_401(
    emulator_factory,
) -> None:
    emulator = await emulator_factory(token_ttl=5)
    control = Control(emulator)
    client = PlatformClient(emulator_profile(emulator), retry=FAST_RETRY)
    calls = 0

    async def keep_calling() -> None:
        nonlocal calls
        while True:
            await client.list_clearances()
            calls += 1

    workers = [asyncio.create_task(keep_calling()) for _ in range(4)]
    try:
        # renewed every ~2.7 s: four tokens cover > 8 s, more than two 4-second lifetimes
        await wait_for(
            lambda: client.tokens.renewals >= 4 or any(w.done() for w in workers),
            timeout=30,
            message="four tokens",
        )
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await client.aclose()
    for worker in workers:
        assert worker.cancelled(), worker.exception()
    stats = await control.stats()
    assert calls > 100
    assert stats["tokens_issued"] == 4
    assert stats["responses"].get("401", 0) == 0


async def test_many_waiting_callers_share_one_token_request(emulator) -> None:
    control = Control(emulator)
    async with httpx.AsyncClient() as http:
        manager = TokenManager(http, emulator_profile(emulator))
        tokens = await asyncio.gather(*(manager.token() for _ in range(50)))
    assert len(set(tokens)) == 1
    assert (await control.stats())["tokens_issued"] == 1
    assert manager.status.state == "ok"


async def test_private_key_assertion_gets_a_token_and_the_fleet(emulator) -> None:
    async with PlatformClient(emulator_profile(emulator, private_key=True)) as client:
        assert client.profile.uses_private_key
        assert len(await client.list_clearances()) >= 30


async def test_wrong_secret_is_an_auth_error_without_the_secret(emulator) -> None:
    wrong = "definitely-not-the-secret-1234"
    profile = replace(emulator_profile(emulator), client_secret=wrong)
    async with httpx.AsyncClient() as http:
        manager = TokenManager(http, profile)
        with pytest.raises(AuthError) as err:
            await manager.token()
    assert "client_secret is invalid" in str(err.value)
    assert wrong not in str(err.value) and wrong not in repr(err.value)
    assert manager.status.state == "failing"


async def test_failing_renewal_keeps_the_valid_token_and_reports_failing(emulator) -> None:
    control = Control(emulator)
    clock = FakeClock()
    async with httpx.AsyncClient() as http:
        manager = TokenManager(
            http,
            emulator_profile(emulator),
            clock=clock,
            retry=RetryPolicy(attempts=2, base=0.001, cap=0.001),
        )
        first = await manager.token()
        await control.faults(http_error_rate=1.0, statuses=[503])
        clock.now += 250  # past the renewal point (240 s), before expiry
        assert await manager.token() == first  # renewal runs in the background
        await wait_for(lambda: manager.status.state == "failing", message="renewal failing")
        assert "Service unavailable" in (manager.status.last_error or "")
        assert await manager.token() == first
        await control.faults()
        clock.now += 5  # past the backoff
        await manager.token()
        await wait_for(lambda: manager.status.state == "ok", message="renewal recovered")
        assert await manager.token() != first
        assert manager.token_age_s == 0


async def test_no_token_and_a_failing_platform_raises_a_clear_error(emulator) -> None:
    control = Control(emulator)
    await control.faults(http_error_rate=1.0, statuses=[503])
    async with httpx.AsyncClient() as http:
        manager = TokenManager(
            http, emulator_profile(emulator), retry=RetryPolicy(attempts=3, base=0.001, cap=0.001)
        )
        with pytest.raises(ServerError, match="Service unavailable"):
            await manager.token()
        assert manager.status.state == "failing"
        assert (await control.stats())["requests"]["POST /v1/access_tokens"] == 3


async def test_invalidate_only_forgets_the_token_it_names(emulator) -> None:
    async with httpx.AsyncClient() as http:
        manager = TokenManager(http, emulator_profile(emulator))
        token = await manager.token()
        manager.invalidate("some-older-token")
        assert await manager.token() == token
        manager.invalidate(token)
        assert manager.token_age_s is None
        assert await manager.token() != token
