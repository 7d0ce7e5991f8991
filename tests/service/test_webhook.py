"""The webhook receiver: signatures checked in constant time over the raw body, duplicates
dropped, ping answered, and the emulator's real deliveries turned into roster changes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hm_tui.service.webhook.receiver import (
    MAX_BODY,
    ClearanceEvent,
    WebhookReceiver,
    parse_listen,
    signature,
)
from tests.helpers import wait_for

SECRET = "s3cret-for-tests"
VIN = "WBA00000000000001"


def body(action: str = "approved", detail: str = "") -> bytes:
    return json.dumps(
        {
            "vehicle": {"vin": VIN},
            "event": {
                "type": "fleet_clearance_changed",
                "action": action,
                "detail": detail,
                "received_at": "2024-05-01T10:00:00Z",
            },
            "application": {"id": "app"},
        }
    ).encode()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[WebhookReceiver, list[ClearanceEvent]]]:
    events: list[ClearanceEvent] = []
    hook = WebhookReceiver("127.0.0.1:0", SECRET, events.append)
    await hook.start()
    yield hook, events
    await hook.stop()


async def post(hook: WebhookReceiver, raw: bytes, headers: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(hook.url + "hooks", content=raw, headers=headers)


def signed(
    raw: bytes, delivery: str = "d-1", event: str = "fleet_clearance_changed", secret: str = SECRET
) -> dict[str, str]:
    return {
        "X-HM-Signature-256": signature(secret, raw),
        "X-HM-Delivery": delivery,
        "X-HM-Event": event,
        "Content-Type": "application/json",
    }


async def test_signed_change_is_accepted_and_dispatched(receiver: Any) -> None:
    hook, events = receiver
    raw = body("rejected", "invalid VIN")
    answer = await post(hook, raw, signed(raw))
    assert answer.status_code == 200
    assert events == [ClearanceEvent("d-1", VIN, "rejected", "invalid VIN", "2024-05-01T10:00:00Z")]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no signature at all
        {"X-HM-Signature-256": "sha256=" + "0" * 64},
        {"X-HM-Signature-256": signature("another secret", body())},
        {"X-HM-Signature-256": signature(SECRET, body("approved") + b" ")},  # not over these bytes
        {"X-HM-Signature-256": "sha256=ünïcode".encode()},  # raw non-ASCII bytes
    ],
)
async def test_bad_or_missing_signature_is_401_and_nothing_happens(
    receiver: Any, headers: dict
) -> None:
    hook, events = receiver
    answer = await post(hook, body(), headers)
    assert answer.status_code == 401
    assert events == [] and hook.stats["rejected"] == 1


async def test_a_repeated_delivery_is_handled_once(receiver: Any) -> None:
    hook, events = receiver
    raw = body()
    for _ in range(3):
        assert (await post(hook, raw, signed(raw, delivery="same"))).status_code == 200
    assert len(events) == 1 and hook.stats["duplicates"] == 2


async def test_ping_is_answered(receiver: Any) -> None:
    hook, events = receiver
    raw = json.dumps({"event": {"type": "ping"}}).encode()
    answer = await post(hook, raw, signed(raw, event="ping"))
    assert answer.status_code == 200 and answer.json() == {"status": "pong"}
    assert events == [] and hook.stats["pings"] == 1


def test_listen_address_is_checked_with_a_clear_message() -> None:
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:9") == ("::1", 9)
    with pytest.raises(ValueError, match="webhook_listen must look like"):
        parse_listen("8080")
    with pytest.raises(ValueError, match="secret"):
        WebhookReceiver("127.0.0.1:0", "", lambda e: None)
    assert SECRET not in repr(WebhookReceiver("127.0.0.1:0", SECRET, lambda e: None))


async def test_emulator_deliveries_reach_the_receiver(emulator_factory: Any) -> None:
    events: list[ClearanceEvent] = []
    hook = WebhookReceiver("127.0.0.1:0", "set below", events.append)
    await hook.start()
    try:
        emu = await emulator_factory(fleet=0, publish=False, webhook_url=hook.url)
        hook._secret = emu.credentials["webhook_secret"]  # known only once it started
        emu.state.add("2HM12345678901234", "sandbox", {}, None, emu.clock.now())
        emu.state.tick(emu.clock.advance(60))
        await wait_for(
            lambda: [e.action for e in events] == ["pending", "approved"],
            timeout=10,
            message="two deliveries",
        )
    finally:
        await hook.stop()
    assert hook.stats["rejected"] == 0


def change(vin: object, action: object = "revoked") -> bytes:
    return json.dumps(
        {"vehicle": {"vin": vin}, "event": {"type": "fleet_clearance_changed", "action": action}}
    ).encode()


HOSTILE_BODIES = {
    "100,000-deep array": b"[" * 100_000 + b"]" * 100_000,
    "40,000-deep object": b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
    "deep inside a change": change(VIN).replace(b'"revoked"', b"[" * 5000 + b"]" * 5000),
    "not UTF-8": b'{"vehicle": {"vin": "\xff\xfe"}}',
    "NUL bytes": b"\x00" * 64,
    "empty": b"",
    "a JSON string": b'"fleet_clearance_changed"',
    "a huge number": b"1" + b"0" * 100_000,
    "an array of changes": b"[" + change(VIN) + b"]",
    "VIN a number": change(12345678901234567),
    "VIN 10,000 characters": change("W" * 10_000),
    "VIN with a path": change("../../_emulator/a"),
    "VIN with escapes": change("WBA\x1b[2J000000001"),
    "VIN with bidi": change("WBA\u202e0000000000001"),
    "action an object": change(VIN, {"status": "revoked"}),
    "event a list": json.dumps({"vehicle": {"vin": VIN}, "event": []}).encode(),
}


@pytest.mark.parametrize("raw", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
async def test_any_signed_body_gets_an_answer_never_a_500(receiver: Any, raw: bytes) -> None:
    hook, events = receiver
    answer = await post(hook, raw, signed(raw, delivery=""))
    assert answer.status_code in (200, 400), answer.text
    assert "Traceback" not in answer.text
    assert events == []  # nothing that is not a well-formed VIN's change is handed on


async def test_a_body_over_the_limit_is_413_and_a_well_formed_one_still_works(
    receiver: Any,
) -> None:
    hook, events = receiver
    big = b" " * (MAX_BODY + 1)
    assert (await post(hook, big, signed(big))).status_code == 413
    raw = change(VIN.lower())
    assert (await post(hook, raw, signed(raw, delivery="d-9"))).status_code == 200
    assert [e.vin for e in events] == [VIN]
