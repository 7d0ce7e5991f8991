"""Fleet activity: colleagues add VINs and revoke cars through the ordinary state machine."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

import pytest
from helpers import wait_for

from hm_tui.domain.brands import BRANDS
from hm_tui.domain.reasons import reasons_for
from hm_tui.emulator import activity as activity_module
from hm_tui.emulator.activity import FleetActivity
from hm_tui.emulator.fates import CUSTOMER_TAG_MISSING, DAY, PRIVACY_MODE
from hm_tui.emulator.fleet_sim import populate
from hm_tui.emulator.server import Emulator, EmulatorConfig
from hm_tui.emulator.state import FleetState

from .conftest import Api

NOW = 1_800_000_000.0


def fleet(size: int = 40, seed: int = 3) -> FleetState:
    state = FleetState(seed)
    populate(state, size, seed, NOW)
    return state


def test_the_same_seed_does_the_same_things() -> None:
    first, second = FleetActivity(fleet(), 5), FleetActivity(fleet(), 5)
    assert [first.step(NOW + i) for i in range(30)] == [second.step(NOW + i) for i in range(30)]


def test_added_vins_start_pending_and_end_as_their_brand_decides() -> None:
    state = fleet()
    activity = FleetActivity(state, 1)
    added = [vin for _ in range(60) for vin in activity.add_batch(NOW).vins]
    assert len(added) >= 60  # one to four VINs per batch
    assert all(state.clearances[vin].status == "pending" for vin in added)
    state.tick(NOW + 10 * DAY)
    ends = {state.clearances[vin].status for vin in added}
    assert ends <= {"approved", "rejected"} and "approved" in ends
    for vin in added:
        record = state.clearances[vin]
        if record.status == "rejected":
            known = {r.text for r in reasons_for(record.brand)} | {
                CUSTOMER_TAG_MISSING,
                PRIVACY_MODE,
            }
            assert record.reason in known, (record.brand, record.reason)
        assert record.brand in BRANDS and record.brand != "sandbox"


def test_some_batches_are_rejected_so_a_demo_shows_rejections() -> None:
    state = fleet(0)
    activity = FleetActivity(state, 2)
    for _ in range(100):
        activity.add_batch(NOW)
    state.tick(NOW + 10 * DAY)
    rejected = [r for r in state.clearances.values() if r.status == "rejected"]
    assert 0.05 < len(rejected) / len(state.clearances) < 0.4
    assert any(r.reason == CUSTOMER_TAG_MISSING for r in rejected)


def test_an_approved_car_is_revoked_now_and_then() -> None:
    state = fleet()
    activity = FleetActivity(state, 4)
    happenings = [activity.step(NOW + i) for i in range(80)]
    revoked = [h.vins[0] for h in happenings if h.kind == "revoked"]
    assert revoked, "no revoke in 80 happenings"
    assert all(state.clearances[vin].status in ("revoking", "revoked") for vin in revoked)
    state.tick(NOW + DAY)
    assert all(state.clearances[vin].status == "revoked" for vin in revoked)


def test_no_approved_car_means_no_revoke() -> None:
    state = fleet(0)
    assert FleetActivity(state, 1).revoke_one(NOW) is None


def test_activity_is_off_by_default_and_on_with_the_flag() -> None:
    from hm_tui.cli import emulator_cmd

    assert EmulatorConfig().activity is False
    parser = argparse.ArgumentParser()
    emulator_cmd.add_parser(parser.add_subparsers(dest="command"))
    for argv, expected in ((["emulator"], False), (["emulator", "--activity"], True)):
        args = parser.parse_args(argv)
        assert emulator_cmd._config(args).activity is expected


async def test_a_running_activity_shows_new_vins_in_the_platforms_list(
    api: Api, emulator: Emulator
) -> None:
    before = len(emulator.state.clearances)
    activity = FleetActivity(emulator.state, 9, every=(0.01, 0.02))
    task = asyncio.create_task(activity.run(emulator.context.now))
    try:
        await wait_for(
            lambda: len(emulator.state.clearances) >= before + 5,
            5,
            message="colleagues adding VINs",
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    listed = (await api.call("GET", "/fleets/vehicles")).json()
    assert len(listed) == len(emulator.state.clearances)
    new = set(list(emulator.state.clearances)[before:])  # a dict keeps insertion order
    assert new <= {c["vin"] for c in listed if c["status"] == "pending"}


async def test_the_emulator_runs_the_activity_when_configured(
    emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(activity_module, "EVERY_S", (0.01, 0.02))
    quiet = await emulator_factory(publish=False)
    busy = await emulator_factory(publish=False, activity=True)
    size = len(busy.state.clearances)
    await wait_for(lambda: len(busy.state.clearances) > size, 5, message="activity in the emulator")
    assert len(quiet.state.clearances) == size  # same seed and fleet, no activity
