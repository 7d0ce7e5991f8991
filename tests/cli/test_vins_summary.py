"""`hm-tui vins summary`: a campaign of 1,000 VINs added through the CLI, summarised, and its
counts checked against the emulator's own (`/_emulator/stats`)."""

from __future__ import annotations

import json
from pathlib import Path

from hm_tui.domain.vin import with_check_digit
from tests.service.platform_helpers import Control

BRANDS = ("bmw", "audi", "volkswagen", "kia", "mercedes-benz", "renault", "seat", "tesla")


def _campaign_csv(path: Path, size: int) -> Path:
    rows = ["vin,brand,tag:campaign,tag:vw-group-customer-name"]
    for n in range(size):
        brand = BRANDS[n % len(BRANDS)]
        customer = "ACME" if brand in ("audi", "seat") and n % 3 else ""  # VW rows without it
        rows.append(f"{with_check_digit(f'WXX{n:014d}')},{brand},spring,{customer}")
    path.write_text("\n".join(rows) + "\n")
    return path


async def test_a_1000_vin_campaign_matches_the_emulators_counts(
    run_cli, configured, emulator, tmp_path: Path
) -> None:
    added = await run_cli("vins", "add", "--file", str(_campaign_csv(tmp_path / "c.csv", 1000)))
    assert added.code == 0, added.err[-2000:]
    await Control(emulator).advance(6 * 3600)  # most brands decide within hours

    result = await run_cli("vins", "summary", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    stats = await Control(emulator).stats()
    assert summary["by_brand"] == stats["clearances_by_brand"]
    assert summary["by_status"] == stats["clearances"]
    assert {g["reason"]: g["count"] for g in summary["rejections"]} == stats["rejected_by_reason"]
    assert summary["total"] == len(emulator.state.clearances)
    assert summary["decided"] == summary["total"] - stats["clearances"].get("pending", 0)
    decided = sum(summary["timeline"]["approved"]) + sum(summary["timeline"]["rejected"])
    assert decided >= stats["clearances"].get("approved", 0)

    journal = json.loads((await run_cli("vins", "journal", "--json")).out)
    action = journal[0]["id"]
    one = json.loads((await run_cli("vins", "summary", "--action", str(action), "--json")).out)
    assert one["total"] == 1000 and one["campaign"].endswith("(1000 VINs)")
    tagged = json.loads(
        (await run_cli("vins", "summary", "--filter", "tag:campaign=spring", "--json")).out
    )
    assert tagged["by_brand"] == one["by_brand"]


async def test_the_text_summary_groups_rejections_and_says_how_it_estimates(
    run_cli, configured, emulator, tmp_path: Path
) -> None:
    added = await run_cli("vins", "add", "--file", str(_campaign_csv(tmp_path / "c.csv", 120)))
    assert added.code == 0, added.err[-2000:]
    await Control(emulator).advance(6 * 3600)
    result = await run_cli("vins", "summary", "--filter", "tag:campaign=spring")
    assert result.code == 0, result.err
    text = result.out
    assert "of 120 decided" in text
    assert "customer name tag missing" in text and "what to do:" in text
    assert "pending → approved durations" in text
    assert "approved " in text and "rejected " in text


async def test_an_unknown_action_is_a_clear_failure(run_cli, configured) -> None:
    result = await run_cli("vins", "summary", "--action", "999")
    assert result.code == 1 and "no action #999 in the journal" in result.err
    bad = await run_cli("vins", "summary", "--filter", "age:2d")
    assert bad.code == 2 and "age: needs a comparison" in bad.err


async def test_a_filter_that_keeps_nothing_says_so_instead_of_an_empty_chart(
    run_cli, configured
) -> None:
    result = await run_cli("vins", "summary", "--filter", "tag:campaign=none-such")
    assert result.code == 0, result.err
    assert "no clearances: nothing to sum up" in result.out
    assert "Decisions over time" not in result.out
