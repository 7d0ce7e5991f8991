"""How data point values read: units, percentages, coordinates and `multiple` properties."""

from __future__ import annotations

from hm_tui.ui.format import format_value


def test_a_measurement_reads_with_its_unit_symbol() -> None:
    assert format_value({"value": 193537.8, "unit": "kilometers"}) == "193,537.8 km"


def test_a_percentage_property_reads_as_percent() -> None:
    assert format_value(0.49, None, capability="diagnostics", prop="fuel_level") == "49 %"


def test_coordinates_read_as_latitude_longitude() -> None:
    assert format_value({"latitude": 48.2, "longitude": 16.3}) == "48.2, 16.3"


def test_door_locks_read_per_location_not_as_json() -> None:
    locks = [
        {"location": "front_left", "lock_state": "locked"},
        {"location": "front_right", "lock_state": "unlocked"},
    ]
    assert format_value(locks) == "front_left: locked, front_right: unlocked"


def test_tire_pressures_read_per_location_with_units() -> None:
    pressures = [{"location": "rear_left", "pressure": {"value": 2.3, "unit": "bars"}}]
    assert format_value(pressures) == "rear_left: 2.3 bar"


def test_text_from_the_car_in_a_list_stays_inert() -> None:
    shown = format_value([{"location": "[red]x[/]\x1b[2J", "lock_state": "locked"}])
    assert shown == "[red]x[/]: locked"  # markup literal (rendered as Text), escape stripped
