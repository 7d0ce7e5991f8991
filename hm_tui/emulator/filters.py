"""The list call's `filter`: URL-encoded JSON, one condition per field, several fields ANDed.

Fields and operators are the published ones (docs/platform-contract.md); anything else, and any
value of the wrong type, is a `FilterError` (answered 400 with `source: filter`), never a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hm_tui.emulator.clock import wire_ms
from hm_tui.emulator.jsonbody import BodyError, decode_bounded
from hm_tui.emulator.state import Record

Predicate = Callable[[Record], bool]

_PLAIN_OPS = frozenset({"eq", "in"})
_TAG_OPS = frozenset({"eq", "contains"})
_TIME_OPS = frozenset({"eq", "lt", "gt", "lte", "gte"})
FIELD_OPS: dict[str, frozenset[str]] = {
    "vin": _PLAIN_OPS,
    "status": _PLAIN_OPS,
    "brand": _PLAIN_OPS,
    "tags": _TAG_OPS,
    "approved_at": _TIME_OPS,
    "inserted_at": _TIME_OPS,
}


class FilterError(ValueError):
    """The filter is malformed: the message names the field (400 with `source: filter`)."""


def parse_filter(raw: str | None) -> Predicate | None:
    """A predicate for the records a filter keeps; None when there is no filter."""
    if raw is None or not raw.strip():
        return None
    try:
        spec = decode_bounded(raw, "filter")
    except BodyError as exc:
        raise FilterError(str(exc)) from None
    if not isinstance(spec, dict):
        raise FilterError("filter must be a JSON object")
    tests = [_condition(name, cond) for name, cond in spec.items()]
    return lambda record: all(test(record) for test in tests)


def _condition(name: str, cond: Any) -> Predicate:
    if name not in FIELD_OPS:
        fields = ", ".join(FIELD_OPS)
        raise FilterError(f"filter field {name[:40]!r} is not supported (fields: {fields})")
    if not isinstance(cond, dict) or "operator" not in cond or "value" not in cond:
        raise FilterError(f"filter.{name} needs an operator and a value")
    op, value = cond["operator"], cond["value"]
    if not isinstance(op, str) or op not in FIELD_OPS[name]:
        ops = ", ".join(sorted(FIELD_OPS[name]))
        raise FilterError(f"filter.{name}: the operator must be one of {ops}")
    if name == "tags":
        return _tags_condition(op, value)
    if name in ("approved_at", "inserted_at"):
        return _time_condition(name, op, value)
    return _plain_condition(name, op, value)


def _plain_condition(name: str, op: str, value: Any) -> Predicate:
    if op == "in":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise FilterError(f"filter.{name} with operator in needs a list of strings")
        wanted = frozenset(value)
        return lambda r: getattr(r, name) in wanted
    if not isinstance(value, str):
        raise FilterError(f"filter.{name} with operator eq needs a string")
    return lambda r: getattr(r, name) == value


def _tags_condition(op: str, value: Any) -> Predicate:
    # the published documents give the tags' value as an object of tags for both operators; a
    # bare string is refused like any other value of the wrong type (platform-contract.md)
    if not isinstance(value, dict):
        raise FilterError('filter.tags needs an object of tags, such as {"fleet": "north"}')
    if not all(isinstance(v, str) for v in value.values()):
        raise FilterError("filter.tags: every tag value must be a string")
    pairs: dict[str, str] = value
    if op == "eq":
        return lambda r: r.tags == pairs
    return lambda r: all(r.tags.get(k) == v for k, v in pairs.items())


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _time_condition(name: str, op: str, value: Any) -> Predicate:
    when = _parse_time(value)
    if when is None:
        raise FilterError(f"filter.{name} needs an ISO-8601 time")
    try:
        limit = round(when.timestamp() * 1000)  # the wire shows milliseconds: compare those
    except (OverflowError, ValueError, OSError):
        raise FilterError(f"filter.{name}: the time is out of range") from None
    compare: dict[str, Callable[[int], bool]] = {
        "eq": lambda t: t == limit,
        "lt": lambda t: t < limit,
        "gt": lambda t: t > limit,
        "lte": lambda t: t <= limit,
        "gte": lambda t: t >= limit,
    }
    test = compare[op]

    def keep(record: Record) -> bool:
        at = record.approved_at if name == "approved_at" else record.created_at
        return at is not None and test(wire_ms(at))

    return keep
