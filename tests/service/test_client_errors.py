"""Error bodies in every shape seen in the wild, tolerant decoding, and the pacing helpers."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from hm_tui.service.errors import (
    AuthError,
    BadResponse,
    Conflict,
    Forbidden,
    RateLimited,
    ServerError,
    error_from_response,
)
from hm_tui.service.platform.decode import decode_clearance_list, decode_vehicle_data
from hm_tui.service.platform.retry import RetryPolicy, TokenBucket
from hm_tui.service.redact import register_secret


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_application_shape() -> None:
    err = error_from_response(
        409,
        body(
            {
                "errors": [
                    {
                        "title": "Conflict",
                        "source": "vin",
                        "detail": "Clearance is in transition mode",
                    }
                ]
            }
        ),
        vin="WBA00000000000001",
    )
    assert isinstance(err, Conflict)
    assert (err.status, err.title, err.detail) == (
        409,
        "Conflict",
        "Clearance is in transition mode",
    )
    assert str(err) == "WBA00000000000001: Conflict: Clearance is in transition mode (HTTP 409)"


def test_bare_array_shape_joins_every_detail() -> None:
    err = error_from_response(
        403,
        body(
            [
                {"title": "Forbidden", "detail": "No fleet access"},
                {"title": "Forbidden", "detail": "Privacy mode is active"},
            ]
        ),
    )
    assert isinstance(err, Forbidden)
    assert err.detail == "No fleet access; Privacy mode is active"


def test_oauth_shape_from_the_token_endpoint_is_an_auth_error() -> None:
    err = error_from_response(
        400,
        body({"error": "invalid_request", "error_description": "client_secret is invalid"}),
        token_endpoint=True,
    )
    assert isinstance(err, AuthError)
    assert (err.title, err.detail) == ("invalid_request", "client_secret is invalid")


def test_rate_limit_reads_retry_after_from_header_or_detail() -> None:
    raw = body({"errors": [{"title": "Too many requests", "detail": "retry after 10s"}]})
    with_header = error_from_response(429, raw, headers=httpx.Headers({"Retry-After": "3"}))
    without = error_from_response(429, raw)
    assert isinstance(with_header, RateLimited) and with_header.retry_after == 3
    assert isinstance(without, RateLimited) and without.retry_after == 10


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML page"),
        (b"\x89PNG\x00garbage", "not JSON"),
        (b"", "no details"),
        (b'{"unexpected": true}', "does not recognise"),
    ],
)
def test_html_garbage_and_empty_bodies_give_a_clear_message(raw: bytes, expected: str) -> None:
    err = error_from_response(502, raw)
    assert isinstance(err, ServerError)
    assert err.title == "Bad Gateway" and expected in err.detail


def test_error_messages_never_carry_secrets_or_control_characters() -> None:
    register_secret("the-registered-client-secret")
    err = error_from_response(
        400,
        body(
            {
                "errors": [
                    {
                        "title": "Bad\x1b[31m request",
                        "detail": (
                            "echo: client_secret=the-registered-client-secret "
                            "Bearer eyJabc.eyJdef.sig"
                        ),
                    }
                ]
            }
        ),
    )
    text = str(err)
    assert "the-registered-client-secret" not in text and "eyJabc" not in text
    assert "\x1b" not in text


def test_one_bad_item_is_skipped_and_counted_not_the_whole_list() -> None:
    items = [
        {
            "vin": "A" * 17,
            "status": "approved",
            "brand": "bmw",
            "tags": {},
            "changelog": [{"timestamp": "2024-01-01T00:00:00Z", "status": "approved"}],
            "unknown_field": 1,
        },
        {"vin": "B" * 17, "status": 5},
        {"vin": "C" * 17, "status": "some-new-status", "brand": "new-brand"},
    ]
    result = decode_clearance_list(body(items))
    assert [c.vin for c in result.clearances] == ["A" * 17, "C" * 17]
    assert result.bad_items == 1


@pytest.mark.parametrize("raw", [b'{"not": "a list"}', b"<html>"])
def test_a_list_answer_that_is_not_an_array_is_a_bad_response(raw: bytes) -> None:
    with pytest.raises(BadResponse):
        decode_clearance_list(raw)


def test_vehicle_data_measurements_failures_and_multiple_properties() -> None:
    raw = {
        "request_id": "r1",
        "vin": "V" * 17,
        "brand": "mercedes_benz",
        "diagnostics": {
            "odometer": {
                "data": {"value": 1500.5, "unit": "kilometers"},
                "timestamp": "2024-05-01T10:00:00Z",
            },
            "fuel_level": {
                "failure": {"reason": "unknown", "description": "no sensor"},
                "timestamp": "2024-05-01T10:00:00Z",
            },
        },
        "doors": {
            "locks": [
                {
                    "data": {"location": "front_left", "lock_state": "locked"},
                    "timestamp": "2024-05-01T10:00:00Z",
                },
                {
                    "data": {"location": "rear_left", "lock_state": "unlocked"},
                    "timestamp": "2024-05-01T10:00:00Z",
                },
            ]
        },
    }
    data = decode_vehicle_data(body(raw), "V" * 17)
    by_key = {p.key: p for p in data.points}
    assert (by_key["diagnostics.odometer"].value, by_key["diagnostics.odometer"].unit) == (
        1500.5,
        "kilometers",
    )
    assert by_key["diagnostics.fuel_level"].failure == "unknown: no sensor"
    assert len([p for p in data.points if p.key == "doors.locks"]) == 2
    assert data.brand == "mercedes_benz" and data.request_id == "r1"


def test_backoff_is_full_jitter_under_the_cap_and_retry_after_is_capped() -> None:
    policy = RetryPolicy(base=1.0, cap=5.0, max_retry_after=30.0)
    assert all(0 <= policy.delay(n) <= min(5.0, 2**n) for n in range(10) for _ in range(20))
    assert policy.delay(0, retry_after=3600) == 30.0
    assert policy.delay(0, retry_after=2) == 2


async def test_token_bucket_lets_a_burst_through_then_waits_for_refill() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=1.0, capacity=2, clock=lambda: now[0])
    await bucket.acquire()
    await bucket.acquire()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(bucket.acquire(), timeout=0.05)
    now[0] += 1.0
    await asyncio.wait_for(bucket.acquire(), timeout=0.05)
