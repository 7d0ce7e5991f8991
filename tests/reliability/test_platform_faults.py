"""Platform faults against the real emulator: 30 % injected 429/500/503, latency spikes, tokens
invalidated mid-run and refused connections. Bulk work completes, and the emulator's own count
proves every VIN was applied exactly once (no lost item, no double add, no double revoke)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from helpers import wait_for

from hm_tui.domain.clearance import ClearanceStatus
from hm_tui.service.models import NewClearance
from reliability.figures import Figures
from reliability.support import emulator_profile, fault_tolerant_client, vins
from tests.service.platform_helpers import Control

ERRORS = {"http_error_rate": 0.3, "statuses": [429, 500, 503]}
SPIKE_MS = 1500
BASE_MS = 100  # between spikes: keeps the phases apart without slowing the run much
REFUSE_S = 1.0
BULK = 500
REVOKES = 50


async def chaos(
    control: Control, progress: Callable[[], Awaitable[int]], total: int, figures: Figures
) -> None:
    """Walk through the faults as the work advances (by what the emulator applied, not by time):
    errors + a latency spike, then tokens invalidated, then connections refused for a while."""
    await control.faults(**ERRORS, latency_ms=SPIKE_MS)
    figures.fault("latency spike 1.5 s")
    await wait_for(lambda: _at_least(progress, total * 0.2), 60, 0.05, "20 % applied")
    await control.faults(**ERRORS, invalidate_tokens=True, latency_ms=BASE_MS)
    figures.fault("tokens invalidated")
    await wait_for(lambda: _at_least(progress, total * 0.5), 60, 0.05, "50 % applied")
    await control.faults(**ERRORS, refuse_connections_s=REFUSE_S, latency_ms=BASE_MS)
    figures.fault("connections refused 1 s")
    await wait_for(lambda: _at_least(progress, total * 0.8), 60, 0.05, "80 % applied")
    await control.faults(**ERRORS, invalidate_tokens=True, latency_ms=SPIKE_MS)
    figures.fault("tokens invalidated")
    figures.fault("latency spike 1.5 s")


async def revoke_chaos(control: Control, figures: Figures) -> None:
    """A DELETE cut after it was sent is ambiguous (the client must read back, not repeat it);
    then the tokens go once half the revokes are through."""
    await control.faults(**ERRORS, refuse_connections_s=REFUSE_S, latency_ms=BASE_MS)
    figures.fault("connections refused 1 s")

    async def deleted() -> int:
        return len(await control.applied("DELETE"))

    await wait_for(lambda: _at_least(deleted, REVOKES / 2), 60, 0.05, "half the revokes")
    await control.faults(**ERRORS, invalidate_tokens=True)
    figures.fault("tokens invalidated")


async def _at_least(progress: Callable[[], Awaitable[int]], wanted: float) -> bool:
    return await progress() >= wanted


def count_injected(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """Error responses the emulator sent during the run, and requests it cut (no response)."""

    def delta(key: str, field: str) -> int:
        return int(after[key].get(field, 0)) - int(before[key].get(field, 0))

    injected = {f"HTTP {s}": delta("responses", str(s)) for s in (429, 500, 503, 401)}
    requests = sum(after["requests"].values()) - sum(before["requests"].values())
    responses = sum(after["responses"].values()) - sum(before["responses"].values())
    injected["connection cut"] = requests - responses
    return injected


async def test_bulk_add_and_revoke_under_faults_apply_every_vin_exactly_once(
    emulator_factory: Any, figures: Figures
) -> None:
    emulator = await emulator_factory(fleet=0)
    control = Control(emulator)
    batch = vins(BULK)
    before = await control.stats()

    async def posted() -> int:
        return len(await control.applied("POST"))

    async with fault_tolerant_client(emulator_profile(emulator)) as client:
        storm = asyncio.create_task(chaos(control, posted, BULK, figures))
        results = await client.add_clearances([NewClearance(v, "bmw") for v in batch], chunk=25)
        await storm
        await control.faults(**ERRORS)  # the spike ends; the errors go on for the revokes
        assert [r.vin for r in results] == batch
        assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
        assert await control.applied("POST") == dict.fromkeys(batch, 1)

        chosen = batch[:: BULK // REVOKES]
        for vin in chosen:  # activation is the brand's business: force it on the emulator
            await control.force(vin, status="approved")
        storm = asyncio.create_task(revoke_chaos(control, figures))
        removals = await asyncio.gather(*(client.remove_clearance(v) for v in chosen))
        await storm
        await control.faults()

    assert {r.status for r in removals} == {ClearanceStatus.REVOKING}
    assert await control.applied("DELETE") == dict.fromkeys(chosen, 1)
    injected = count_injected(before, await control.stats())
    assert injected["HTTP 429"] + injected["HTTP 500"] + injected["HTTP 503"] > 15, injected
    assert injected["HTTP 401"] > 0 and injected["connection cut"] > 0, injected
    for kind, count in injected.items():
        figures.fault(kind, count)
