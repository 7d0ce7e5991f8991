"""The clearance state machine on the virtual clock: brand rules, reasons, virtual VINs."""

from __future__ import annotations

import random
from collections import Counter

from helpers import wait_for

from hm_tui.domain.brands import BRANDS
from hm_tui.domain.reasons import reasons_for
from hm_tui.emulator.fates import (
    ACTIVATION_DELAY,
    CUSTOMER_TAG_MISSING,
    DAY,
    HOUR,
    MINUTE,
    PRIVACY_MODE,
    decide_fate,
    fate_rng,
)
from hm_tui.emulator.fleet_sim import make_vin
from hm_tui.emulator.state import FleetState

from .conftest import Api

TAGS = {"vw-group-customer-name": "Acme"}


def fates(brand: str, n: int = 300, tags: dict[str, str] | None = None) -> list:
    rng_vins = [f"{brand[:3].upper():0<3}TEST{i:010d}"[:17] for i in range(n)]
    return [decide_fate(vin, brand, tags or {}, None, fate_rng(1, vin, 1)) for vin in rng_vins]


def test_activation_delay_follows_the_brand() -> None:
    for brand in ("tesla", "mercedes-benz", "bmw", "peugeot", "volkswagen"):
        low, high = ACTIVATION_DELAY[BRANDS[brand].group]
        for steps in fates(brand, tags=TAGS):
            if steps[0].reason != PRIVACY_MODE:
                assert low <= steps[0].delay <= high, (brand, steps)
    assert max(s[0].delay for s in fates("tesla")) <= 3 * HOUR
    assert min(s[0].delay for s in fates("bmw")) >= HOUR
    assert max(s[0].delay for s in fates("volkswagen", tags=TAGS)) > DAY


def test_most_clearances_are_approved_and_rejections_use_the_brands_reasons() -> None:
    for brand in ("bmw", "ford", "volkswagen", "renault", "tesla"):
        outcomes = [steps[-1] for steps in fates(brand, tags=TAGS)]
        counts = Counter(s.status for s in outcomes)
        assert counts["approved"] > 0.75 * len(outcomes), (brand, counts)
        assert counts["rejected"] > 0, brand
        allowed = {r.text for r in reasons_for(brand)}
        assert {s.reason for s in outcomes if s.status == "rejected"} <= allowed


def test_vw_group_without_customer_tag_is_rejected_with_reason() -> None:
    for brand in ("volkswagen", "audi", "skoda", "seat", "cupra"):
        for steps in fates(brand, n=20):
            assert [(s.status, s.reason) for s in steps] == [("rejected", CUSTOMER_TAG_MISSING)]
            assert steps[0].delay <= 20 * MINUTE


def test_some_vw_cars_sit_in_privacy_mode_then_are_rejected() -> None:
    audis = fates("audi", n=400, tags=TAGS)
    privacy = [steps for steps in audis if steps[0].reason == PRIVACY_MODE]
    assert privacy
    for steps in privacy:
        assert [(s.status, s.reason) for s in steps] == [
            ("pending", PRIVACY_MODE),
            ("rejected", PRIVACY_MODE),
        ]
        assert steps[1].delay - steps[0].delay >= 2 * DAY
    assert not any(s[0].reason == PRIVACY_MODE for s in fates("bmw", n=400))


def test_fates_are_deterministic_per_seed_and_vin() -> None:
    vin = "WBA3A5C50CF256651"
    one = decide_fate(vin, "bmw", {}, None, fate_rng(3, vin, 1))
    assert one == decide_fate(vin, "bmw", {}, None, fate_rng(3, vin, 1))


def test_privacy_mode_changelog_through_the_state_machine() -> None:
    state = FleetState(seed=1)
    vin = next(
        v
        for v in (f"WAUZZZ8V{i:09d}" for i in range(2000))
        if decide_fate(v, "audi", TAGS, None, fate_rng(1, v, 1))[0].reason == PRIVACY_MODE
    )
    state.add(vin, "audi", TAGS, None, now=0.0)
    state.tick(3 * HOUR)
    record = state.clearances[vin]
    assert (record.status, record.reason) == ("pending", PRIVACY_MODE)
    state.tick(6 * DAY)
    assert (record.status, record.reason) == ("rejected", PRIVACY_MODE)
    assert [e[1] for e in record.changelog] == ["pending", "pending", "rejected"]


def test_transitions_are_processed_lazily_in_time_order() -> None:
    state = FleetState(seed=1)
    seen: list[tuple[str, str]] = []
    state.subscribe(lambda change: seen.append((change.vin, change.new)))
    vins = [make_vin("bmw", random.Random(i)) for i in range(50)]
    for vin in vins:
        state.add(vin, "bmw", {}, None, now=0.0)
    assert state.tick(59 * MINUTE) == 0
    state.tick(13 * HOUR)
    assert all(state.clearances[v].status != "pending" for v in vins)
    stamps = [state.clearances[v].changelog[-1][0] for v in vins]
    assert all(HOUR <= t <= 12 * HOUR for t in stamps)
    assert len(seen) == 100  # pending, then the outcome, for each


async def test_sandbox_vin_is_approved_within_seconds(empty_api: Api) -> None:
    await empty_api.add({"vin": "2HM99999999999999", "brand": "sandbox"})
    await empty_api.advance(10)
    assert (await empty_api.get("2HM99999999999999"))["status"] == "approved"


async def test_virtual_vin_1_needs_the_odometer_control_measure(empty_api: Api) -> None:
    await empty_api.add(
        {
            "vin": "2HM00000000000001",
            "brand": "sandbox",
            "control_measures": {"odometer": {"value": 2050, "unit": "kilometers"}},
        }
    )
    await empty_api.advance(10)
    assert (await empty_api.get("2HM00000000000001"))["status"] == "approved"


async def test_virtual_vin_1_without_odometer_is_rejected(empty_api: Api) -> None:
    await empty_api.add(
        {
            "vin": "2HM00000000000001",
            "brand": "sandbox",
            "control_measures": {"odometer": {"value": 1000, "unit": "kilometers"}},
        }
    )
    await empty_api.advance(10)
    got = await empty_api.get("2HM00000000000001")
    assert got["status"] == "rejected" and got["changelog"][-1]["reason"] == "unspecified"


async def test_virtual_vin_2_stays_pending_forever(empty_api: Api) -> None:
    await empty_api.add({"vin": "2HM00000000000002", "brand": "sandbox"})
    await empty_api.advance(365 * DAY)
    assert (await empty_api.get("2HM00000000000002"))["status"] == "pending"


async def test_virtual_vin_3_is_rejected_3_hours_after_being_added(empty_api: Api) -> None:
    await empty_api.add({"vin": "2HM00000000000003", "brand": "sandbox"})
    await empty_api.advance(3 * HOUR - 1)
    assert (await empty_api.get("2HM00000000000003"))["status"] == "pending"
    await empty_api.advance(2)
    got = await empty_api.get("2HM00000000000003")
    assert got["status"] == "rejected"
    assert len(got["changelog"]) == 2


async def test_clock_runs_at_speed(emulator_factory) -> None:
    emu = await emulator_factory(fleet=0, speed=36000.0, publish=False)
    emu.state.add("WBA3A5C50CF256651", "bmw", {}, None, emu.clock.now())
    record = emu.state.clearances["WBA3A5C50CF256651"]
    await wait_for(
        lambda: record.status != "pending",
        timeout=15,
        message="a BMW activation (1-12 virtual hours) at 36000x",
    )
