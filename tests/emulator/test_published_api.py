"""The emulator answers as the platform's published API says: 422 for invalid input, never a 5xx
or a body that is not JSON, the errors shape, token revocation, 405 with `Allow`, every filter."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Api

BMW = "WBA3A5C50CF256651"
SANDBOX = "2HM12345678901234"
DEEP = "[" * 1300 + "]" * 1300  # a few KB, deeper than any decoder's recursion limit
DEEP_OBJECT = '{"a":' * 1300 + "1" + "}" * 1300


def _is_error(r: Any, status: int, source: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["errors"][0]
    assert error["title"] and error["detail"]
    if source is not None:
        assert error["source"] == source
    return error


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"{}", b'{"vehicles": 3}', b'{"vehicles": {"vin": "x"}}', b"[]", b"null"],
)
async def test_post_vehicles_with_a_malformed_body_is_a_422(empty_api: Api, body: bytes) -> None:
    r = await empty_api.call(
        "POST", "/fleets/vehicles", content=body, headers={"Content-Type": "application/json"}
    )
    _is_error(r, 422)
    assert empty_api.emulator.state.clearances == {}


async def test_post_vehicles_bad_items_are_item_errors_beside_good_ones(empty_api: Api) -> None:
    items = await empty_api.add(
        "not an object",  # type: ignore[arg-type]
        {"vin": SANDBOX, "brand": "sandbox", "tags": {"n": 1}},
        {"vin": SANDBOX, "brand": "sandbox", "control_measures": {"odometer": {"value": "x"}}},
        {"vin": SANDBOX, "brand": "sandbox", "control_measures": {"odometer": {"value": 5}}},
        {"vin": BMW, "brand": "nissan"},
    )
    assert [i["status"] for i in items] == ["error", "error", "error", "error", "pending"]
    assert "object" in items[0]["description"] and "tags" in items[1]["description"]
    assert "control_measures" in items[2]["description"] == items[3]["description"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"{}",
        b"[]",
        json.dumps({"vin": SANDBOX}).encode(),
        json.dumps({"brand": "bmw"}).encode(),
        json.dumps({"vin": "SHORT", "brand": "bmw"}).encode(),
        json.dumps({"vin": 17, "brand": "bmw"}).encode(),
        json.dumps({"vin": SANDBOX, "brand": "trabant"}).encode(),
        json.dumps({"vin": BMW, "brand": "kia"}).encode(),  # not on the eligibility list
    ],
)
async def test_eligibility_with_invalid_input_is_a_422(empty_api: Api, body: bytes) -> None:
    r = await empty_api.call(
        "POST", "/eligibility", content=body, headers={"Content-Type": "application/json"}
    )
    _is_error(r, 422)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/fleets/vehicles"),
        ("POST", "/eligibility"),
        ("POST", "/access_tokens"),
        ("DELETE", "/access_tokens"),
        ("GET", "/fleets/vehicles?filter="),
    ],
)
async def test_deep_json_is_refused_plainly_never_a_500(
    empty_api: Api, method: str, path: str
) -> None:
    for deep in (DEEP, DEEP_OBJECT):
        if path.endswith("filter="):
            r = await empty_api.call(method, "/fleets/vehicles", params={"filter": deep})
        else:
            r = await empty_api.call(
                method, path, content=deep, headers={"Content-Type": "application/json"}
            )
        assert 400 <= r.status_code < 500, r.text
        assert "nested too deeply" in r.text
    health = await empty_api.call("GET", "/fleets/vehicles")
    assert health.status_code == 200


@pytest.mark.parametrize(
    "condition",
    [
        {"operator": ["eq"], "value": BMW},
        {"operator": {"eq": 1}, "value": BMW},
        {"operator": None, "value": BMW},
        {"operator": "in", "value": [["nested"]]},
        {"operator": "eq", "value": {"a": 1}},
        {"operator": "eq"},
        "eq",
    ],
)
async def test_a_malformed_filter_is_a_400_naming_the_filter(
    empty_api: Api, condition: Any
) -> None:
    raw = json.dumps({"vin": condition})
    r = await empty_api.call("GET", "/fleets/vehicles", params={"filter": raw})
    _is_error(r, 400, "filter")


@pytest.mark.parametrize("operator", ["eq", "contains"])
@pytest.mark.parametrize("value", ["north", ["fleet"], 7, None, {"fleet": 7}])
async def test_a_tags_filter_takes_only_an_object_of_tags(
    empty_api: Api, operator: str, value: Any
) -> None:
    # the documents give an object of tags for both operators: anything else is refused as a
    # malformed filter, not answered with a guess at what a string might mean
    await empty_api.add({"vin": BMW, "brand": "bmw", "tags": {"fleet": "north"}})
    raw = json.dumps({"tags": {"operator": operator, "value": value}})
    r = await empty_api.call("GET", "/fleets/vehicles", params={"filter": raw})
    assert "filter.tags" in _is_error(r, 400, "filter")["detail"]


async def _listed(api: Api, spec: dict[str, Any]) -> list[str]:
    r = await api.call("GET", "/fleets/vehicles", params={"filter": json.dumps(spec)})
    assert r.status_code == 200, r.text
    return sorted(item["vin"] for item in r.json())


async def test_every_documented_filter_field_and_operator(empty_api: Api) -> None:
    await empty_api.add(
        {"vin": BMW, "brand": "bmw", "tags": {"fleet": "north", "cost": "a1"}},
        {"vin": SANDBOX, "brand": "sandbox", "tags": {"fleet": "south"}},
    )
    await empty_api.advance(600)  # the sandbox car is approved, the BMW still pending
    assert await _listed(empty_api, {"vin": {"operator": "eq", "value": BMW}}) == [BMW]
    both = {"operator": "in", "value": [BMW, SANDBOX]}
    assert await _listed(empty_api, {"vin": both}) == [SANDBOX, BMW]
    assert await _listed(empty_api, {"status": {"operator": "eq", "value": "approved"}}) == [
        SANDBOX
    ]
    states = {"operator": "in", "value": ["pending", "rejected"]}
    assert await _listed(empty_api, {"status": states}) == [BMW]
    assert await _listed(empty_api, {"brand": {"operator": "eq", "value": "bmw"}}) == [BMW]
    brands = {"operator": "in", "value": ["bmw", "sandbox"]}
    assert await _listed(empty_api, {"brand": brands}) == [SANDBOX, BMW]
    exact = {"operator": "eq", "value": {"fleet": "south"}}
    assert await _listed(empty_api, {"tags": exact}) == [SANDBOX]
    subset = {"operator": "contains", "value": {"fleet": "north"}}
    assert await _listed(empty_api, {"tags": subset}) == [BMW]
    for field in ("approved_at", "inserted_at"):
        for op, expected in (("lt", 0), ("lte", 0), ("gt", 1), ("gte", 1), ("eq", 0)):
            spec = {field: {"operator": op, "value": "2000-01-01T00:00:00Z"}}
            listed = await _listed(empty_api, spec)
            assert len(listed) == (expected if field == "approved_at" else 2 * expected), spec


async def test_revoked_token_is_refused_afterwards(empty_api: Api) -> None:
    token = await empty_api.token()
    creds = empty_api.creds
    assert (await empty_api.call("GET", "/fleets/vehicles")).status_code == 200
    r = await empty_api.http.request(
        "DELETE",
        creds["base_url"] + "/access_tokens",
        json={"token": token, "client_id": creds["client_id"], "client_secret": "wrong"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = await empty_api.http.request(
        "DELETE",
        creds["base_url"] + "/access_tokens",
        data={
            "token": token,
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert r.status_code == 200 and r.json() == {}
    refused = await empty_api.call("GET", "/fleets/vehicles")
    error = _is_error(refused, 401, "Authorization")
    assert "revoked" in error["detail"]
    again = await empty_api.http.request(
        "DELETE",
        creds["base_url"] + "/access_tokens",
        json={"token": "garbage", "client_id": creds["client_id"], "client_secret": ""},
    )
    assert again.status_code == 400  # an empty secret proves nothing


async def test_unknown_tokens_revoke_quietly(empty_api: Api) -> None:
    creds = empty_api.creds
    r = await empty_api.http.request(
        "DELETE",
        creds["base_url"] + "/access_tokens",
        json={
            "token": "not-a-token",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert r.status_code == 200


async def test_login_accepts_form_encoding(empty_api: Api) -> None:
    creds = empty_api.creds
    r = await empty_api.http.post(
        creds["base_url"] + "/access_tokens",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    r = await empty_api.http.post(creds["base_url"] + "/access_tokens", data={})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_an_unserved_method_is_a_405_with_allow(empty_api: Api) -> None:
    for method, path, allowed in (
        ("TRACE", "/fleets/vehicles", {"GET", "POST"}),
        ("PUT", f"/fleets/vehicles/{BMW}", {"GET", "DELETE"}),
        ("PATCH", "/eligibility", {"POST"}),
        ("PUT", "/access_tokens", {"POST", "DELETE"}),
    ):
        r = await empty_api.call(method, path)
        _is_error(r, 405)
        assert allowed <= {m.strip() for m in r.headers["Allow"].split(",")}, r.headers


async def test_outside_v1_errors_are_json_too(empty_api: Api) -> None:
    root = empty_api.emulator.url
    r = await empty_api.http.post(root + "/_emulator/openapi.json")
    _is_error(r, 405)
    assert "GET" in r.headers["Allow"]
    _is_error(await empty_api.http.get(root + "/nowhere"), 404)


async def test_401_names_the_header_and_vehicle_data_errors_carry_a_request_id(
    empty_api: Api,
) -> None:
    base = empty_api.creds["base_url"]
    r = await empty_api.http.get(base + "/fleets/vehicles")
    _is_error(r, 401, "Authorization")
    r = await empty_api.http.get(base + f"/vehicle-data/autoapi-13/{BMW}")
    _is_error(r, 401, "Authorization")
    assert r.json()["request_id"]


async def test_vehicle_data_brand_is_spelled_from_the_data_apis_list(empty_api: Api) -> None:
    from hm_tui.emulator.vehicle_data import data_brand_of

    assert data_brand_of("mercedes-benz") == "mercedes_benz"
    assert data_brand_of("volvo-cars") == "volvo_cars"
    assert data_brand_of("tesla") == "unknown"  # not on the data API's list


async def test_scripted_answers_answer_once_then_the_api_again(empty_api: Api) -> None:
    oauth = {"error": "invalid_token", "error_description": "token expired"}
    r = await empty_api.control(
        "faults",
        {
            "answers": [
                {"method": "GET", "path": "/v1/fleets/vehicles", "status": 401, "body": oauth},
                {
                    "method": "GET",
                    "path": "/v1/fleets/vehicles/*",
                    "status": 429,
                    "headers": {"Retry-After": "7"},
                    "times": 2,
                },
            ]
        },
    )
    assert r.status_code == 200 and r.json()["faults"]["answers"] == 2
    first = await empty_api.call("GET", "/fleets/vehicles")
    assert first.status_code == 401 and first.json() == oauth
    assert (await empty_api.call("GET", "/fleets/vehicles")).status_code == 200
    for _ in range(2):
        limited = await empty_api.call("GET", f"/fleets/vehicles/{BMW}")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert (await empty_api.call("GET", f"/fleets/vehicles/{BMW}")).status_code == 404
    bad = await empty_api.control("faults", {"answers": [{"method": "GET", "path": "/x"}]})
    assert bad.status_code == 400
