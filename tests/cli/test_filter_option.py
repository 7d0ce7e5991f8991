"""`--filter` on `vins list` and `vins export`: the dashboard's filter language, against the
running emulator."""

from __future__ import annotations

import json

from hm_tui.domain.vin import with_check_digit
from tests.service.platform_helpers import Control

NORTH = with_check_digit("WBA00000000000701")
SUB_NORTH = with_check_digit("WBA00000000000702")
AUDI = with_check_digit("WAU00000000000703")


async def _seed(run_cli) -> None:
    for vin, brand, tag in (
        (NORTH, "bmw", "fleet=north"),
        (SUB_NORTH, "bmw", "sub-fleet=north"),
        (AUDI, "audi", "fleet=north"),
    ):
        extra = ["--tag", "vw-group-customer-name=ACME"] if brand == "audi" else []
        result = await run_cli("vins", "add", vin, "--brand", brand, "--tag", tag, *extra)
        assert result.code == 0, result.err


async def test_tag_term_is_exact_where_the_old_substring_was_not(run_cli, configured) -> None:
    await _seed(run_cli)
    exact = json.loads((await run_cli("vins", "list", "--filter", "tag:fleet=north", "--json")).out)
    loose = json.loads((await run_cli("vins", "list", "--filter", "fleet=north", "--json")).out)
    assert {c["vin"] for c in exact} == {NORTH, AUDI}
    assert {NORTH, SUB_NORTH, AUDI} <= {c["vin"] for c in loose}


async def test_status_brand_and_not_combine_with_and(run_cli, configured, emulator) -> None:
    await _seed(run_cli)
    for vin in (NORTH, AUDI):
        await Control(emulator).force(vin, status="rejected", reason="privacy mode is enabled")
    result = await run_cli(
        "vins", "list", "--filter", 'status:rejected reason:"privacy mode" -brand:bmw', "--json"
    )
    assert result.code == 0, result.err
    assert [c["vin"] for c in json.loads(result.out)] == [AUDI]
    export = await run_cli("vins", "export", "--filter", "status:rejected tag:fleet=north")
    assert NORTH in export.out and AUDI in export.out and SUB_NORTH not in export.out


async def test_time_in_state_counts_on_the_platforms_clock(run_cli, configured, emulator) -> None:
    await _seed(run_cli)
    control = Control(emulator)
    await control.force(NORTH, status="rejected", reason="privacy mode is enabled")
    await control.advance(3 * 86400)  # the emulator's clock, not ours
    await control.force(AUDI, status="rejected", reason="privacy mode is enabled")

    async def vins(query: str) -> set[str]:
        result = await run_cli("vins", "list", "--filter", query, "--json")
        assert result.code == 0, result.err
        return {c["vin"] for c in json.loads(result.out)}

    assert await vins("status:rejected age:>2d") >= {NORTH}
    assert AUDI not in await vins("status:rejected age:>2d")
    assert await vins("status:rejected age:<1h") >= {AUDI}
    assert NORTH not in await vins("status:rejected age:<1h")


async def test_a_bad_filter_is_a_usage_error_naming_the_part(run_cli, configured) -> None:
    result = await run_cli("vins", "list", "--filter", "status:rejectd brand:audi")
    assert result.code == 2
    assert "'rejectd' is not a status; use pending, approved" in result.err
    assert "Traceback" not in result.err
