"""Headless output on an 80-column terminal, and `vins data` in the operator's words."""

from __future__ import annotations

import os
import shutil

import pytest

from hm_tui.cli import output
from hm_tui.domain.vin import with_check_digit
from tests.service.platform_helpers import Control


@pytest.fixture
def terminal_80(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout and stderr are an 80x24 terminal."""
    monkeypatch.setattr(output, "is_terminal", lambda file: True, raising=False)
    monkeypatch.setattr(shutil, "get_terminal_size", lambda *a, **k: os.terminal_size((80, 24)))


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def approved(emulator, n: int = 1) -> list[str]:
    return sorted(v for v, r in emulator.state.clearances.items() if r.status == "approved")[:n]


async def test_on_an_80_column_terminal_rows_and_prose_fit_and_long_cells_are_cut(
    run_cli, configured, emulator, terminal_80
) -> None:
    await Control(emulator).force(
        "2HM00000000000003", status="rejected", reason="customer name tag missing"
    )  # a long explanation
    listed = await run_cli("vins", "list")
    shown = await run_cli("vins", "show", "2HM00000000000003")
    data = await run_cli("vins", "data", "2HM00000000000001")
    assert listed.code == shown.code == data.code == 0
    assert widest(listed.out) <= 80 and "…" in listed.out
    assert widest(shown.out) <= 80 and widest(data.out) <= 80
    assert "\n         " in shown.out.split("What to do:")[1]  # wrapped under the text column
    assert not any(line.endswith(("-", " ")) for line in shown.out.splitlines())


async def test_piped_output_keeps_every_value_whole(run_cli, configured) -> None:
    listed = await run_cli("vins", "list")
    assert "…" not in listed.out and widest(listed.out) > 80


async def test_the_revoke_confirmation_fits_the_terminal(
    run_cli, configured, emulator, terminal_80, monkeypatch
) -> None:
    monkeypatch.setattr("hm_tui.cli.vins_actions.stdin_is_tty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": "n")
    result = await run_cli("vins", "revoke", *approved(emulator, 3), "2HM00000000000002")
    # the pending sandbox VIN cannot be canceled: said and left out of the confirmation
    assert result.code == 1 and "About to change 3 clearance(s)" in result.err
    assert "2HM00000000000002: not sent" in result.err
    assert widest(result.err) <= 80


async def test_vehicle_data_reads_as_the_dashboard_shows_it(run_cli, configured) -> None:
    result = await run_cli("vins", "data", "2HM00000000000001")
    fuel = next(
        line for line in result.out.splitlines() if "fuel_level" in line or "battery_level" in line
    )
    assert result.code == 0 and " %" in fuel
    assert "UNIT" not in result.out.splitlines()[0]


@pytest.mark.parametrize(
    ("data_error", "words", "advice"),
    [
        ("privacy", "Privacy mode is active in the car", "turns privacy mode off"),
        ("offline", "The car is offline or asleep", "try again once it has been driven"),
        ("unavailable", "No data yet", "try again later"),
    ],
)
async def test_refused_data_is_explained_with_what_to_do(
    run_cli, configured, emulator, data_error, words, advice
) -> None:
    (vin,) = approved(emulator)
    await Control(emulator).force(vin, data_error=data_error)
    result = await run_cli("vins", "data", vin)
    assert result.code == 1
    assert words in result.err and advice in result.err


async def test_data_of_a_vin_outside_the_fleet_says_so_and_of_a_pending_one_why(
    run_cli, configured
) -> None:
    stranger = with_check_digit("WBA00000000000999")
    outside = await run_cli("vins", "data", stranger)
    pending = await run_cli("vins", "data", "2HM00000000000002")
    assert outside.code == 1 and "no clearance for this VIN in this fleet" in outside.err
    assert "No active consent" not in outside.err
    assert pending.code == 1 and "No consent for this car" in pending.err
    assert "Its clearance is pending" in pending.err


async def test_a_long_rate_limit_wait_is_said_once_on_a_terminal(
    run_cli, configured, emulator, terminal_80
) -> None:
    from hm_tui.emulator.context import RateLimiter

    emulator.context.get_one_limit = RateLimiter(limit=1, window_s=3)
    first = await run_cli("vins", "show", "2HM00000000000002")
    second = await run_cli("vins", "show", "2HM00000000000002")
    assert first.code == second.code == 0 and first.err == ""
    assert second.err.count("rate limited by the platform: waiting ") == 1, second.err
    assert second.err.count("\n") == 1


def test_short_waits_and_piped_stderr_stay_quiet(monkeypatch, capsys) -> None:
    from hm_tui.cli.connect import WaitNotice

    notice = WaitNotice(clock=lambda: 100.0)
    monkeypatch.setattr(output, "is_terminal", lambda file: True)
    notice("rate limited by the platform", 1.5)
    notice("rate limited by the platform", 48)
    notice("rate limited by the platform", 47)  # a concurrent call waiting out the same limit
    monkeypatch.setattr(output, "is_terminal", lambda file: False)
    WaitNotice()("rate limited by the platform", 48)
    assert capsys.readouterr().err == "hm-tui: rate limited by the platform: waiting 48 s…\n"


async def test_data_ages_count_on_the_real_clock_when_the_emulator_runs_ahead(
    run_cli, configured, emulator
) -> None:
    emulator.clock.advance(5 * 86400)  # an emulator at --speed: its clearances' clock is ahead
    result = await run_cli("vins", "data", "2HM00000000000001")
    assert result.code == 0
    rows = [line for line in result.out.splitlines()[1:] if line.strip()]
    assert rows and not any(" 5d" in row or " 4d" in row for row in rows), result.out


async def test_the_journal_fits_the_terminal_and_an_interruption_says_utc_once(
    run_cli, configured, emulator, terminal_80
) -> None:
    from datetime import UTC, datetime

    from hm_tui.cli.vins_journal import interrupted_text
    from hm_tui.service.store.db import JournalEntry

    result = await run_cli("vins", "revoke", *approved(emulator, 2), "--yes")
    assert result.code == 0
    journal = await run_cli("vins", "journal")
    assert journal.code == 0 and widest(journal.out) <= 80, journal.out
    entry = JournalEntry(7, "add", datetime.now(UTC), None, ["A" * 17], {"via": "cli"})
    assert interrupted_text([entry], "p").count("UTC") == 1


def test_feed_lines_are_cut_to_the_terminal_never_wrapped(monkeypatch, capsys) -> None:
    from datetime import UTC, datetime

    from hm_tui.cli import feed_cmd
    from hm_tui.service.models import DataPoint

    locks = [
        {"location": door, "lock_state": "locked"}
        for door in ("front_left", "front_right", "rear_right", "rear_left")
    ]
    point = DataPoint("WBA3A5C53CF256985", "doors", "locks", locks, None, datetime.now(UTC))
    monkeypatch.setattr(output, "is_terminal", lambda file: True, raising=False)
    monkeypatch.setattr(shutil, "get_terminal_size", lambda *a, **k: os.terminal_size((80, 24)))
    feed_cmd._emit(point, as_json=False)
    [line] = capsys.readouterr().out.splitlines()
    assert len(line) <= 80 and line.endswith("…") and "doors.locks = front_left" in line
