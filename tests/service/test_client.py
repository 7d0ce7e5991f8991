"""PlatformClient against the running emulator: every call, retries that never apply twice, 401
recovery, bulk add, and what the platform refuses."""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import replace
from typing import Any

import httpx
import pytest

from hm_tui.domain.removal import ALREADY_REMOVED, CANCEL_NOT_SUPPORTED, explain_refusal
from hm_tui.domain.vin import with_check_digit
from hm_tui.service.errors import Conflict, NotFound, ServerError, Unprocessable
from hm_tui.service.models import NewClearance
from hm_tui.service.platform.client import PlatformClient
from hm_tui.service.platform.http_log import enable_verbose
from hm_tui.service.platform.retry import NO_RETRY
from tests.service.platform_helpers import FAST_RETRY, Control, emulator_profile


def new_vins(count: int, prefix: str = "WBA") -> list[str]:
    return [with_check_digit(f"{prefix}{n:014d}") for n in range(1, count + 1)]


def client_for(emulator: Any, **kwargs: Any) -> PlatformClient:
    return PlatformClient(
        emulator_profile(emulator), retry=kwargs.pop("retry", FAST_RETRY), **kwargs
    )


async def approved_vins(client: PlatformClient, count: int) -> list[str]:
    found = [c.vin for c in await client.list_clearances() if c.status == "approved"]
    assert len(found) >= count
    return found[:count]


async def test_list_filter_and_get_one(emulator) -> None:
    async with client_for(emulator) as client:
        everything = await client.list_clearances()
        pending = await client.list_clearances({"status": {"operator": "eq", "value": "pending"}})
        one = await client.get_clearance("2HM00000000000003")
    assert {c.status for c in pending} == {"pending"}
    assert len(pending) < len(everything)
    assert one.brand == "sandbox" and one.changelog
    assert client.bad_items == 0


async def test_unknown_vin_is_not_found_naming_the_vin(emulator) -> None:
    async with client_for(emulator) as client:
        with pytest.raises(NotFound) as err:
            await client.get_clearance("WBA00000000000000")
    assert err.value.status == 404 and err.value.vin == "WBA00000000000000"
    assert "WBA00000000000000" in str(err.value)


async def test_a_401_drops_the_token_and_repeats_the_call_once(emulator) -> None:
    control = Control(emulator)
    async with client_for(emulator) as client:
        await client.list_clearances()
        await control.faults(invalidate_tokens=True)
        assert await client.list_clearances()
    stats = await control.stats()
    assert stats["responses"]["401"] == 1
    assert stats["tokens_issued"] == 2


async def test_bulk_add_of_1000_vins_in_chunks_reports_progress(emulator) -> None:
    vins = new_vins(1000)
    seen: list[tuple[int, int]] = []
    async with client_for(emulator) as client:
        results = await client.add_clearances(
            [NewClearance(vin, "bmw", {"batch": "b1"}) for vin in vins],
            chunk=100,
            progress=lambda done, total: seen.append((done, total)),
        )
    assert [r.vin for r in results] == vins
    assert all(r.ok and r.status == "pending" for r in results)
    assert len(seen) == 10 and seen[-1] == (1000, 1000)
    assert all(emulator.state.clearances[v].tags == {"batch": "b1"} for v in vins)


async def test_injected_429_and_503_are_retried_and_nothing_is_applied_twice(emulator) -> None:
    control = Control(emulator)
    vins = new_vins(40, "WDD")
    async with client_for(emulator) as client:
        to_revoke = await approved_vins(client, 8)
        await control.faults(http_error_rate=0.5, statuses=[429, 503])
        results = await client.add_clearances(
            [NewClearance(v, "mercedes-benz") for v in vins], chunk=4
        )
        removed = await asyncio.gather(*(client.remove_clearance(v) for v in to_revoke))
        await control.faults()
    stats = await control.stats()
    assert all(r.ok for r in results)
    assert {r.status for r in removed} == {"revoking"}
    assert stats["responses"].get("429", 0) + stats["responses"].get("503", 0) > 10
    assert all(stats["applied"]["POST"][v] == 1 for v in vins)
    assert all(stats["applied"]["DELETE"][v] == 1 for v in to_revoke)


