"""The dashboard (real app, real Session, emulator on loopback) while the platform misbehaves:
the header shows the degraded link, a bulk add of 500 and revokes of 50 through the Session
apply every VIN exactly once, the event loop never stalls over 200 ms, and the link recovers
by itself once the platform does."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from helpers import wait_for

from hm_tui.emulator.server import Emulator
from hm_tui.service.auth import TokenManager
from hm_tui.service.client import PlatformClient
from hm_tui.service.config import profile_from_credentials
from hm_tui.service.models import NewClearance
from hm_tui.service.retry import TokenBucket
from hm_tui.service.session import Session
from hm_tui.service.store import Store
from hm_tui.service.transport import new_http_client
from hm_tui.ui.app import HmTuiApp
from reliability.figures import Figures
from reliability.support import FAULT_RETRY, Control, vins

ERRORS = {"http_error_rate": 0.3, "statuses": [429, 500, 503]}
STALL_LIMIT_S = 0.2
BULK, REVOKES = 500, 50


class StallProbe:
    """A task that wakes every 10 ms and keeps the longest delay past its due time."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self, tick: float = 0.01) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(tick)
            now = time.perf_counter()
            self.worst, last = max(self.worst, now - last - tick), now

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def make_app(emulator: Emulator) -> HmTuiApp:
    profile = profile_from_credentials(emulator.credentials, "faults")
    profile = replace(profile, mqtt=None, private_key_file=None, private_key_id=None)

    def session_for(_name: str | None) -> Session:
        http = new_http_client()
        client = PlatformClient(profile, http=http, retry=FAULT_RETRY,
                                token_manager=TokenManager(http, profile, retry=FAULT_RETRY),
                                get_one_limit=TokenBucket(rate=40, capacity=40))
        return Session(profile, store=Store.memory(), client=client, poll_interval=0.3,
                       full_interval=1.0)

    return HmTuiApp(session_for, profile="faults", clock=emulator.clock.now_datetime)


async def test_dashboard_stays_responsive_shows_degraded_and_recovers_by_itself(
        emulator_factory: Any, figures: Figures) -> None:
    emulator = await emulator_factory(fleet=200)
    control = Control(emulator)
    batch = vins(BULK, "WF0")
    app = make_app(emulator)
    probe = StallProbe()
    async with app.run_test(size=(120, 40)):
        await wait_for(lambda: app.session is not None and app.header_state().api == "ok", 15,
                       message="the dashboard up and the link ok")
        probe.start()
        await control.faults(http_error_rate=1.0, statuses=[503], refuse_connections_s=1.0)
        figures.fault("platform down (all 503, connections refused 1 s)")
        await wait_for(lambda: app.header_state().api in ("degraded", "down"), 15,
                       message="the header to show the degraded link")

        await control.faults(**ERRORS, latency_ms=1500, invalidate_tokens=True)
        figures.fault("latency spike 1.5 s")
        figures.fault("tokens invalidated")
        results = await app.session.add([NewClearance(v, "ford") for v in batch])
        assert all(r.ok for r in results), [r for r in results if not r.ok][:3]

        chosen = batch[::BULK // REVOKES]
        await control.faults(**ERRORS)
        for vin in chosen:
            await control.force(vin, status="approved")
        await wait_for(lambda: all(app.session.roster.entry(v).status == "approved"
                                   for v in chosen), 30, message="the approvals polled in")
        await control.faults(**ERRORS, invalidate_tokens=True)
        figures.fault("tokens invalidated")
        outcomes = await app.session.remove(chosen)
        assert all(o.ok for o in outcomes), [o for o in outcomes if not o.ok][:3]

        await control.faults()
        await wait_for(lambda: app.header_state().api == "ok", 15,
                       message=f"the link to recover by itself ({app.header_state()})")
        probe.stop()

    assert await control.applied("POST") == dict.fromkeys(batch, 1)
    assert await control.applied("DELETE") == dict.fromkeys(chosen, 1)
    stats = await control.stats()
    figures.fault("HTTP 429/500/503 injected", sum(int(stats["responses"].get(s, 0))
                                                  for s in ("429", "500", "503")))
    await control.aclose()
    assert probe.worst < STALL_LIMIT_S, f"the event loop stalled {probe.worst * 1000:.0f} ms"
