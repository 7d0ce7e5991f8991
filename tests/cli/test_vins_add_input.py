"""`vins add`: control measures, CSV headers and warnings that stay readable at scale."""

from __future__ import annotations

from pathlib import Path

import pytest

from hm_tui.cli.main import main
from hm_tui.domain.vin import check_digit, with_check_digit
from tests.service.platform_helpers import Control

ODOMETER = {"odometer": {"value": 2050, "unit": "kilometers"}}


def failing_check_digit(vin17: str) -> str:
    """A VIN whose check digit (position 9) is wrong, as many European VINs are."""
    good = with_check_digit(vin17)
    wrong = "1" if check_digit(good) != "1" else "2"
    return good[:8] + wrong + good[9:]


async def test_odometer_control_measure_gets_the_sandbox_car_approved(
    run_cli, configured, emulator
) -> None:
    vin = "2HM00000000000001"
    control = Control(emulator)
    await control.force(vin, status="revoked")
    await control.advance(3600)
    result = await run_cli("vins", "add", vin, "--brand", "sandbox", "--odometer", "2050")
    await control.advance(3600)
    assert result.code == 0
    assert emulator.state.clearances[vin].control_measures == ODOMETER
    assert emulator.state.clearances[vin].status == "approved"


async def test_odometer_in_miles_and_as_a_csv_column(
    run_cli, configured, emulator, tmp_path: Path
) -> None:
    vins = [with_check_digit(f"2HM0000000000{n:04d}") for n in (11, 12)]
    file = tmp_path / "cars.csv"
    file.write_text(f"vin,brand,odometer\n{vins[0]},sandbox,1274 mi\n{vins[1]},sandbox,\n")
    result = await run_cli("vins", "add", "--file", str(file))
    assert result.code == 0, result.err
    assert emulator.state.clearances[vins[0]].control_measures == {
        "odometer": {"value": 1274, "unit": "miles"}
    }
    assert emulator.state.clearances[vins[1]].control_measures is None
    assert "ignoring column" not in result.err


async def test_an_odometer_that_is_not_a_distance_is_a_usage_error(run_cli, configured) -> None:
    result = await run_cli(
        "vins", "add", "2HM00000000000001", "--brand", "sandbox", "--odometer", "20x50"
    )
    assert result.code == 2 and "odometer '20x50' is not a distance" in result.err


def test_help_documents_the_odometer(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["vins", "add", "--help"])
    assert "--odometer KM" in capsys.readouterr().out


async def test_a_csv_header_naming_a_column_twice_is_refused(
    run_cli, configured, emulator, tmp_path: Path
) -> None:
    vin = with_check_digit("WBA00000000000421")
    file = tmp_path / "cars.csv"
    file.write_text(f"vin,brand,vin\n{vin},bmw,{with_check_digit('WBA00000000000422')}\n")
    result = await run_cli("vins", "add", "--file", str(file))
    assert result.code == 2 and "names 'vin' more than once" in result.err
    assert vin not in emulator.state.clearances


@pytest.mark.parametrize("verbose", [False, True])
async def test_check_digit_warnings_are_summed_up_after_five_unless_verbose(
    run_cli, configured, tmp_path: Path, verbose: bool
) -> None:
    vins = [failing_check_digit(f"WDD0000000000{n:04d}") for n in range(1, 13)]
    file = tmp_path / "cars.csv"
    file.write_text("vin,brand\n" + "".join(f"{v},mercedes-benz\n" for v in vins))
    result = await run_cli("vins", "add", "--file", str(file), *(["-v"] if verbose else []))
    warned = [line for line in result.err.splitlines() if "check digit (position 9)" in line]
    assert result.code == 0
    if verbose:
        assert len(warned) == 12 and "more rows with a check-digit warning" not in result.err
    else:
        assert [w.split(":")[1].strip() for w in warned] == [f"line {n}" for n in range(2, 7)]
        assert "… and 7 more rows with a check-digit warning (use -v to list all)" in result.err


async def test_a_one_character_vin_is_singular(run_cli, configured) -> None:
    result = await run_cli("vins", "show", "A")
    assert result.code == 2 and "A has 1 character: a VIN has exactly 17" in result.err
