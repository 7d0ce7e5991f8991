"""`hm-tui vins ...` against the running emulator: output, bad input, refusals, exit codes."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import sys
from pathlib import Path

from hm_tui.domain.vin import with_check_digit
from tests.service.platform_helpers import Control

GOOD = with_check_digit("WBA00000000000555")


async def test_list_json_filters_by_status_and_tag(run_cli, configured, emulator) -> None:
    everything = json.loads((await run_cli("vins", "list", "--json")).out)
    pending = json.loads((await run_cli("vins", "list", "--status", "pending", "--json")).out)
    sandbox = json.loads(
        (await run_cli("vins", "list", "--tag", "sub-fleet=sandbox", "--json")).out
    )
    assert len(everything) == len(emulator.state.clearances)
    assert pending and {c["status"] for c in pending} == {"pending"}
    assert {c["vin"] for c in sandbox} >= {"2HM00000000000001", "2HM00000000000002"}


async def test_list_csv_has_a_header_and_one_row_per_clearance(
    run_cli, configured, emulator
) -> None:
    result = await run_cli("vins", "list", "--csv")
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert result.code == 0
    assert len(rows) == len(emulator.state.clearances)
    assert {"vin", "brand", "status", "since", "reason"} <= set(rows[0])


async def test_bad_arguments_are_usage_errors_without_traceback(run_cli, configured) -> None:
    short = await run_cli("vins", "show", "WBA123")
    status = await run_cli("vins", "list", "--status", "sleeping")
    brand = await run_cli("vins", "add", GOOD, "--brand", "trabant")
    tag = await run_cli("vins", "add", GOOD, "--brand", "bmw", "--tag", "novalue")
    assert short.code == 2 and "has 6 characters: a VIN has exactly 17" in short.err
    assert status.code == 2 and "unknown status 'sleeping'" in status.err
    assert brand.code == 2 and "unknown brand 'trabant'" in brand.err
    assert tag.code == 2 and "not KEY=VALUE" in tag.err
    assert all("Traceback" not in r.err for r in (short, status, brand, tag))


async def test_doubtful_vin_warns_and_unknown_vin_fails(run_cli, configured) -> None:
    result = await run_cli("vins", "show", "WBA0000000000O555")
    assert result.code == 1
    assert "contains O" in result.err and "has no clearance in this fleet" in result.err


async def test_show_explains_the_reason(run_cli, configured) -> None:
    result = await run_cli("vins", "show", "2HM00000000000003")
    assert result.code == 0
    assert "status   rejected" in result.out and "What to do:" in result.out


async def test_add_one_vin_with_tags(run_cli, configured, emulator) -> None:
    result = await run_cli("vins", "add", GOOD, "--brand", "BMW", "--tag", "fleet=north")
    assert result.code == 0 and f"{GOOD}  pending" in result.out
    assert emulator.state.clearances[GOOD].tags == {"fleet": "north"}


async def test_vw_without_customer_name_is_warned_about_and_still_sent(
    run_cli, configured, emulator
) -> None:
    vin = with_check_digit("WVW00000000000321")
    result = await run_cli("vins", "add", vin, "--brand", "volkswagen")
    assert result.code == 0
    assert "vw-group-customer-name" in result.err
    assert vin in emulator.state.clearances


async def test_csv_with_bom_crlf_semicolons_names_bad_rows_adds_good_ones(
    run_cli, configured, emulator, tmp_path: Path
) -> None:
    good = [with_check_digit(f"WDD0000000000{n:04d}") for n in range(1, 4)]
    text = (
        "vin;brand;tag:fleet\r\n"
        f"{good[0]};mercedes-benz;north\r\n"
        "WDD123;mercedes-benz;north\r\n"
        f"{good[1]};trabant;north\r\n"
        "\r\n"
        f"{good[2].lower()};Mercedes-Benz;\r\n"
        f"{good[0]};mercedes-benz;north\r\n"
    )
    file = tmp_path / "cars.csv"
    file.write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = await run_cli("vins", "add", "--file", str(file))
    assert result.code == 1
    assert "line 3: WDD123 has 6 characters" in result.err
    assert "line 4: unknown brand 'trabant'" in result.err
    assert f"line 7: {good[0]} is also on line 2" in result.err
    assert emulator.state.clearances[good[0]].tags == {"fleet": "north"}
    assert good[2] in emulator.state.clearances and good[1] not in emulator.state.clearances


async def test_csv_in_a_legacy_encoding_is_refused_with_how_to_fix(
    run_cli, configured, tmp_path: Path
) -> None:
    file = tmp_path / "cars.csv"
    file.write_bytes(f"vin,brand,tag:owner\n{GOOD},bmw,Müller\n".encode("latin-1"))
    result = await run_cli("vins", "add", "--file", str(file))
    assert result.code == 2
    assert "not UTF-8 text (byte 0xFC on line 2)" in result.err and "CSV UTF-8" in result.err


async def test_csv_without_the_needed_columns_is_a_usage_error(
    run_cli, configured, tmp_path: Path
) -> None:
    file = tmp_path / "cars.csv"
    file.write_text(f"id,make\n{GOOD},bmw\n")
    result = await run_cli("vins", "add", "--file", str(file))
    assert result.code == 2 and "line 1: the header needs 'vin' and 'brand'" in result.err


async def test_revoke_says_why_in_operator_words(run_cli, configured, emulator) -> None:
    control = Control(emulator)
    approved = next(c.vin for c in emulator.state.clearances.values() if c.status == "approved")
    await control.force("2HM00000000000003", status="revoked")
    refusals = [await control.responses(code) for code in (403, 409, 422)]
    result = await run_cli(
        "vins",
        "revoke",
        approved,
        "2HM00000000000003",
        with_check_digit("WBA00000000000999"),
        "--yes",
    )
    assert result.code == 1
    assert f"{approved}  revoking" in result.out
    assert "2HM00000000000003: not sent: " in result.err  # skipped, as the dashboard does
    assert "(the platform would refuse it)" in result.err
    assert [await control.responses(code) for code in (403, 409, 422)] == refusals
    assert "has no clearance in this fleet" in result.err
    assert emulator.state.clearances[approved].status == "revoking"


async def test_actions_are_journaled_for_the_dashboard(run_cli, configured, emulator) -> None:
    from hm_tui.service.store.db import Store

    approved = next(c.vin for c in emulator.state.clearances.values() if c.status == "approved")
    await run_cli("vins", "add", GOOD, "--brand", "bmw")
    await run_cli("vins", "revoke", approved, "2HM00000000000003", "--yes")
    store = Store.for_profile("emu")
    try:
        removal, added = store.journal.entries()[:2]
    finally:
        store.close()
    assert (added.action, added.vins, added.results[GOOD].result) == ("add", [GOOD], "pending")
    assert removal.action == "remove" and removal.finished
    assert removal.results[approved].result == "revoking"
    assert removal.results["2HM00000000000003"].result == "refused"


async def test_revoke_without_a_terminal_needs_yes(run_cli, configured) -> None:
    result = await run_cli("vins", "revoke", "2HM00000000000001")
    assert result.code == 2 and "--yes" in result.err


async def test_revoke_asks_naming_each_vin_and_what_happens(
    run_cli, configured, emulator, monkeypatch
) -> None:
    approved = next(c.vin for c in emulator.state.clearances.values() if c.status == "approved")
    prompts: list[str] = []
    monkeypatch.setattr("hm_tui.cli.vins_actions.stdin_is_tty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "n")
    result = await run_cli("vins", "revoke", approved, "2HM00000000000002")
    assert result.code == 1 and "nothing changed" in result.err
    assert f"revoke    {approved}" in result.err
    assert "2HM00000000000002: not sent: " in result.err  # sandbox cannot cancel: not asked
    assert "2HM00000000000002" not in result.err.split("About to change")[1]
    assert prompts == ["Proceed? [y/N] "]
    assert emulator.state.clearances[approved].status == "approved"


async def test_read_only_refuses_changes(run_cli, configured) -> None:
    result = await run_cli("--read-only", "vins", "add", GOOD, "--brand", "bmw")
    assert result.code == 2 and "--read-only" in result.err


async def test_data_json_has_one_object_per_point(run_cli, configured) -> None:
    result = await run_cli("vins", "data", "2HM00000000000001", "--json")
    data = json.loads(result.out)
    assert result.code == 0 and data["vin"] == "2HM00000000000001"
    assert {"capability", "property", "value", "unit", "timestamp"} <= set(data["points"][0])


async def test_untrusted_tags_cannot_reach_the_terminal_raw(run_cli, configured, emulator) -> None:
    await Control(emulator).force(
        "2HM00000000000001", tags={"note": "\x1b]52;c;ZXZpbA==\x07\x1b[31mred\u202eevil\r\nnext"}
    )
    table = await run_cli("vins", "list")
    exported = await run_cli("vins", "export", "--json")
    for text in (table.out, exported.out):
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    # sequences go whole, their parameters with them: no "]52;..." or "[31m" left behind
    assert "note=redevil next" in table.out
    assert "]52;" not in table.out and "[31m" not in table.out


async def test_verbose_logs_requests_but_never_secret_or_token(
    run_cli, configured, emulator
) -> None:
    result = await run_cli("-v", "vins", "list", "--json")
    assert result.code == 0
    assert "GET http://127.0.0.1" in result.err and "access_tokens -> 200" in result.err
    assert emulator.credentials["client_secret"] not in result.out + result.err
    assert "eyJ" not in result.out + result.err  # no JWT (token or assertion) anywhere


async def test_watch_keeps_one_token_and_stops_cleanly_on_ctrl_c(configured, emulator) -> None:
    control = Control(emulator)
    before = (await control.stats())["tokens_issued"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hm_tui",
        "vins",
        "list",
        "--watch",
        "0.1",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    lines = [await asyncio.wait_for(proc.stdout.readline(), 15) for _ in range(3)]
    assert all(isinstance(json.loads(line), list) for line in lines)
    proc.send_signal(signal.SIGINT)
    code = await asyncio.wait_for(proc.wait(), 10)
    assert code == 0
    assert (await control.stats())["tokens_issued"] == before + 1


async def test_time_in_state_counts_on_the_platforms_clock_not_ours(
    run_cli, configured, emulator
) -> None:
    control = Control(emulator)
    vin = "2HM00000000000002"
    await control.advance(5 * 3600)  # the virtual clock is now hours ahead of the wall clock
    await control.force(vin, status="revoked")
    await control.advance(2 * 3600 + 30)  # mid-minute: the Date header has whole seconds
    shown = await run_cli("vins", "show", vin)
    listed = json.loads((await run_cli("vins", "list", "--json")).out)
    table = await run_cli("vins", "list", "--status", "revoked")
    assert shown.code == 0 and "status   revoked for 2h00m (since " in shown.out
    assert " UTC)" in shown.out
    assert any(c["vin"] == vin for c in listed)
    row = next(line for line in table.out.splitlines() if line.startswith(vin))
    assert row.split()[3] == "2h00m"