class LoseFirstDeleteAnswer(httpx.AsyncBaseTransport):
    """A real transport that lets the first DELETE reach the server, then loses its answer."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "DELETE" and not self.lost:
            self.lost += 1
            await response.aread()
            await response.aclose()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_delete_whose_answer_was_lost_is_read_back_not_sent_again(emulator) -> None:
    control = Control(emulator)
    transport = LoseFirstDeleteAnswer()
    async with (
        httpx.AsyncClient(transport=transport) as http,
        client_for(emulator, http=http) as client,
    ):
        (vin,) = await approved_vins(client, 1)
        result = await client.remove_clearance(vin)
    assert transport.lost == 1
    assert result.status == "revoking"
    assert (await control.stats())["applied"]["DELETE"][vin] == 1


async def test_a_failed_chunk_gives_error_results_and_the_others_still_go_in(emulator) -> None:
    control = Control(emulator)
    vins = new_vins(30, "VF3")
    async with client_for(emulator, retry=NO_RETRY) as client:
        await client.list_clearances()  # token first: the faults below hit every /v1 call
        await control.faults(http_error_rate=0.5, statuses=[503])
        results = await client.add_clearances([NewClearance(v, "peugeot") for v in vins], chunk=3)
        await control.faults()
    applied = (await control.stats())["applied"]["POST"]
    failed = [r for r in results if not r.ok]
    assert [r.vin for r in results] == vins
    assert failed and len(failed) < len(vins)
    assert all("Service unavailable" in (r.description or "") for r in failed)
    assert all(applied.get(r.vin, 0) == (1 if r.ok else 0) for r in results)


async def test_item_errors_come_back_per_item(emulator) -> None:
    async with client_for(emulator) as client:
        results = await client.add_clearances(
            [
                NewClearance(with_check_digit("WBA00000000000077"), "bmw"),
                NewClearance("WBA123", "bmw"),
                NewClearance(with_check_digit("WBA00000000000078"), "nobrand"),
            ]
        )
    assert [r.ok for r in results] == [True, False, False]
    assert "17 characters (vin should be 17 character(s))" in (results[1].description or "")
    assert "(The brand is invalid)" in (results[2].description or "")


async def test_refusals_carry_the_platform_detail_the_operator_words_explain(emulator) -> None:
    control = Control(emulator)
    async with client_for(emulator) as client:
        await control.force("2HM00000000000003", status="revoked")
        with pytest.raises(Conflict) as conflict:
            await client.remove_clearance("2HM00000000000003")
        await control.force("WBA00000000000099", status="pending", brand="bmw")
        with pytest.raises(Unprocessable) as refused:
            await client.remove_clearance("WBA00000000000099")
    assert conflict.value.detail == ALREADY_REMOVED
    assert explain_refusal(refused.value.detail) == explain_refusal(CANCEL_NOT_SUPPORTED)


async def test_vehicle_data_parses_every_property_including_arrays(emulator) -> None:
    async with client_for(emulator) as client:
        data = await client.vehicle_data("2HM00000000000001")
        eligibility = await client.eligibility("2HM00000000000001", "sandbox")
    locks = [p for p in data.points if p.key == "doors.locks"]
    assert data.vin == "2HM00000000000001" and data.request_id
    assert len(locks) >= 2 and all(isinstance(p.value, dict) for p in locks)
    odometer = next(p for p in data.points if p.key == "diagnostics.odometer")
    assert odometer.unit and isinstance(odometer.value, int | float) and odometer.timestamp
    assert eligibility.vin == "2HM00000000000001"


async def test_server_errors_give_up_after_the_policy_with_a_clear_message(emulator) -> None:
    control = Control(emulator)
    async with client_for(emulator, retry=replace(FAST_RETRY, attempts=3)) as client:
        await client.list_clearances()
        await control.faults(http_error_rate=1.0, statuses=[502])
        with pytest.raises(ServerError, match=r"Bad gateway.*HTTP 502"):
            await client.list_clearances()
    assert (await control.stats())["requests"]["GET /v1/fleets/vehicles"] == 4


async def test_verbose_log_never_shows_secret_or_token(emulator) -> None:
    stream = io.StringIO()
    handler = enable_verbose(stream)
    try:
        async with client_for(emulator) as client:
            await client.list_clearances()
            await Control(emulator).faults(invalidate_tokens=True)
            await client.list_clearances()
            token = await client.tokens.token()
            logging.getLogger("hm_tui.test").debug("careless: Authorization: Bearer %s", token)
    finally:
        logging.getLogger("hm_tui").removeHandler(handler)
    log = stream.getvalue()
    assert "GET http://127.0.0.1" in log and "-> 401" in log
    assert token not in log
    assert emulator.credentials["client_secret"] not in log
    assert "careless: Authorization: [redacted]" in log
