"""Vehicle Data API (docs/platform.md#vehicle-data-pull), eligibility (docs/platform.md#calls)."""

from __future__ import annotations

import pytest

from hm_tui.emulator.vehicle_data import data_error_of

from .conftest import Api

SANDBOX = "2HM12345678901234"
PATH = "/vehicle-data/autoapi-13/"


async def approved(api: Api, vin: str = SANDBOX) -> None:
    await api.add({"vin": vin, "brand": "sandbox"})
    await api.advance(60)


async def test_approved_car_returns_auto_api_data(empty_api: Api) -> None:
    await approved(empty_api)
    r = await empty_api.call("GET", PATH + SANDBOX)
    assert r.status_code == 200
    body = r.json()
    assert body["vin"] == SANDBOX and body["brand"] == "sandbox" and body["request_id"]
    odometer = body["diagnostics"]["odometer"]
    assert set(odometer) >= {"data", "timestamp"}
    assert odometer["data"]["unit"] == "kilometers"
    coordinates = body["vehicle_location"]["coordinates"]["data"]
    assert set(coordinates) == {"latitude", "longitude"}


async def test_multiple_properties_are_arrays(empty_api: Api) -> None:
    await approved(empty_api)
    body = (await empty_api.call("GET", PATH + SANDBOX)).json()
    locks = body.get("doors", {}).get("locks")
    if locks is not None:  # present with EMU-MQTT's telemetry
        assert isinstance(locks, list) and all("data" in item for item in locks)


async def test_not_approved_or_unknown_car_is_403_without_consent(empty_api: Api) -> None:
    await empty_api.add({"vin": "2HM00000000000002", "brand": "sandbox"})
    for vin in ("2HM00000000000002", "WBA3A5C50CF256651"):
        r = await empty_api.call("GET", PATH + vin)
        assert r.status_code == 403
        assert r.json()["errors"][0]["detail"] == "No active consent for this vehicle"
        assert r.json()["request_id"]


@pytest.mark.parametrize(
    ("data_error", "status", "detail"),
    [
        ("privacy", 403, "Privacy mode is active"),
        ("offline", 408, "Vehicle is offline or asleep"),
        ("unavailable", 422, "Vehicle data is not available yet"),
    ],
)
async def test_documented_data_errors(
    empty_api: Api, data_error: str, status: int, detail: str
) -> None:
    await approved(empty_api)
    await empty_api.control(f"vehicles/{SANDBOX}", {"data_error": data_error})
    r = await empty_api.call("GET", PATH + SANDBOX)
    assert r.status_code == status
    assert r.json()["errors"][0]["detail"] == detail and r.json()["request_id"]


def test_some_cars_answer_with_data_errors_deterministically() -> None:
    vins = [f"WBA{i:014d}" for i in range(2000)]
    errors = [data_error_of(vin, None) for vin in vins]
    assert {"privacy", "offline", "unavailable"} <= set(errors)
    assert errors.count(None) > 0.9 * len(vins)
    assert errors == [data_error_of(vin, None) for vin in vins]
    assert data_error_of("2HM00000000000001", None) is None


async def test_eligibility(empty_api: Api) -> None:
    r = await empty_api.call("POST", "/eligibility", json={"vin": SANDBOX, "brand": "sandbox"})
    assert r.status_code == 200
    assert r.json() == {
        "vin": SANDBOX,
        "eligible": True,
        "data_delivery": ["pull", "push"],
        "connectivity_status": "activated",
    }
    r = await empty_api.call(
        "POST", "/eligibility", json={"vin": "WVWZZZ1KZAW000001", "brand": "volkswagen"}
    )
    assert "primary_user_assigned" in r.json()


async def test_eligibility_errors(empty_api: Api) -> None:
    r = await empty_api.call("POST", "/eligibility", json={"vin": "SHORT", "brand": "bmw"})
    assert r.status_code == 422 and r.json()["errors"][0]["source"] == "vin"
    r = await empty_api.call("POST", "/eligibility", json={"vin": SANDBOX, "brand": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["detail"] == "The brand is invalid"


def test_pulled_data_is_as_old_as_the_cars_last_report_fixed_per_vin() -> None:
    from hm_tui.emulator.vehicle_data import last_report_age

    ages = {vin: last_report_age(vin) for vin in (f"WBA3A5C5{n:09d}" for n in range(200))}
    assert all(5 <= age < 3605 for age in ages.values())
    assert min(ages.values()) < 60 and max(ages.values()) > 15 * 60  # fresh and old side by side
    assert last_report_age("2HM00000000000001") < 65  # it pushes every minute
    assert last_report_age("WBA3A5C5000000007") == ages["WBA3A5C5000000007"]
