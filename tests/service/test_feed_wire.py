"""The socket between the feed process and the app (`feed.child.encode_batch`/`decode_batch`):
every point the parser can produce, and the feed's state, arrive exactly as they left."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hm_tui.service.feed.child import Batch, decode_batch, encode_batch
from hm_tui.service.feed.client import BadSample, FeedState
from hm_tui.service.feed.parse import parse_message

VIN = "WBA12345678901234"
NOW = datetime(2025, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)
#: JSON values as the parser can meet them (no lone surrogates: msgspec refuses those on input)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | TEXT
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def message(data: dict[str, Any], message_id: str | None = "a" * 64) -> bytes:
    return json.dumps({"version": 1, "message_id": message_id, "vin": VIN, "data": data}).encode()


def through_the_pipe(batch: Batch) -> Batch:
    return decode_batch(encode_batch(batch))


@settings(max_examples=250, deadline=None)
@given(value=VALUES)
def test_any_value_the_parser_produces_arrives_unchanged(value: Any) -> None:
    points = parse_message(message({"custom": {"reading": {"data": value}}}), NOW).points
    assert through_the_pipe(Batch(points)).points == points


def test_timestamps_keep_their_offset_and_microseconds_and_units_and_failures_survive() -> None:
    data = {
        "diagnostics": {
            "speed": {
                "data": {"value": 2**70, "unit": "kilometers_per_hour"},
                "timestamp": "2025-11-23T12:00:00.654321+02:00",
            }
        },
        "doors": {
            "locks": [
                {"data": {"location": "front_left", "lock_state": "locked"}},
                {
                    "data": {"location": "rear_right", "lock_state": "unlocked"},
                    "failure": {"reason": "unknown", "description": "Zürich ✓"},
                },
            ]
        },
    }
    points = parse_message(message(data, message_id=None), NOW).points
    arrived = through_the_pipe(Batch(points)).points
    assert arrived == points
    stamps = [(p.timestamp, p.timestamp.utcoffset() if p.timestamp else None) for p in arrived]
    assert stamps == [
        (p.timestamp, p.timestamp.utcoffset() if p.timestamp else None) for p in points
    ]
    assert arrived[0].timestamp is not None and arrived[0].timestamp.utcoffset() is not None
    assert arrived[0].timestamp.utcoffset().total_seconds() == 7200


def test_the_feed_state_arrives_with_its_bad_samples() -> None:
    state = FeedState(
        status="retrying",
        last_error="connection lost: keep alive timeout",
        received=7,
        duplicates=1,
        bad_payloads=2,
        rate=12.5,
        points=9,
        dropped=0,
        topic="sandbox/level13/app/#",
        subscribed=False,
        bad_samples=(BadSample(NOW, "not valid JSON", "t", "\\x00garbage"),),
    )
    assert through_the_pipe(Batch([], state)) == Batch([], state)
