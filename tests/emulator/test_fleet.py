"""The simulated fleet: deterministic, realistic VINs and tags, a history of states."""

from __future__ import annotations

from collections import Counter

from hm_tui.domain.brands import BRANDS, VW_CUSTOMER_TAG
from hm_tui.domain.vin import check_digit, check_vin
from hm_tui.emulator.fates import VIRTUAL_VINS
from hm_tui.emulator.fleet_sim import populate
from hm_tui.emulator.state import FleetState

NOW = 1_750_000_000.0


def fleet(size: int, seed: int) -> FleetState:
    state = FleetState(seed)
    populate(state, size, seed, NOW)
    return state


def test_same_seed_gives_the_same_fleet() -> None:
    one, two = fleet(2000, 5), fleet(2000, 5)
    assert [r.to_wire() for r in one.clearances.values()] == [
        r.to_wire() for r in two.clearances.values()
    ]
    other = fleet(2000, 6)
    assert set(one.clearances) != set(other.clearances)


def test_fleet_has_the_virtual_vins_and_the_requested_size() -> None:
    state = fleet(500, 1)
    assert len(state.clearances) == 503
    assert [state.clearances[v].status for v in VIRTUAL_VINS] == ["approved", "pending", "rejected"]
    assert fleet(0, 1).clearances == {}


def test_vins_use_the_brands_wmi_and_valid_check_digits_in_north_america() -> None:
    state = fleet(3000, 2)
    for record in state.clearances.values():
        assert check_vin(record.vin).ok
        assert record.vin[:3] in BRANDS[record.brand].wmi
        if record.vin[0] in "12345" and record.brand != "sandbox":
            assert record.vin[8] == check_digit(record.vin)


def test_tags_name_sub_fleet_cost_centre_and_most_vw_customers() -> None:
    state = fleet(3000, 3)
    records = list(state.clearances.values())
    assert all("sub-fleet" in r.tags for r in records)
    vw = [r for r in records if BRANDS[r.brand].group == "VW Group"]
    tagged = sum(VW_CUSTOMER_TAG in r.tags for r in vw)
    assert 0.8 * len(vw) < tagged < len(vw)
    untagged = [r for r in vw if VW_CUSTOMER_TAG not in r.tags and r.status == "rejected"]
    assert all(r.reason == "customer name tag missing" for r in untagged)


def test_fleet_has_a_realistic_mix_of_states_with_backdated_changelogs() -> None:
    state = fleet(5000, 4)
    counts = Counter(r.status for r in state.clearances.values())
    assert counts["approved"] > counts["rejected"] > counts["revoked"] > 0
    assert counts["pending"] > 0 and counts["canceled"] > 0
    long_pending = [
        r for r in state.clearances.values() if r.status == "pending" and NOW - r.created_at > 86400
    ]
    assert long_pending
    for record in state.clearances.values():
        stamps = [entry[0] for entry in record.changelog]
        assert stamps == sorted(stamps) and stamps[-1] <= NOW
    assert any(r.reason for r in state.clearances.values() if r.status == "rejected")


def test_pending_cars_move_on_as_time_passes() -> None:
    state = fleet(2000, 4)
    pending = sum(r.status == "pending" for r in state.clearances.values())
    state.tick(NOW + 10 * 86400)
    assert sum(r.status == "pending" for r in state.clearances.values()) < pending


def test_list_cache_is_reused_until_a_change() -> None:
    state = fleet(1000, 1)
    first = state.encoded_list()
    assert state.encoded_list() is first
    state.add("WBA3A5C50CF256651", "bmw", {}, None, NOW)
    assert state.encoded_list() is not first
