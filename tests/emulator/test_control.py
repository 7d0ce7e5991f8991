"""Control endpoints under /_emulator/: stats, clock, faults, forced states."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx
import pytest
from helpers import wait_for

from .conftest import Api

SANDBOX = "2HM12345678901234"


async def test_stats_has_the_documented_shape(api: Api) -> None:
    await api.call("GET", "/fleets/vehicles")
    await api.call("GET", "/fleets/vehicles/2HM00000000000002")
    stats = (await api.control("stats")).json()
    assert stats["tokens_issued"] == 1
    assert stats["requests"] == {
        "POST /v1/access_tokens": 1,
        "GET /v1/fleets/vehicles": 1,
        "GET /v1/fleets/vehicles/{vin}": 1,
    }
    assert stats["responses"] == {"200": 3}
    assert isinstance(stats["mqtt_published"], int)
    assert stats["applied"] == {"POST": {}, "DELETE": {}}
    assert sum(stats["clearances"].values()) == 33


async def test_clock_advance_applies_due_transitions(empty_api: Api) -> None:
    await empty_api.add({"vin": SANDBOX, "brand": "sandbox"})
    r = await empty_api.control("clock", {"advance_seconds": 60})
    assert r.status_code == 200 and r.json()["applied"] == 1
    bad = await empty_api.control("clock", {"advance_seconds": -5})
    assert bad.status_code == 400 and "errors" in bad.json()


async def test_the_date_header_tells_the_virtual_clock(api: Api) -> None:
    await api.control("clock", {"advance_seconds": 3 * 3600})
    answer = await api.call("GET", "/fleets/vehicles/2HM00000000000002")
    ahead = parsedate_to_datetime(answer.headers["date"]).timestamp() - time.time()
    assert 3 * 3600 - 5 < ahead < 3 * 3600 + 5


async def test_injected_errors_hit_v1_only_and_are_not_applied(empty_api: Api) -> None:
    await empty_api.token()
    await empty_api.control("faults", {"http_error_rate": 1.0, "statuses": [429]})
    r = await empty_api.call(
        "POST", "/fleets/vehicles", json={"vehicles": [{"vin": SANDBOX, "brand": "sandbox"}]}
    )
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["errors"][0] == {"title": "Too many requests", "detail": "retry after 1s"}
    stats = (await empty_api.control("stats")).json()  # never faulted
    assert stats["applied"]["POST"] == {} and stats["responses"]["429"] == 1
    await empty_api.control("faults", {})
    assert (await empty_api.call("GET", "/fleets/vehicles")).status_code == 200


async def test_error_rate_mixes_the_given_statuses(empty_api: Api) -> None:
    await empty_api.token()
    await empty_api.control("faults", {"http_error_rate": 0.5, "statuses": [500, 503]})
    statuses = {(await empty_api.call("GET", "/fleets/vehicles")).status_code for _ in range(40)}
    assert statuses == {200, 500, 503}


async def test_latency_delays_v1_calls(empty_api: Api) -> None:
    await empty_api.token()
    await empty_api.control("faults", {"latency_ms": 1500})
    started = time.monotonic()
    await empty_api.call("GET", "/fleets/vehicles")
    assert time.monotonic() - started >= 1.5
    started = time.monotonic()
    await empty_api.control("stats")  # the control API is never delayed
    assert time.monotonic() - started < 1.5


async def test_refused_connections_drop_v1_but_not_control(empty_api: Api) -> None:
    await empty_api.token()
    await empty_api.control("faults", {"refuse_connections_s": 30})
    try:
        await empty_api.call("GET", "/fleets/vehicles")
        raise AssertionError("the call should have lost its connection")
    except httpx.TransportError:
        pass
    assert (await empty_api.control("stats")).status_code == 200
    await empty_api.control("faults", {})
    assert (await empty_api.call("GET", "/fleets/vehicles")).status_code == 200


async def test_bad_fault_specs_are_400(empty_api: Api) -> None:
    for body in ({"http_error_rate": 2}, {"statuses": [200]}, {"latency_ms": -1}):
        r = await empty_api.control("faults", body)
        assert r.status_code == 400, body


async def test_broker_disconnect_reports_whether_a_broker_was_dropped(api: Api) -> None:
    r = await api.control("faults", {"broker_disconnect": True})
    assert r.status_code == 200
    assert r.json()["broker_disconnected"] is (api.emulator.mqtt.broker is not None)


async def test_paused_publishing_stalls_the_stream_until_resumed(emulator_factory) -> None:
    emu = await emulator_factory(speed=120.0)  # every car reports twice a second
    async with httpx.AsyncClient(timeout=10) as http:
        api = Api(emu, http)

        async def published() -> int:
            return int((await api.control("stats")).json()["mqtt_published"])

        async def published_since(count: int) -> bool:
            return await published() > count

        await wait_for(lambda: published_since(0), timeout=30, message="the first messages")
        r = await api.control("faults", {"publish_paused": True})
        assert r.status_code == 200 and r.json()["faults"]["publish_paused"] is True
        before = await published()
        await api.advance(600)  # every car is due: still nothing goes out
        with pytest.raises(AssertionError):
            await wait_for(lambda: published_since(before), timeout=2.0, message="paused")
        assert emu.mqtt is not None and emu.mqtt.broker.running  # the broker stays up
        await api.control("faults", {})
        await wait_for(lambda: published_since(before), timeout=30, message="data again")


async def test_publish_paused_must_be_a_boolean(empty_api: Api) -> None:
    r = await empty_api.control("faults", {"publish_paused": "yes"})
    assert r.status_code == 400 and "publish_paused" in r.text


async def test_force_vehicle_status_and_reason(empty_api: Api) -> None:
    await empty_api.add({"vin": SANDBOX, "brand": "sandbox"})
    r = await empty_api.control(
        f"vehicles/{SANDBOX}", {"status": "rejected", "reason": "invalid OEM state"}
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    await empty_api.advance(60)  # the forced status sticks: the sandbox approval was dropped
    got = await empty_api.get(SANDBOX)
    assert got["status"] == "rejected" and got["changelog"][-1]["reason"] == "invalid OEM state"


async def test_force_revoking_completes_and_unknown_vin_needs_a_brand(empty_api: Api) -> None:
    r = await empty_api.control("vehicles/WBA3A5C50CF256651", {"status": "approved"})
    assert r.status_code == 404
    r = await empty_api.control(
        "vehicles/WBA3A5C50CF256651", {"status": "revoking", "brand": "bmw"}
    )
    assert r.status_code == 200
    await empty_api.advance(600)
    assert (await empty_api.get("WBA3A5C50CF256651"))["status"] == "revoked"
    r = await empty_api.control("vehicles/WBA3A5C50CF256651", {"status": "flying"})
    assert r.status_code == 400


async def test_unknown_brand_for_a_new_vin_is_named_with_the_valid_ids(empty_api: Api) -> None:
    r = await empty_api.control(
        "vehicles/WBA3A5C50CF256651", {"status": "pending", "brand": "notabrand"}
    )
    assert r.status_code == 400
    detail = r.json()["errors"][0]["detail"]
    assert "unknown brand 'notabrand'" in detail and "not found" not in detail.lower()
    assert all(brand in detail for brand in ("bmw", "volkswagen", "sandbox"))
    r = await empty_api.control("vehicles/WBA3A5C50CF256651", {"brand": ["bmw"]})
    assert r.status_code == 400 and "unknown brand" in r.json()["errors"][0]["detail"]
    assert "WBA3A5C50CF256651" not in empty_api.emulator.state.clearances


def test_emulator_thread_serves_from_its_own_loop(tmp_path) -> None:
    from hm_tui.emulator.server import EmulatorConfig, EmulatorThread

    thread = EmulatorThread(EmulatorConfig(state_dir=tmp_path, fleet=3, publish=False))
    creds = thread.start(timeout=20)
    try:
        r = httpx.post(
            creds["base_url"] + "/access_tokens",
            json={
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        )
        assert r.status_code == 200
    finally:
        thread.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(creds["base_url"] + "/fleets/vehicles")


async def test_port_in_use_fails_start_cleanly(emulator_factory, empty_api: Api) -> None:
    port = int(empty_api.emulator.base_url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(OSError):
        await emulator_factory(port=port, fleet=0, publish=False)
