"""The feed's message handling without a broker: V1/V2 parsing, de-duplication, bad payloads,
bounded buffers. `FeedClient.ingest` is exactly what paho's thread calls per message."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hm_tui.service.config.profiles import MqttSettings
from hm_tui.service.feed.client import FeedClient, escape_sample
from hm_tui.service.feed.parse import BadPayload, parse_message

VIN = "WBA12345678901234"
STAMP = "2025-11-23T10:00:00.000Z"


def feed(**kwargs: Any) -> FeedClient:
    settings = MqttSettings(
        host="127.0.0.1", port=1, client_id="c", ca_file="ca", cert_file="cert", key_file="key"
    )
    return FeedClient(settings, "sandbox", "app", **kwargs)


def v1(
    capability: str, prop: str, data: Any, *, message_id: str = "a" * 64, vin: str = VIN
) -> bytes:
    return json.dumps(
        {
            "version": 1,
            "message_id": message_id,
            "vin": vin,
            "capability": capability,
            "property": prop,
            "data": {capability: {prop: data}},
        }
    ).encode()


def speed(i: int) -> bytes:
    data = {"data": {"value": i, "unit": "kilometers_per_hour"}, "timestamp": STAMP}
    return v1("diagnostics", "speed", data, message_id=f"{i:064x}")


def test_v1_measurement_becomes_a_point_with_value_unit_and_timestamp() -> None:
    payload = v1(
        "diagnostics",
        "odometer",
        {"data": {"value": 12345.6, "unit": "kilometers"}, "timestamp": STAMP},
    )
    message = parse_message(payload, datetime.now(UTC))
    (point,) = message.points
    assert (point.vin, point.key, point.value, point.unit) == (
        VIN,
        "diagnostics.odometer",
        12345.6,
        "kilometers",
    )
    assert point.timestamp == datetime(2025, 11, 23, 10, 0, tzinfo=UTC)
    assert point.message_id == "a" * 64


def test_v1_percentage_enum_and_coordinates_are_kept_as_sent() -> None:
    cases = [
        ("charging", "battery_level", 0.42, 0.42),
        ("ignition", "state", "on", "on"),
        (
            "vehicle_location",
            "coordinates",
            {"latitude": 52.5, "longitude": 13.4},
            {"latitude": 52.5, "longitude": 13.4},
        ),
    ]
    for capability, prop, data, expected in cases:
        payload = v1(capability, prop, {"data": data, "timestamp": STAMP})
        (point,) = parse_message(payload, datetime.now(UTC)).points
        assert (point.value, point.unit) == (expected, None)


def test_catalogue_example_form_of_a_measurement_is_understood() -> None:
    payload = v1("diagnostics", "odometer", {"data": {"kilometers": 150000.0}, "timestamp": STAMP})
    (point,) = parse_message(payload, datetime.now(UTC)).points
    assert (point.value, point.unit) == (150000.0, "kilometers")


def test_multiple_property_arrives_as_one_point_holding_every_item() -> None:
    locks = [
        {"data": {"location": where, "lock_state": "locked"}, "timestamp": STAMP}
        for where in ("front_left", "front_right")
    ]
    (point,) = parse_message(v1("doors", "locks", locks), datetime.now(UTC)).points
    assert point.value == [
        {"location": "front_left", "lock_state": "locked"},
        {"location": "front_right", "lock_state": "locked"},
    ]


def test_v2_message_carries_several_properties_each_an_array() -> None:
    payload = json.dumps(
        {
            "version": 2,
            "application_id": "app",
            "message_id": "b" * 64,
            "vin": VIN,
            "data": {
                "diagnostics": {
                    "speed": [
                        {"data": {"value": 50, "unit": "kilometers_per_hour"}, "timestamp": STAMP}
                    ]
                },
                "ignition": {"state": [{"data": "on", "timestamp": STAMP}]},
            },
        }
    ).encode()
    points = parse_message(payload, datetime.now(UTC)).points
    assert {(p.key, p.value, p.unit) for p in points} == {
        ("diagnostics.speed", 50, "kilometers_per_hour"),
        ("ignition.state", "on", None),
    }


def test_unknown_capability_and_failures_pass_through() -> None:
    payload = v1(
        "flux_capacitor",
        "charge",
        {"timestamp": STAMP, "failure": {"reason": "unknown", "description": "not reported"}},
    )
    (point,) = parse_message(payload, datetime.now(UTC)).points
    assert (point.key, point.value, point.failure) == (
        "flux_capacitor.charge",
        None,
        "unknown: not reported",
    )


BAD_PAYLOADS = {
    "not json": b"{not json",
    "not utf-8": b"\xff\xfe{}",
    "not an object": b"[1, 2, 3]",
    "wrong version": v1("ignition", "state", {"data": "on"}).replace(
        b'"version": 1', b'"version": 3'
    ),
    "version as bool": json.dumps({"version": True, "vin": VIN, "data": {}}).encode(),
    "vin not a string": json.dumps({"version": 1, "vin": 17, "data": {}}).encode(),
    "vin with escapes": v1("ignition", "state", {"data": "on"}, vin="\x1b[31mWBA"),
    "data not an object": json.dumps({"version": 1, "vin": VIN, "data": "x"}).encode(),
    "property not an object": v1("ignition", "state", "on"),
    "capability name with markup": json.dumps(
        {"version": 1, "vin": VIN, "data": {"[b]x[/b]": {"state": {"data": 1}}}}
    ).encode(),
    "timestamp wrong type": v1("ignition", "state", {"data": "on", "timestamp": 5}),
    "message id wrong type": v1("ignition", "state", {"data": "on"}).replace(
        b'"' + b"a" * 64 + b'"', b"[1]"
    ),
    "too large": b'{"version": 1, "pad": "' + b"x" * (300 * 1024) + b'"}',
    "nested in JSON too deeply": b"[" * 100_000 + b"]" * 100_000,
    "nested value too deeply": v1("ignition", "state", {"data": json.loads("[" * 20 + "]" * 20)}),
}


@pytest.mark.parametrize("name", list(BAD_PAYLOADS))
def test_bad_payload_is_refused_with_a_reason(name: str) -> None:
    with pytest.raises(BadPayload) as refused:
        parse_message(BAD_PAYLOADS[name], datetime.now(UTC))
    assert str(refused.value)


def test_bad_payloads_are_counted_and_sampled_escaped_never_raised() -> None:
    client = feed()
    for payload in BAD_PAYLOADS.values():
        client.ingest("sandbox/level13/app/\x1b[2J", payload)
    state = client.state
    assert state.bad_payloads == len(BAD_PAYLOADS)
    assert state.received == 0 and client.drain() == []
    assert 0 < len(state.bad_samples) <= 5
    for sample in state.bad_samples:
        assert sample.sample.isascii() and sample.sample.isprintable()
        assert "\x1b" not in sample.topic and len(sample.sample) <= 130


def test_escape_sample_shows_control_characters_as_text() -> None:
    assert escape_sample(b"\x1b[31mred\x07") == "\\x1b[31mred\\x07"


def test_same_message_id_twice_is_kept_once_and_counted_as_duplicate() -> None:
    client = feed()
    payload = v1("ignition", "state", {"data": "on", "timestamp": STAMP})
    client.ingest("t", payload)
    client.ingest("t", payload)
    assert len(client.drain()) == 1
    assert (client.state.received, client.state.duplicates) == (1, 1)


def test_dedup_memory_is_bounded_oldest_ids_forgotten() -> None:
    client = feed(dedup=3)
    ids = [f"{i:064x}" for i in range(5)]
    for message_id in ids:
        client.ingest("t", v1("ignition", "state", {"data": "on"}, message_id=message_id))
    client.ingest("t", v1("ignition", "state", {"data": "on"}, message_id=ids[0]))  # forgotten
    client.ingest("t", v1("ignition", "state", {"data": "on"}, message_id=ids[4]))  # remembered
    assert (client.state.received, client.state.duplicates) == (6, 1)


def test_full_buffer_drops_oldest_and_counts_drops() -> None:
    client = feed(buffer=3)
    for i in range(5):
        client.ingest("t", speed(i))
    assert [point.value for point in client.drain()] == [2, 3, 4]
    assert client.state.dropped == 2


def test_drain_returns_batches_oldest_first() -> None:
    client = feed()
    for i in range(7):
        client.ingest("t", speed(i))
    assert [p.value for p in client.drain(5)] == [0, 1, 2, 3, 4]
    assert [p.value for p in client.drain(5)] == [5, 6]
    assert client.drain(5) == []


def test_latest_keeps_the_newest_point_per_property() -> None:
    client = feed()
    for i, state in enumerate(("on", "off")):
        client.ingest("t", v1("ignition", "state", {"data": state}, message_id=f"{i:064x}"))
    assert client.latest(VIN)["ignition.state"].value == "off"
    assert client.latest("WBA00000000000000") == {}
    assert client.vins() == [VIN]
