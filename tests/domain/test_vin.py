from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hm_tui.domain.vin import check_digit, check_vin, normalise_vin, with_check_digit


def test_valid_north_american_vin_has_no_warnings() -> None:
    result = check_vin("1M8GDM9AXKP042788")  # the textbook example, check digit X
    assert result.ok
    assert result.warnings == ()


def test_vin_is_normalised_to_upper_case_without_spaces() -> None:
    assert normalise_vin(" 1m8g dm9a xkp042788 \n") == "1M8GDM9AXKP042788"
    assert check_vin(" 1m8gdm9axkp042788 ").vin == "1M8GDM9AXKP042788"


@pytest.mark.parametrize("raw", ["", "WBA123", "1M8GDM9AXKP0427889"])
def test_wrong_length_is_rejected_with_the_rule(raw: str) -> None:
    result = check_vin(raw)
    assert not result.ok
    assert "17" in result.message()


def test_characters_outside_alphabet_are_rejected() -> None:
    result = check_vin("WBA-1234567890123")
    assert not result.ok
    assert "'-'" in result.message()


def test_i_o_q_warn_but_do_not_reject() -> None:
    result = check_vin("WBAOI234567890123")
    assert result.ok
    assert "I/O" in result.warnings[0]


def test_failing_check_digit_warns_but_does_not_reject() -> None:
    result = check_vin("1M8GDM9A1KP042788")
    assert result.ok
    assert "check digit" in result.warnings[0]
    assert "expected X" in result.warnings[0]


def test_with_check_digit_makes_a_vin_that_passes() -> None:
    vin = with_check_digit("1FAHP3F20CL000001")
    assert check_digit(vin) == vin[8]
    assert check_vin(vin).warnings == ()


@given(st.text(max_size=40))
def test_any_input_gives_a_result_never_an_exception(raw: str) -> None:
    result = check_vin(raw)
    assert result.ok == (not result.errors)
    if result.ok:
        assert len(result.vin) == 17


def test_the_platforms_documented_sandbox_vins_get_no_check_digit_warning() -> None:
    for vin in ("2HM00000000000001", "2HM00000000000002", "2HM00000000000003"):
        assert check_vin(vin).warnings == ()
    assert check_vin("2HM00000000000004").warnings  # any other made-up one still does
