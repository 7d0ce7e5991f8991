"""Every documented answer of the operations hm-tui uses, given by the real emulator to the real
client: what the client does with it, in the operator's words (docs/platform-contract.md names
these tests in its table). Answers the emulator gives only on a real platform's bad day (a 401
in the OAuth shape, a 403, a whole-body 422) are scripted with POST /_emulator/faults."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from hm_tui.domain.vin import with_check_digit
from hm_tui.emulator.server import Emulator
from hm_tui.service.errors import (
    AuthError,
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
)
from hm_tui.service.models import NewClearance
from hm_tui.service.platform.client import RATE_LIMITED, PlatformClient
from hm_tui.service.platform.explain import (
    explain,
    explain_eligibility_failure,
    explain_removal_failure,
)
from hm_tui.service.platform.retry import RetryPolicy
from tests.service.platform_helpers import FAST_RETRY, Control, emulator_profile

BMW = with_check_digit("WBA00000000000901")
SANDBOX = "2HM00000000000009"


def client_for(emulator: Emulator, **kwargs: Any) -> PlatformClient:
    return PlatformClient(
        emulator_profile(emulator), retry=kwargs.pop("retry", FAST_RETRY), **kwargs
    )


async def script(emulator: Emulator, *answers: dict[str, Any]) -> None:
    await Control(emulator).faults(answers=list(answers))


def errors_body(title: str, detail: str, source: str | None = None) -> dict[str, Any]:
    error = {"title": title, "detail": detail} | ({"source": source} if source else {})
    return {"errors": [error]}


# -- POST /v1/fleets/vehicles -----------------------------------------------------------------
async def test_add_item_errors_are_explained_per_vin(emulator: Emulator) -> None:
    async with client_for(emulator) as client:
        results = await client.add_clearances(
            [
                NewClearance(BMW, "bmw"),
                NewClearance("WBA123", "bmw"),
                NewClearance(with_check_digit("WBA00000000000902"), "trabant"),
            ]
        )
    assert [r.status for r in results] == ["pending", "error", "error"]
    assert results[1].description == (
        "VIN refused: a VIN has exactly 17 characters (vin should be 17 character(s))"
    )
    assert results[2].description is not None
    assert results[2].description.startswith("brand refused: not one of the platform's brand")
    assert results[2].description.endswith("(The brand is invalid)")


async def test_add_refused_whole_with_422_is_explained_for_every_item(
    emulator: Emulator,
) -> None:
    body = errors_body("Invalid input", "vehicles must be a list", "vehicles")
    await script(
        emulator, {"method": "POST", "path": "/v1/fleets/vehicles", "status": 422, "body": body}
    )
    async with client_for(emulator) as client:
        results = await client.add_clearances(
            [NewClearance(BMW, "bmw"), NewClearance(SANDBOX, "sandbox")]
        )
    assert all(r.status == "error" for r in results)
    for result in results:
        assert result.description == (
            "not added: the platform refused the whole request as invalid input (Invalid "
            "input: vehicles must be a list (HTTP 422)); nothing in it was added. hm-tui sent "
            "something the platform does not take: please report it"
        )
    assert BMW not in emulator.state.clearances  # and it was not retried into existence


# -- 401 in either shape ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        errors_body("Not authorized", "Invalid token", "Authorization"),
        {"error": "invalid_token", "error_description": "the access token expired"},
    ],
    ids=["errors-shape", "oauth-shape"],
)
async def test_a_401_in_either_shape_gets_a_fresh_token_and_the_call_again(
    emulator: Emulator, body: dict[str, Any]
) -> None:
    async with client_for(emulator) as client:
        await client.list_clearances({"vin": {"operator": "eq", "value": SANDBOX}})
        issued = client.tokens.renewals
        await script(
            emulator, {"method": "GET", "path": "/v1/fleets/vehicles", "status": 401, "body": body}
        )
        listed = await client.list_clearances()
        assert listed and client.tokens.renewals == issued + 1


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (errors_body("Not authorized", "Invalid token", "Authorization"), "Invalid token"),
        ({"error": "invalid_token", "error_description": "token revoked"}, "token revoked"),
    ],
    ids=["errors-shape", "oauth-shape"],
)
async def test_a_401_that_persists_is_explained(
    emulator: Emulator, body: dict[str, Any], said: str
) -> None:
    answer = {"method": "GET", "path": "/v1/fleets/vehicles", "status": 401, "body": body}
    await script(emulator, answer | {"times": 10})
    async with client_for(emulator) as client:
        with pytest.raises(AuthError) as err:
            await client.list_clearances()
    words = explain(err.value)
    assert words.startswith("the platform refused this app's access token even after a fresh")
    assert said in words and "(HTTP 401)" in words


# -- GET /v1/fleets/vehicles/{vin} ------------------------------------------------------------
async def test_a_429_with_retry_after_on_get_one_is_waited_out(emulator: Emulator) -> None:
    await script(
        emulator,
        {
            "method": "GET",
            "path": f"/v1/fleets/vehicles/{SANDBOX[:-1]}*",
            "status": 429,
            "headers": {"Retry-After": "1"},
            "body": errors_body("Too many requests", "retry after 1s"),
        },
    )
    waits: list[tuple[str, float]] = []
    async with client_for(emulator, retry=RetryPolicy(attempts=3, base=0.01, cap=0.01)) as client:
        client.on_wait = lambda why, seconds: waits.append((why, seconds))
        started = time.monotonic()
        found = await client.get_clearance("2HM00000000000001")
        waited = time.monotonic() - started
    assert found.vin == "2HM00000000000001"
    assert waits == [(RATE_LIMITED, 1.0)] and waited >= 0.9


async def test_an_unknown_vin_on_get_one_is_not_found(emulator: Emulator) -> None:
    async with client_for(emulator) as client:
        with pytest.raises(NotFound) as err:
            await client.get_clearance(BMW)
    assert err.value.status == 404 and err.value.vin == BMW


# -- DELETE /v1/fleets/vehicles/{vin} ---------------------------------------------------------
async def test_delete_refusals_in_the_operators_words(emulator: Emulator) -> None:
    control = Control(emulator)
    await control.force(BMW, brand="bmw", status="pending")  # bmw cannot cancel: 422
    rejected = with_check_digit("WBA00000000000903")
    await control.force(rejected, brand="bmw", status="rejected")  # already removed: 409
    async with client_for(emulator) as client:
        with pytest.raises(Unprocessable) as cannot:
            await client.remove_clearance(BMW)
        with pytest.raises(Conflict) as removed:
            await client.remove_clearance(rejected)
        with pytest.raises(NotFound) as unknown:
            await client.remove_clearance(with_check_digit("WBA00000000000904"))
    assert explain_removal_failure(cannot.value) == (
        "this brand does not support canceling a pending clearance "
        "(cancellation is not supported for this vin)"
    )
    assert explain_removal_failure(removed.value).startswith(
        "already removed (rejected, revoked or canceled): nothing to do"
    )
    assert explain_removal_failure(unknown.value).startswith(
        "not in this fleet: the platform holds no clearance for this VIN"
    )


async def test_delete_too_early_to_cancel_in_the_operators_words(emulator: Emulator) -> None:
    vw = "WVWZZZ1KZAW000911"
    await Control(emulator).force(vw, brand="volkswagen", status="pending")
    async with client_for(emulator) as client:
        with pytest.raises(Unprocessable) as early:
            await client.remove_clearance(vw)
    assert explain_removal_failure(early.value).startswith(
        "too early: a pending clearance can be canceled 24 h after it was added"
    )


async def test_delete_403_no_fleet_access_in_the_operators_words(emulator: Emulator) -> None:
    body = errors_body("Forbidden", "This app has no fleet", "Authorization")
    await script(
        emulator,
        {"method": "DELETE", "path": "/v1/fleets/vehicles/*", "status": 403, "body": body},
    )
    async with client_for(emulator) as client:
        with pytest.raises(Forbidden) as err:
            await client.remove_clearance(SANDBOX)
    assert explain_removal_failure(err.value) == (
        "this app has no access to the fleet (Forbidden: This app has no fleet (HTTP 403)); "
        "ask your High Mobility contact to enable fleet clearance for it"
    )


# -- POST /v1/eligibility ---------------------------------------------------------------------
async def test_eligibility_answers_and_refusals(emulator: Emulator) -> None:
    async with client_for(emulator) as client:
        answer = await client.eligibility(SANDBOX, "sandbox")
        with pytest.raises(Unprocessable) as uncovered:
            await client.eligibility(with_check_digit("KNA00000000000905"), "kia")
        with pytest.raises(Unprocessable) as short:
            await client.eligibility("WBA123", "bmw")
    assert answer.eligible and answer.vin == SANDBOX and "pull" in answer.data_delivery
    assert "some brands are not covered" in explain_eligibility_failure(uncovered.value)
    assert "vin should be 17 character(s)" in explain_eligibility_failure(short.value)


# -- the token dies with the session ----------------------------------------------------------
async def test_closing_revokes_the_token_so_a_copy_is_refused(emulator: Emulator) -> None:
    async with client_for(emulator, revoke_on_close=True) as client:
        await client.list_clearances()
        copied = await client.tokens.token()
    async with httpx.AsyncClient() as http:
        r = await http.get(
            emulator.base_url + "/fleets/vehicles", headers={"Authorization": f"Bearer {copied}"}
        )
    assert r.status_code == 401 and "revoked" in r.json()["errors"][0]["detail"]


async def test_revocation_never_holds_up_an_exit(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(emulator, revoke_on_close=True)
    await client.list_clearances()
    await Control(emulator).faults(latency_ms=5000)  # the platform hangs
    started = time.monotonic()
    await client.aclose()
    assert time.monotonic() - started < 1.5
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


# -- more documented answers: 403 and 429 on the list, 403 on add, gateway errors on data -----
async def test_list_403_no_fleet_access_is_explained(emulator: Emulator) -> None:
    body = errors_body("Forbidden", "This service account is not associated with a fleet")
    await script(
        emulator, {"method": "GET", "path": "/v1/fleets/vehicles", "status": 403, "body": body}
    )
    async with client_for(emulator) as client:
        with pytest.raises(Forbidden) as err:
            await client.list_clearances()
    assert explain(err.value).startswith("this app has no access to the fleet (Forbidden: ")


async def test_list_429_without_retry_after_waits_as_its_detail_says(emulator: Emulator) -> None:
    body = errors_body("Too many requests", "retry after 1s")  # no header: as documented
    await script(
        emulator, {"method": "GET", "path": "/v1/fleets/vehicles", "status": 429, "body": body}
    )
    waits: list[tuple[str, float]] = []
    async with client_for(emulator, retry=RetryPolicy(attempts=3, base=0.01, cap=0.01)) as client:
        client.on_wait = lambda why, seconds: waits.append((why, seconds))
        assert await client.list_clearances()
    assert waits == [(RATE_LIMITED, 1.0)]


async def test_add_403_is_explained_for_every_item(emulator: Emulator) -> None:
    body = errors_body("Forbidden", "This app has no fleet", "Authorization")
    await script(
        emulator, {"method": "POST", "path": "/v1/fleets/vehicles", "status": 403, "body": body}
    )
    async with client_for(emulator) as client:
        (result,) = await client.add_clearances([NewClearance(BMW, "bmw")])
    assert result.status == "error"
    assert result.description == (
        "not added: this app has no access to the fleet (Forbidden: This app has no fleet "
        "(HTTP 403)); ask your High Mobility contact to enable fleet clearance for it"
    )


@pytest.mark.parametrize("status", [429, 500, 503, 504])
async def test_vehicle_data_busy_or_failing_is_retried(emulator: Emulator, status: int) -> None:
    vin = "2HM00000000000001"
    await Control(emulator).force(vin, status="approved", data_error="ok")
    body = errors_body("Service unavailable", "Failure when fetching data from the car maker")
    await script(
        emulator,
        {
            "method": "GET",
            "path": f"/v1/vehicle-data/autoapi-13/{vin}",
            "status": status,
            "body": body | {"request_id": "abc"},
        },
    )
    async with client_for(emulator) as client:
        data = await client.vehicle_data(vin)
    assert data.vin == vin and data.points
