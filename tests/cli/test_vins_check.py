"""`hm-tui vins check`: the platform's eligibility answer per car, before anything is added."""

from __future__ import annotations

import json
import zlib

from hm_tui.domain.vin import with_check_digit


def _vins(count: int, prefix: str = "WVW") -> list[str]:
    return [with_check_digit(f"{prefix}{n:014d}") for n in range(count)]


def _roll(vin: str) -> int:  # the emulator's deterministic draw (emulator/eligibility.py)
    return zlib.crc32(vin.encode()) % 100


async def test_check_shows_each_answer_and_adds_nothing(run_cli, configured, emulator) -> None:
    vins = _vins(30)
    before = len(emulator.state.clearances)
    result = await run_cli("vins", "check", *vins, "--brand", "volkswagen", "--json")
    answers = {a["vin"]: a for a in json.loads(result.out)}
    assert set(answers) == set(vins) and len(emulator.state.clearances) == before
    for vin in vins:
        assert answers[vin]["eligible"] == (_roll(vin) >= 10)
        assert answers[vin]["primary_user_assigned"] is not None  # VW Group says
    assert result.code == (0 if all(a["eligible"] for a in answers.values()) else 1)


async def test_the_table_says_what_an_ineligible_car_means(run_cli, configured) -> None:
    vins = _vins(60)
    bad = [v for v in vins if _roll(v) < 10][:1]
    good = [v for v in vins if _roll(v) >= 10][:1]
    result = await run_cli("vins", "check", *bad, *good, "--brand", "volkswagen")
    assert result.code == 1
    assert "PRIMARY USER" in result.out.splitlines()[0]
    assert "not eligible: the platform says the car cannot deliver data" in result.out
    bmw = await run_cli("vins", "check", good[0], "--brand", "bmw")
    assert "PRIMARY USER" not in bmw.out


async def test_bad_input_is_a_usage_error_and_an_uncovered_brand_is_explained(
    run_cli, configured
) -> None:
    short = await run_cli("vins", "check", "WVW123", "--brand", "volkswagen")
    unknown = await run_cli("vins", "check", _vins(1)[0], "--brand", "trabant")
    assert short.code == 2 and "a VIN has exactly 17" in short.err
    assert unknown.code == 2 and "unknown brand 'trabant'" in unknown.err


async def test_a_brand_the_check_does_not_cover_is_not_checked_and_says_why(
    run_cli, configured
) -> None:
    result = await run_cli("vins", "check", _vins(1, "KNA")[0], "--brand", "kia")
    assert result.code == 1
    assert "not checked: the platform cannot check this car" in result.err
    assert "some brands are not covered by the eligibility check" in result.err
    assert "Traceback" not in result.err
