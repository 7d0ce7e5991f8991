"""Data point values as operators read them, in the dashboard and the headless commands."""

from __future__ import annotations

from hm_tui.domain.values import format_value


def test_a_percentage_reads_as_percent_not_a_fraction() -> None:
    assert format_value(0.85, None, capability="charging", prop="battery_level") == "85 %"


def test_one_item_of_a_multiple_property_reads_per_location_not_as_json() -> None:
    assert format_value({"location": "front_left", "lock_state": "locked"}) == "front_left: locked"


def test_large_numbers_group_thousands_and_carry_their_unit() -> None:
    assert format_value({"value": 12000, "unit": "kilometers"}) == "12,000 km"


def test_counts_and_large_values_are_grouped_one_way() -> None:
    from hm_tui.domain.values import count_text, format_number

    assert count_text(1234567) == "1,234,567"
    assert format_number(12000) == count_text(12000) == "12,000"
    assert format_number(9999) == "9999"  # (a year, a code: short numbers read as they are)
    assert format_number(175240.7) == "175,240.7"  # (was 175240.7 beside 254 486)
