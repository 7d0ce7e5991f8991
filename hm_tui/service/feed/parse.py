"""Pushed vehicle data (docs/platform.md#mqtt-streaming-push) into data points: V1 and V2, strict
about shape, raising nothing but `BadPayload`.

The payload is untrusted: size, nesting, types and names are checked before anything is kept, and
unknown capabilities and properties pass through (the catalogue only adds units when the sender
used the catalogue's `{"<unit>": value}` example form instead of `{"value", "unit"}`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from hm_tui.domain.autoapi import property_info
from hm_tui.domain.timestamps import parse_time
from hm_tui.service.models import DataPoint, combined
from hm_tui.service.platform import bounded_json
from hm_tui.service.platform.bounded_json import JsonError
from hm_tui.service.redact import unmasked

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_VALUE_DEPTH = 6
MAX_NAME = 64
MAX_VIN = 32
MAX_MESSAGE_ID = 128
MAX_FAILURE_TEXT = 200
SAMPLE_CHARS = 120


def escape_sample(data: bytes | bytearray | str, limit: int = SAMPLE_CHARS) -> str:
    """Printable ASCII only: control characters, escapes and non-ASCII become `\\x..` forms."""
    text = data if isinstance(data, str) else bytes(data).decode("utf-8", "backslashreplace")
    text = unmasked(text)  # a secret masked whole before the sample is cut or escaped
    escaped = text[:limit].encode("unicode_escape").decode("ascii")
    return escaped + ("..." if len(text) > limit else "")


class BadPayload(ValueError):
    """A message we cannot use; the text says why in a few words (no payload in it)."""


@dataclass(frozen=True, slots=True)
class FeedMessage:
    """One accepted message: its id (for de-duplication) and the data points it carries."""

    message_id: str | None
    vin: str
    points: list[DataPoint]


def parse_message(
    payload: bytes | bytearray, received_at: datetime, topic: str | None = None
) -> FeedMessage:
    """Parse a V1 or V2 payload; raise `BadPayload` for anything unusable. A V1 `topic` names
    the car: a payload naming another VIN is refused (shown as the payload's VIN, one car's
    data could pass for another's)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise BadPayload(f"too large ({len(payload) // 1024} KB)")
    try:
        doc = bounded_json.loads(payload)
    except JsonError as exc:
        raise BadPayload(str(exc)) from None
    if not isinstance(doc, dict):
        raise BadPayload("not a JSON object")
    version = doc.get("version")
    if version not in (1, 2) or isinstance(version, bool):
        raise BadPayload(f"unsupported version {_short(version)}")
    vin = _vin(doc.get("vin"))
    named = topic_vin(topic)
    if named is not None and named.upper() != vin.upper():
        raise BadPayload(f"the payload names VIN {_short(vin)}, its topic {_short(named)}")
    message_id = _message_id(doc.get("message_id"))
    data = doc.get("data")
    if not isinstance(data, dict):
        raise BadPayload("`data` is not an object")
    points = _points(vin, data, message_id, received_at)
    return FeedMessage(message_id, vin, points)


def topic_vin(topic: str | None) -> str | None:
    """The VIN a V1 topic names (`{env}/level13/{app_id}/{vin}/{capability}/get/{property}`);
    None for a V2 topic (`{env}/level13/{app_id}`) or any other."""
    if not topic:
        return None
    parts = topic.split("/", 4)
    return parts[3] if len(parts) == 5 and parts[1] == "level13" else None


def _points(
    vin: str, data: dict[str, Any], message_id: str | None, received_at: datetime
) -> list[DataPoint]:
    points: list[DataPoint] = []
    for capability, properties in data.items():
        _name(capability, "capability")
        if not isinstance(properties, dict):
            raise BadPayload(f"capability {_short(capability)} is not an object")
        for prop, items in properties.items():
            _name(prop, "property")
            if not isinstance(items, list):
                points.append(_point(vin, capability, prop, items, message_id, received_at))
            elif items:
                many = [
                    _point(vin, capability, prop, item, message_id, received_at) for item in items
                ]
                points.append(combined(many))
    return points


def _point(
    vin: str, capability: str, prop: str, item: Any, message_id: str | None, received_at: datetime
) -> DataPoint:
    if not isinstance(item, dict):
        raise BadPayload(f"{capability}.{prop} is not a data object")
    value, unit = _value(capability, prop, item.get("data"))
    stamp = item.get("timestamp")
    if stamp is not None and not isinstance(stamp, str):
        raise BadPayload(f"{capability}.{prop} has a timestamp that is not a string")
    return DataPoint(
        vin=vin,
        capability=capability,
        property=prop,
        value=value,
        unit=unit,
        timestamp=_time(stamp) if stamp else None,
        message_id=message_id,
        failure=_failure(item.get("failure")),
        received_at=received_at,
    )


def _value(capability: str, prop: str, data: Any) -> tuple[Any, str | None]:
    """(value, unit): measurements `{"value", "unit"}` split, anything else kept as it is."""
    if isinstance(data, dict):
        if len(data) == 2 and isinstance(data.get("unit"), str):
            value = data.get("value")
            if isinstance(value, int | float | str | None):
                return value, data["unit"]
        if _depth(data) > MAX_VALUE_DEPTH:
            raise BadPayload(f"{capability}.{prop} is nested too deeply")
        if len(data) == 1:
            return _example_form(capability, prop, data)
        return data, None
    if isinstance(data, list) and _depth(data) > MAX_VALUE_DEPTH:
        raise BadPayload(f"{capability}.{prop} is nested too deeply")
    return data, None


def _example_form(capability: str, prop: str, data: dict[str, Any]) -> tuple[Any, str | None]:
    """The catalogue's example form `{"kilometers": 150000.0}` of a measurement."""
    ((unit, value),) = data.items()
    info = property_info(capability, prop)
    if info is not None and info.kind == "measurement" and unit in info.units:
        return value, unit
    return data, None


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_VALUE_DEPTH:
        return level
    children = value.values() if isinstance(value, dict) else value
    deepest = level
    for child in children:
        if isinstance(child, dict | list):
            deepest = max(deepest, _depth(child, level + 1))
    return deepest


def _failure(failure: Any) -> str | None:
    if failure is None:
        return None
    if not isinstance(failure, dict):
        return "failure (unreadable)"
    reason, description = failure.get("reason"), failure.get("description")
    text = ": ".join(str(part) for part in (reason, description) if part)
    return (text or "failure")[:MAX_FAILURE_TEXT]


def _vin(vin: Any) -> str:
    if not isinstance(vin, str) or not vin or len(vin) > MAX_VIN:
        raise BadPayload("`vin` is missing or not a VIN")
    if not (vin.isascii() and vin.isalnum()):
        raise BadPayload("`vin` has characters a VIN cannot have")
    return vin


def _message_id(message_id: Any) -> str | None:
    if message_id is None:
        return None
    if (
        not isinstance(message_id, str)
        or len(message_id) > MAX_MESSAGE_ID
        or not message_id.isascii()
        or not message_id.isprintable()
    ):
        raise BadPayload("`message_id` is not an id")
    return message_id


def _name(name: str, what: str) -> None:
    if not _is_name(name):
        raise BadPayload(f"{what} name {_short(name)} is not a name")


@lru_cache(maxsize=2048)
def _is_name(name: str) -> bool:
    return len(name) <= MAX_NAME and name.isascii() and name.isidentifier()


@lru_cache(maxsize=4096)
def _time(stamp: str) -> datetime | None:
    return parse_time(stamp)


def _short(value: Any, limit: int = 24) -> str:
    """A value for an error message: repr'd (so escapes stay escaped) and cut short (a secret
    in it masked first)."""
    text = ascii(unmasked(value) if isinstance(value, str) else value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
