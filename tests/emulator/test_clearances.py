"""The Fleet Clearance API: POST per item, list with filter, get one, DELETE."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hm_tui.domain.removal import (
    ALREADY_REMOVED,
    CANCEL_NOT_SUPPORTED,
    CANCEL_TOO_EARLY,
    IN_TRANSITION,
)
from hm_tui.emulator.fates import DAY, HOUR

from .conftest import Api

BMW = "WBA3A5C50CF256651"
VW = "WVWZZZ1KZAW000001"
MERCEDES = "W1K2050041F000001"
SANDBOX = "2HM12345678901234"
TAGS = {"vw-group-customer-name": "Acme"}


async def test_post_answers_per_item_with_the_documented_errors(empty_api: Api) -> None:
    items = await empty_api.add(
        {"vin": BMW, "brand": "bmw", "tags": {"fleet": "north"}},
        {"vin": "WBA123", "brand": "bmw"},
        {"vin": "WBA3A5C50CF256652", "brand": "trabant"},
    )
    assert items[0] == {"vin": BMW, "status": "pending", "tags": {"fleet": "north"}}
    assert items[1] == {
        "vin": "WBA123",
        "status": "error",
        "description": "vin should be 17 character(s)",
    }
    assert items[2]["status"] == "error" and items[2]["description"] == "The brand is invalid"
    assert list(empty_api.emulator.state.clearances) == [BMW]


async def test_post_without_vehicles_list_is_a_422(empty_api: Api) -> None:
    r = await empty_api.call("POST", "/fleets/vehicles", json={"cars": []})
    assert r.status_code == 422 and r.json()["errors"][0]["source"] == "vehicles"
    r = await empty_api.call("POST", "/fleets/vehicles", content=b"[")
    assert r.status_code == 422 and "errors" in r.json()


async def test_repost_of_an_active_clearance_returns_it_unchanged(empty_api: Api) -> None:
    await empty_api.add({"vin": SANDBOX, "brand": "sandbox"})
    await empty_api.advance(60)
    again = await empty_api.add({"vin": SANDBOX, "brand": "sandbox", "tags": {"new": "tag"}})
    assert again[0]["status"] == "approved" and again[0]["tags"] == {}
    assert len((await empty_api.get(SANDBOX))["changelog"]) == 2


async def test_repost_after_rejection_starts_a_new_pending_and_keeps_the_changelog(
    empty_api: Api,
) -> None:
    await empty_api.add({"vin": VW, "brand": "volkswagen"})  # no customer tag: rejected
    await empty_api.advance(HOUR)
    assert (await empty_api.get(VW))["status"] == "rejected"
    again = await empty_api.add({"vin": VW, "brand": "volkswagen", "tags": TAGS})
    assert again[0]["status"] == "pending"
    changelog = (await empty_api.get(VW))["changelog"]
    assert [e["status"] for e in changelog] == ["pending", "rejected", "pending"]


async def test_vin_twice_in_one_post_is_a_repost(empty_api: Api) -> None:
    items = await empty_api.add({"vin": BMW, "brand": "bmw"}, {"vin": BMW, "brand": "bmw"})
    assert [i["status"] for i in items] == ["pending", "pending"]
    assert len((await empty_api.get(BMW))["changelog"]) == 1


async def test_list_is_a_bare_array_of_clearances(api: Api) -> None:
    r = await api.call("GET", "/fleets/vehicles")
    assert r.status_code == 200
    listed = r.json()
    assert isinstance(listed, list) and len(listed) == 33
    assert set(listed[0]) == {"vin", "status", "brand", "tags", "changelog"}


async def _listed(api: Api, spec: dict) -> list[str]:
    r = await api.call("GET", "/fleets/vehicles", params={"filter": json.dumps(spec)})
    assert r.status_code == 200, r.text
    return sorted(c["vin"] for c in r.json())


async def test_filter_on_vin_status_and_brand(empty_api: Api) -> None:
    await empty_api.add(
        {"vin": BMW, "brand": "bmw"},
        {"vin": MERCEDES, "brand": "mercedes-benz"},
        {"vin": SANDBOX, "brand": "sandbox"},
    )
    await empty_api.advance(30)
    assert await _listed(empty_api, {"vin": {"operator": "eq", "value": BMW}}) == [BMW]
    assert await _listed(empty_api, {"vin": {"operator": "in", "value": [BMW, SANDBOX]}}) == sorted(
        [BMW, SANDBOX]
    )
    approved = {"status": {"operator": "eq", "value": "approved"}}
    assert await _listed(empty_api, approved) == [SANDBOX]
    assert await _listed(
        empty_api,
        {
            "status": {"operator": "in", "value": ["pending"]},
            "brand": {"operator": "eq", "value": "bmw"},
        },
    ) == [BMW]


async def test_filter_on_tags(empty_api: Api) -> None:
    await empty_api.add(
        {"vin": BMW, "brand": "bmw", "tags": {"fleet": "north", "cc": "7"}},
        {"vin": MERCEDES, "brand": "mercedes-benz", "tags": {"fleet": "south"}},
    )
    contains = {"tags": {"operator": "contains", "value": {"fleet": "north"}}}
    assert await _listed(empty_api, contains) == [BMW]
    exact = {"tags": {"operator": "eq", "value": {"fleet": "north"}}}
    assert await _listed(empty_api, exact) == []
    exact["tags"]["value"] = {"fleet": "south"}
    assert await _listed(empty_api, exact) == [MERCEDES]


async def test_filter_on_times(empty_api: Api) -> None:
    await empty_api.add({"vin": BMW, "brand": "bmw"})
    middle = empty_api.emulator.clock.now_datetime()
    await empty_api.advance(60)
    await empty_api.add({"vin": SANDBOX, "brand": "sandbox"})
    await empty_api.advance(60)
    stamp = middle.isoformat().replace("+00:00", "Z")
    assert await _listed(empty_api, {"inserted_at": {"operator": "lte", "value": stamp}}) == [BMW]
    assert await _listed(empty_api, {"inserted_at": {"operator": "gt", "value": stamp}}) == [
        SANDBOX
    ]
    assert await _listed(empty_api, {"approved_at": {"operator": "gte", "value": stamp}}) == [
        SANDBOX
    ]
    later = (middle + timedelta(days=1)).isoformat()
    assert await _listed(empty_api, {"approved_at": {"operator": "lt", "value": later}}) == [
        SANDBOX
    ]


async def test_bad_filters_are_400_with_source_filter(empty_api: Api) -> None:
    for raw in (
        "{",
        "[]",
        json.dumps({"colour": {"operator": "eq", "value": "red"}}),
        json.dumps({"vin": {"operator": "gt", "value": "x"}}),
        json.dumps({"inserted_at": {"operator": "lt", "value": "yesterday"}}),
    ):
        r = await empty_api.call("GET", "/fleets/vehicles", params={"filter": raw})
        assert r.status_code == 400, raw
        assert r.json()["errors"][0]["source"] == "filter"


async def test_get_one_and_404(empty_api: Api) -> None:
    await empty_api.add({"vin": BMW, "brand": "bmw"})
    r = await empty_api.call("GET", f"/fleets/vehicles/{BMW}")
    assert r.status_code == 200 and r.json()["vin"] == BMW and r.json()["brand"] == "bmw"
    r = await empty_api.call("GET", "/fleets/vehicles/WBA00000000000000")
    assert r.status_code == 404 and r.json()["errors"][0]["title"] == "Not found"


async def test_get_one_is_rate_limited_to_60_per_minute(empty_api: Api) -> None:
    await empty_api.add({"vin": BMW, "brand": "bmw"})
    statuses = [
        (await empty_api.call("GET", f"/fleets/vehicles/{BMW}")).status_code for _ in range(60)
    ]
    assert statuses == [200] * 60
    r = await empty_api.call("GET", f"/fleets/vehicles/{BMW}")
    assert r.status_code == 429
    assert r.json()["errors"][0]["title"] == "Too many requests"
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert r.json()["errors"][0]["detail"] == f"retry after {wait}s"


async def test_delete_approved_revokes_then_revoked_within_minutes(empty_api: Api) -> None:
    await empty_api.add({"vin": SANDBOX, "brand": "sandbox", "tags": {"a": "b"}})
    await empty_api.advance(30)
    r = await empty_api.call("DELETE", f"/fleets/vehicles/{SANDBOX}")
    assert r.status_code == 200
    assert r.json() == {"vin": SANDBOX, "status": "revoking", "tags": {"a": "b"}}
    r = await empty_api.call("DELETE", f"/fleets/vehicles/{SANDBOX}")
    assert r.status_code == 409 and r.json()["errors"][0]["detail"] == IN_TRANSITION
    await empty_api.advance(10 * 60)
    assert (await empty_api.get(SANDBOX))["status"] == "revoked"
    r = await empty_api.call("DELETE", f"/fleets/vehicles/{SANDBOX}")
    assert r.status_code == 409 and r.json()["errors"][0]["detail"] == ALREADY_REMOVED


async def test_cancel_of_pending_needs_24_hours(empty_api: Api) -> None:
    await empty_api.add({"vin": "2HM00000000000002", "brand": "sandbox"})  # sandbox can't cancel
    vin = "VF3AAAAAAAA000001"
    await empty_api.add({"vin": vin, "brand": "peugeot"})
    await empty_api.control(f"vehicles/{vin}", {"status": "pending"})  # forced: stays pending
    r = await empty_api.call("DELETE", f"/fleets/vehicles/{vin}")
    assert r.status_code == 422 and r.json()["errors"][0]["detail"] == CANCEL_TOO_EARLY
    await empty_api.advance(DAY)
    r = await empty_api.call("DELETE", f"/fleets/vehicles/{vin}")
    assert r.status_code == 200 and r.json()["status"] == "canceling"
    await empty_api.advance(10 * 60)
    assert (await empty_api.get(vin))["status"] == "canceled"


async def test_pending_of_a_brand_that_cannot_cancel_is_422(empty_api: Api) -> None:
    await empty_api.add({"vin": "2HM00000000000002", "brand": "sandbox"})
    await empty_api.advance(2 * DAY)
    r = await empty_api.call("DELETE", "/fleets/vehicles/2HM00000000000002")
    assert r.status_code == 422 and r.json()["errors"][0]["detail"] == CANCEL_NOT_SUPPORTED


async def test_delete_unknown_vin_is_404(empty_api: Api) -> None:
    r = await empty_api.call("DELETE", f"/fleets/vehicles/{BMW}")
    assert r.status_code == 404


async def test_applied_counts_every_accepted_post_item_and_delete(empty_api: Api) -> None:
    await empty_api.add({"vin": SANDBOX, "brand": "sandbox"}, {"vin": "SHORT", "brand": "bmw"})
    await empty_api.advance(30)
    await empty_api.call("DELETE", f"/fleets/vehicles/{SANDBOX}")
    await empty_api.call("DELETE", f"/fleets/vehicles/{SANDBOX}")  # 409: not applied
    applied = (await empty_api.control("stats")).json()["applied"]
    assert applied == {"POST": {SANDBOX: 1}, "DELETE": {SANDBOX: 1}}


def test_changelog_timestamps_are_iso_utc() -> None:
    from hm_tui.emulator.clock import iso

    stamp = iso(datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp())
    assert stamp == "2024-05-01T12:00:00.000Z"
