"""The poller against the running emulator: transient polls with a filter, follow-ups for VINs
that left the transient set, full polls, events, health and backoff."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from hm_tui.domain.clearance import TRANSIENT
from hm_tui.domain.vin import with_check_digit
from hm_tui.service.errors import PlatformError
from hm_tui.service.events import HealthChanged
from hm_tui.service.fleet import TRANSIENT_FILTER, Fleet
from hm_tui.service.models import NewClearance
from hm_tui.service.platform.client import PlatformClient
from hm_tui.service.platform.decode import WireClearances
from hm_tui.service.platform.retry import NO_RETRY
from hm_tui.service.roster.model import Roster, RosterChanges
from tests.helpers import wait_for
from tests.service.platform_helpers import FAST_RETRY, Control, emulator_profile

NEW = [NewClearance(with_check_digit(f"WBA{n:014d}"), "bmw") for n in range(5)] + [
    NewClearance(with_check_digit("WVW00000000000001"), "volkswagen")
]  # no customer tag


class Recorder:
    """A PlatformClient wrapper that remembers every list filter; and the events emitted."""

    def __init__(self, client: PlatformClient) -> None:
        self.client = client
        self.filters: list[dict[str, Any] | None] = []
        self.events: list[object] = []

    async def fetch_clearances(self, filter: dict[str, Any] | None = None) -> WireClearances:
        self.filters.append(filter)
        return await self.client.fetch_clearances(filter)

    def changes(self) -> list[RosterChanges]:
        return [e for e in self.events if isinstance(e, RosterChanges)]

    def health(self) -> list[HealthChanged]:
        return [e for e in self.events if isinstance(e, HealthChanged)]


@pytest.fixture
async def recorder(emulator: Any) -> AsyncIterator[Recorder]:
    client = PlatformClient(emulator_profile(emulator), retry=FAST_RETRY)
    yield Recorder(client)
    await client.aclose()


def fleet_for(recorder: Recorder, **kwargs: Any) -> Fleet:
    return Fleet(recorder, Roster(), recorder.events.append, **kwargs)


async def test_full_poll_fills_the_roster_and_reports_health(
    emulator: Any, recorder: Recorder
) -> None:
    fleet = fleet_for(recorder)
    changes = await fleet.refresh_now()
    assert len(fleet.roster) == len(emulator.state.clearances) == len(changes.added)
    assert recorder.filters == [None]
    assert recorder.changes() == [changes]
    health = fleet.health
    assert (health.api, health.stale, health.consecutive_failures) == ("ok", False, 0)
    assert recorder.health()[-1].health == health and health.last_refresh is not None


async def test_every_columns_sort_order_is_built_at_idle_and_serves_sort_changes(
    emulator: Any, recorder: Recorder
) -> None:
    fleet = fleet_for(recorder, orders_from=1)
    roster = fleet.roster
    await fleet.poll(full=True)
    assert roster.missing_orders() == ["brand", "status", "reason", "tags", "since", "changed"]
    expected = {}
    for column in ("tags", "since"):
        roster.set_sort(column)
        expected[column] = list(roster.visible)
    roster.set_sort("vin")
    roster.snapshot()  # someone just asked for a view: the builder waits for a quiet moment
    fleet.start()
    try:
        await wait_for(
            lambda: not roster.missing_orders(),
            timeout=10,
            message="sort orders built in the background",
        )
        assert roster.view_idle_s() >= 0.5
    finally:
        await fleet.stop()
    for column, shown in expected.items():  # the orders built ahead give the same views
        roster.set_sort(column)
        assert list(roster.visible) == shown


async def test_transient_poll_filters_server_side_and_follows_up_on_vins_that_left(
    emulator: Any, recorder: Recorder
) -> None:
    fleet = fleet_for(recorder)
    await recorder.client.add_clearances(NEW)
    await fleet.refresh_now()
    pending = fleet.roster.vins_in(TRANSIENT)
    assert set(pending) >= {item.vin for item in NEW}
    await Control(emulator).advance(10 * 86400)  # ten days: every activation has decided
    recorder.filters.clear()
    changes = await fleet.poll(full=False)
    assert recorder.filters[0] == TRANSIENT_FILTER
    assert all(f is not None for f in recorder.filters), "no full list was fetched"
    asked = [v for f in recorder.filters[1:] for v in f["vin"]["value"]]
    assert set(asked) <= set(pending) and asked
    moved = {c.vin: c for c in changes.changed}
    for vin in pending:
        platform = emulator.state.clearances[vin]
        assert fleet.roster.entry(vin).status == platform.status
        if platform.status not in TRANSIENT:
            assert moved[vin].old == "pending" and moved[vin].new == platform.status
    assert not changes.removed
    assert moved[NEW[-1].vin].reason == "customer name tag missing"


async def test_background_polling_emits_status_changes_as_they_happen(
    emulator: Any, recorder: Recorder
) -> None:
    fleet = fleet_for(recorder, poll_interval=0.05, full_interval=3600)
    await fleet.refresh_now()
    fleet.start()
    try:
        vin = fleet.roster.vins_in({"approved"})[0]
        await Control(emulator).force(vin, status="revoking")
        change = await wait_for(
            lambda: _change_of(recorder, vin), timeout=10, message="the revoke reaching the roster"
        )
        assert (change.old, change.new) == ("approved", "revoking")
        await Control(emulator).advance(3600)  # revoking ends in revoked
        await wait_for(lambda: fleet.roster.entry(vin).status == "revoked", timeout=10)
    finally:
        await fleet.stop()
    assert None not in recorder.filters[1:], "only the first poll fetched the whole list"


def _change_of(recorder: Recorder, vin: str) -> Any:
    for changes in recorder.changes():
        for change in changes.changed:
            if change.vin == vin:
                return change
    return None


async def test_a_full_poll_removes_vins_the_platform_no_longer_has(
    emulator: Any, recorder: Recorder
) -> None:
    fleet = fleet_for(recorder)
    await fleet.refresh_now()
    gone = next(iter(emulator.state.clearances))
    del emulator.state.clearances[gone]  # as if removed on the platform side
    emulator.state.version += 1  # (the emulator caches the list until its version moves)
    assert (await fleet.poll(full=False)).removed == []
    assert (await fleet.refresh_now()).removed == [gone]


async def test_failures_degrade_then_down_and_back_off_then_recover(emulator: Any) -> None:
    client = PlatformClient(emulator_profile(emulator), retry=NO_RETRY)
    events: list[object] = []
    fleet = Fleet(client, Roster(), events.append, poll_interval=0.05, max_backoff=0.2)
    control = Control(emulator)
    try:
        await fleet.refresh_now()
        await control.faults(http_error_rate=1.0, statuses=[503])
        for expected in ("degraded", "degraded", "down"):
            with pytest.raises(PlatformError):
                await fleet.poll(full=False)
            assert fleet.health.api == expected and fleet.health.stale
        assert "503" in (fleet.health.last_error or "")
        assert fleet._next_delay() == pytest.approx(0.2)  # 0.05 * 2**3 capped at max_backoff
        fleet.start()
        await control.faults()
        await wait_for(lambda: fleet.health.api == "ok", timeout=10, message="recovery")
        assert fleet.health.consecutive_failures == 0 and not fleet.health.stale
    finally:
        await fleet.stop()
        await client.aclose()
    apis = [e.health.api for e in events if isinstance(e, HealthChanged)]
    assert apis[:4] == ["ok", "degraded", "degraded", "down"] and apis[-1] == "ok"


async def test_local_updates_win_over_a_poll_that_started_before_them(
    emulator: Any, recorder: Recorder
) -> None:
    fleet = fleet_for(recorder)
    await fleet.refresh_now()
    vin = fleet.roster.vins_in({"approved"})[0]
    old = fleet.roster.entry(vin).clearance
    fetched = await recorder.client.list_clearances()  # a poll's answer, taken "before" ...
    started = fleet._clock()
    fleet.apply_local([msgspec.structs.replace(old, status="revoking")])
    await fleet._apply(fetched, complete=True, since=started)  # ... the DELETE's answer above
    assert fleet.roster.entry(vin).status == "revoking"
