"""The dashboard (real app, real Session, emulator on loopback) while the platform misbehaves:
the header shows the degraded link, a bulk add of 500 and revokes of 50 through the Session
apply every VIN exactly once, the event loop never stalls over 200 ms, and the link recovers
by itself once the platform does."""

from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path
from typing import Any

from helpers import wait_for

from hm_tui.service.config.profiles import profile_from_credentials
from hm_tui.service.models import NewClearance
from hm_tui.service.platform.auth import TokenManager
from hm_tui.service.platform.client import PlatformClient
from hm_tui.service.platform.retry import TokenBucket
from hm_tui.service.platform.transport import new_http_client
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from hm_tui.ui.app import HmTuiApp
from reliability.figures import Figures
from reliability.support import FAULT_RETRY, EmulatorProcess, StallProbe, vins
from tests.service.platform_helpers import Control

ERRORS = {"http_error_rate": 0.3, "statuses": [429, 500, 503]}
STALL_LIMIT_S = 0.2
BULK, REVOKES = 500, 50


def make_app(credentials: dict[str, Any]) -> HmTuiApp:
    profile = profile_from_credentials(credentials, "faults")
    profile = replace(profile, mqtt=None, private_key_file=None, private_key_id=None)

    def session_for(_name: str | None) -> Session:
        http = new_http_client()
        client = PlatformClient(
            profile,
            http=http,
            retry=FAULT_RETRY,
            token_manager=TokenManager(http, profile, retry=FAULT_RETRY),
            get_one_limit=TokenBucket(rate=40, capacity=40),
        )
        return Session(
            profile, store=Store.memory(), client=client, poll_interval=0.3, full_interval=1.0
        )

    return HmTuiApp(session_for, profile="faults")


async def test_dashboard_stays_responsive_shows_degraded_and_recovers_by_itself(
    tmp_path: Path, figures: Figures
) -> None:
    emulator = EmulatorProcess(tmp_path / "emulator", fleet=200)
    try:
        await run_dashboard_under_faults(await emulator.started(), Control(emulator.url), figures)
    finally:
        gc.unfreeze()
        emulator.stop()


async def run_dashboard_under_faults(
    credentials: dict[str, Any], control: Control, figures: Figures
) -> None:
    batch = vins(BULK, "WF0")
    app = make_app(credentials)
    probe = StallProbe()
    async with app.run_test(size=(120, 40)):
        await wait_for(
            lambda: app.session is not None and app.header_state().api == "ok",
            15,
            message="the dashboard up and the link ok",
        )
        # objects left by earlier tests in this process are not the app's: keep the cost of
        # collecting them out of the measurement (the real app has none of them)
        gc.collect()
        gc.freeze()
        probe.start()
        probe.phase = "platform down"
        await control.faults(http_error_rate=1.0, statuses=[503], refuse_connections_s=1.0)
        figures.fault("platform down (all 503, connections refused 1 s)")
        await wait_for(
            lambda: app.header_state().api in ("degraded", "unreachable"),
            15,
            message="the header to show the degraded link",
        )

        await control.faults(**ERRORS, latency_ms=1500, invalidate_tokens=True)
        figures.fault("latency spike 1.5 s")
        figures.fault("tokens invalidated")
        probe.phase = "bulk add"
        results = await app.session.add([NewClearance(v, "ford") for v in batch])
        assert all(r.ok for r in results), [r for r in results if not r.ok][:3]

        chosen = batch[:: BULK // REVOKES]
        await control.faults(**ERRORS)
        for vin in chosen:
            await control.force(vin, status="approved")
        await wait_for(
            lambda: all(app.session.roster.entry(v).status == "approved" for v in chosen),
            30,
            message="the approvals polled in",
        )
        await control.faults(**ERRORS, invalidate_tokens=True)
        figures.fault("tokens invalidated")
        probe.phase = "revokes"
        outcomes = await app.session.remove(chosen)
        assert all(o.ok for o in outcomes), [o for o in outcomes if not o.ok][:3]

        await control.faults()
        probe.phase = "recovery"
        await wait_for(
            lambda: app.header_state().api == "ok",
            15,
            message=f"the link to recover by itself ({app.header_state()})",
        )
        probe.stop()

    assert await control.applied("POST") == dict.fromkeys(batch, 1)
    assert await control.applied("DELETE") == dict.fromkeys(chosen, 1)
    stats = await control.stats()
    for status in ("429", "500", "503", "401"):
        figures.fault(f"HTTP {status}", int(stats["responses"].get(status, 0)))
    figures.stall("dashboard under platform faults", probe)
    assert probe.worst < STALL_LIMIT_S, f"the event loop stalled: {probe.describe()}"
