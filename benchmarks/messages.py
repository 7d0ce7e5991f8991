"""V1 feed messages as docs/platform.md#mqtt-streaming-push has them, cheap to make at 10k+/s.

The data timestamp of every message is the moment it is handed to the publisher, so a consumer
can tell its lag from the payload alone. The message_id carries the run tag and a sequence number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from hm_tui.domain.vin import with_check_digit

ENVIRONMENT = "sandbox"
APP_ID = "b3c4d5e6f7a8b9c0d1e2f3a4"
PROBE_TAG = 0xFFFFFFFF  # warm-up messages: not counted

# (capability, property, value) per publisher stream: Auto API shapes (measurement, percentage)
STREAMS = (
    ("diagnostics", "odometer", {"value": 15321.5, "unit": "kilometers"}),
    ("diagnostics", "speed", {"value": 87.0, "unit": "kilometers_per_hour"}),
    ("charging", "battery_level", 0.62),
    ("diagnostics", "engine_rpm", {"value": 2150.0, "unit": "revolutions_per_minute"}),
)
VIN_STEMS = ("WVWZZZ1JZ3W386752", "WBA3A5C50DF358058", "VF1RFB00X5A123456", "ZFA31200000765432")


def subscription(environment: str = ENVIRONMENT, app_id: str = APP_ID) -> str:
    return f"{environment}/level13/{app_id}/#"


def message_id(run_tag: int, seq: int) -> str:
    return f"{run_tag:08x}{seq:056x}"


def run_tag_of(mid: str) -> int:
    return int(mid[:8], 16)


def iso_ms(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def epoch_of(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class Stream:
    """One publisher's topic and a payload template split around message_id and timestamp."""

    topic: str
    head: str
    middle: str
    tail: str

    def payload(self, mid: str, timestamp: str) -> str:
        return f"{self.head}{mid}{self.middle}{timestamp}{self.tail}"


def make_stream(index: int, environment: str = ENVIRONMENT, app_id: str = APP_ID) -> Stream:
    capability, prop, value = STREAMS[index % len(STREAMS)]
    vin = with_check_digit(VIN_STEMS[index % len(VIN_STEMS)])
    doc = {
        "version": 1,
        "message_id": "@MID@",
        "vin": vin,
        "capability": capability,
        "property": prop,
        "data": {capability: {prop: {"data": value, "timestamp": "@TS@"}}},
    }
    text = json.dumps(doc, separators=(",", ":"))
    head, rest = text.split("@MID@")
    middle, tail = rest.split("@TS@")
    topic = f"{environment}/level13/{app_id}/{vin}/{capability}/get/{prop}"
    return Stream(topic, head, middle, tail)
