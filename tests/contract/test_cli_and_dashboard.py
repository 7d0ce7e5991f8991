"""`hm-tui vins ...` and the dashboard's session revoke their access token when they end, so a
token copied from the terminal (or a log) is refused from then on; an exit is never held up by
it, and never ends in an error because of it. And the dashboard's health (its notices) says a
refusal in the operator's words."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from hm_tui.emulator.server import Emulator
from hm_tui.service.errors import Forbidden
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from tests.cli.conftest import RunCli
from tests.service.platform_helpers import Control, emulator_profile

REVOKE = "DELETE /v1/access_tokens"


async def revocations(emulator: Emulator) -> int:
    return int((await Control(emulator).stats())["requests"].get(REVOKE, 0))


async def refused(emulator: Emulator, token: str) -> bool:
    async with httpx.AsyncClient() as http:
        r = await http.get(
            emulator.base_url + "/fleets/vehicles", headers={"Authorization": f"Bearer {token}"}
        )
    return r.status_code == 401


async def test_vins_commands_revoke_their_token_at_exit(
    run_cli: RunCli, configured: Path, emulator: Emulator
) -> None:
    issued = emulator.context.tokens.issued if emulator.context else 0
    result = await run_cli("vins", "list", "--json")
    assert result.code == 0 and result.err == ""
    assert await revocations(emulator) == 1
    tokens = emulator.context.tokens if emulator.context else None
    assert tokens is not None and tokens.issued == issued + 1
    assert len(tokens._revoked) == 1  # the one token the command used


async def test_a_failed_revocation_at_exit_says_nothing(
    run_cli: RunCli, configured: Path, emulator: Emulator
) -> None:
    await Control(emulator).faults(
        answers=[{"method": "DELETE", "path": "/v1/access_tokens", "status": 503}]
    )
    started = time.monotonic()
    result = await run_cli("vins", "show", "2HM00000000000003")
    assert result.code == 0 and result.err == ""
    assert time.monotonic() - started < 10


async def test_the_dashboards_session_revokes_its_token_when_it_stops(
    emulator: Emulator, tmp_path: Path
) -> None:
    store = Store(tmp_path / "session.db")
    session = Session(
        emulator_profile(emulator),
        store=store,
        feed=False,
        poll_interval=3600.0,
        full_interval=3600.0,
    )
    try:
        await session.start()
        copied = await session.client.tokens.token()
        assert not await refused(emulator, copied)
    finally:
        await session.stop()
        store.close()
    assert await revocations(emulator) == 1
    assert await refused(emulator, copied)


async def test_the_dashboards_health_says_a_403_in_the_operators_words(
    emulator: Emulator, tmp_path: Path
) -> None:
    body = {"errors": [{"title": "Forbidden", "detail": "not associated with a fleet"}]}
    await Control(emulator).faults(
        answers=[{"method": "GET", "path": "/v1/fleets/vehicles", "status": 403, "body": body}]
    )
    store = Store(tmp_path / "session.db")
    session = Session(emulator_profile(emulator), store=store, feed=False, poll_interval=3600.0)
    try:
        with pytest.raises(Forbidden):
            await session.start()
        health = session.health
    finally:
        await session.stop()
        store.close()
    assert health.api == "down"  # what the dashboard's toast says comes from last_error:
    assert (health.last_error or "").startswith("this app has no access to the fleet (Forbidden")
