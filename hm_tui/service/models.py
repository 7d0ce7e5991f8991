"""Wire models of the platform, tolerant of unknown fields, statuses, brands and reasons."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from hm_tui.domain.timestamps import parse_time


class ChangelogEntry(msgspec.Struct, frozen=True, gc=False):
    """One status change. Not tracked by the cyclic GC (it can hold no cycle): a fleet of them
    costs the collector nothing."""

    timestamp: str
    status: str
    reason: str | None = None

    @property
    def at(self) -> datetime | None:
        return parse_time(self.timestamp)


class Clearance(msgspec.Struct, gc=False):
    """One clearance as the list and get-one calls return it (untracked by the cyclic GC: it
    holds strings, a dict of strings and a list of entries, never a cycle)."""

    vin: str
    status: str
    brand: str = ""
    tags: dict[str, str] = {}
    changelog: list[ChangelogEntry] = []

    @property
    def reason(self) -> str | None:
        """The reason of the latest changelog entry, if any."""
        return self.changelog[-1].reason if self.changelog else None

    @property
    def since(self) -> datetime | None:
        """When the clearance entered its current status (latest changelog entry)."""
        return self.changelog[-1].at if self.changelog else None

    @property
    def created_at(self) -> datetime | None:
        """When the current clearance started (latest `pending` entry, else the first entry)."""
        for entry in reversed(self.changelog):
            if entry.status == "pending":
                return entry.at
        return self.changelog[0].at if self.changelog else None


_CLEARANCES = msgspec.json.Decoder(list[Clearance]).decode
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw]).decode
_CLEARANCE = msgspec.json.Decoder(Clearance).decode


def decode_clearance_array(array: bytes | memoryview) -> tuple[list[Clearance], list[int] | None]:
    """A JSON array of clearances: the ones that fit the model, and their positions (None: all
    fit). One bad item must not hide the rest: then each item is decoded alone. (A bad item is
    one that does not fit, is nested too deeply, or holds bytes that are not UTF-8: the list's
    split does not read inside strings, so those surface here, one item at a time.)"""
    try:
        return _CLEARANCES(array), None
    except (msgspec.DecodeError, RecursionError):  # (a field it skips may be nested deep)
        good: list[Clearance] = []
        positions: list[int] = []
        try:
            items = _RAW_LIST(array)
        except RecursionError:
            return good, positions
        for at, item in enumerate(items):
            try:
                good.append(_CLEARANCE(item))
            except (msgspec.DecodeError, RecursionError):
                continue
            positions.append(at)
        return good, positions


class ControlMeasures(msgspec.Struct, omit_defaults=True):
    odometer: dict[str, Any] | None = None


class NewClearance(msgspec.Struct, omit_defaults=True):
    """One item of a POST /v1/fleets/vehicles body."""

    vin: str
    brand: str
    tags: dict[str, str] | None = None
    control_measures: ControlMeasures | None = None


#: Statuses of an add's item the platform never answered (the add was stopped half-way): its
#: request never left (`NOT_SENT`), or was out when the stop came (`NO_ANSWER`: the platform may
#: have taken it; adding it again is safe, docs/platform.md#states).
NOT_SENT = "not sent"
NO_ANSWER = "no answer"
_NOT_ADDED = frozenset({"error", NOT_SENT, NO_ANSWER})


class ItemResult(msgspec.Struct):
    """One item of a POST response: a status, or `error` with a description (or, for an add
    stopped half-way, `NOT_SENT` / `NO_ANSWER`)."""

    vin: str
    status: str
    description: str | None = None
    tags: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        return self.status not in _NOT_ADDED


class RemovalResult(msgspec.Struct):
    """The DELETE response."""

    vin: str
    status: str
    tags: dict[str, str] | None = None


class Eligibility(msgspec.Struct):
    vin: str
    eligible: bool
    data_delivery: list[str] = []
    connectivity_status: str | None = None
    primary_user_assigned: bool | None = None


@dataclass(frozen=True, slots=True)
class DataPoint:
    """One value of one property of one car, from the MQTT feed or the Vehicle Data API."""

    vin: str
    capability: str
    property: str
    value: Any  # number, str, bool, dict (coordinates, lock, ...) or list
    unit: str | None
    timestamp: datetime | None
    message_id: str | None = None
    failure: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: delivered from the persistent MQTT session's queue at a (re)connect, not live
    #: (the rule: service/feed/health.py, `Backlog`)
    replayed: bool = False

    @builtins.property  # the field `property` shadows the builtin inside this class
    def key(self) -> str:
        return f"{self.capability}.{self.property}"


def combined(points: list[DataPoint]) -> DataPoint:
    """A `multiple` property (doors.locks: one item per door) as one point holding a list (one
    item: that point). The feed and the Vehicle Data API read them alike."""
    if len(points) == 1:
        return points[0]
    first = points[0]
    units = {point.unit for point in points}
    stamps = [point.timestamp for point in points if point.timestamp is not None]
    failures = [point.failure for point in points if point.failure]
    return DataPoint(
        vin=first.vin,
        capability=first.capability,
        property=first.property,
        value=[point.value for point in points],
        unit=units.pop() if len(units) == 1 else None,
        timestamp=max(stamps) if stamps else None,
        message_id=first.message_id,
        failure=failures[0] if failures else None,
        received_at=first.received_at,
        replayed=first.replayed,
    )


@dataclass(slots=True)
class VehicleData:
    """The Vehicle Data API answer: the raw JSON and its data points."""

    vin: str
    brand: str | None
    request_id: str | None
    points: list[DataPoint]
    raw: dict[str, Any]
