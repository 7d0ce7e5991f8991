"""The reporting cars followed change by change (`ApprovedCars`): the publisher learns of each
approval, revocation and forced data error without scanning the fleet every second."""

from __future__ import annotations

from hm_tui.emulator.approved import ApprovedCars
from hm_tui.emulator.fleet_sim import populate
from hm_tui.emulator.state import FleetState

NOW = 1_750_000_000.0


def test_the_first_ask_is_the_whole_set_then_only_what_changed() -> None:
    state = FleetState(1)
    populate(state, 300, 1, NOW)
    cars = ApprovedCars(state)
    everything, first = cars.changed()
    approved = {r.vin for r in state.clearances.values() if r.status == "approved"}
    assert everything and set(first) == approved and all(first.values())
    assert cars.changed() == (False, {})

    leaving = next(iter(approved))
    pending = next(v for v, r in state.clearances.items() if r.status == "pending")
    state.force(leaving, "revoked", None, NOW + 1)
    state.force(pending, "approved", None, NOW + 1)
    everything, changes = cars.changed()
    assert not everything
    assert changes == {leaving: None, pending: state.clearances[pending].brand}


def test_a_forced_data_error_stops_the_car_and_ok_starts_it_again() -> None:
    state = FleetState(1)
    populate(state, 50, 1, NOW)
    cars = ApprovedCars(state)
    cars.changed()
    vin = next(v for v, r in state.clearances.items() if r.status == "approved")
    record = state.clearances[vin]
    record.data_error = "offline"
    state.touch(record)
    assert cars.changed() == (False, {vin: None})
    record.data_error = "ok"
    state.touch(record)
    assert cars.changed() == (False, {vin: record.brand})
    assert cars() == [(r.vin, r.brand) for r in state.clearances.values() if r.status == "approved"]
