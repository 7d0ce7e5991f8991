"""The feed's buffer: the newest point per VIN and property, bounded by VINs (the ones heard
from last) and by properties per VIN, so that a big fleet streaming for hours stays in budget."""

from __future__ import annotations

from datetime import UTC, datetime

from hm_tui.service.feed.buffer import LATEST_KEYS, PointBuffer
from hm_tui.service.models import DataPoint

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def point(vin: str, prop: str = "speed", value: float = 1.0) -> DataPoint:
    return DataPoint(
        vin=vin,
        capability="diagnostics",
        property=prop,
        value=value,
        unit=None,
        timestamp=NOW,
        message_id=None,
        failure=None,
        received_at=NOW,
    )


def vin(n: int) -> str:
    return f"WBA{n:014d}"


def test_the_newest_points_of_the_vins_heard_from_last_are_kept() -> None:
    buffer = PointBuffer(size=100, latest_vins=3)
    for n in range(4):
        buffer.keep([point(vin(n)), point(vin(n), "odometer")])
    buffer.keep([point(vin(1), value=2.0)])  # heard from again: kept longest now
    buffer.keep([point(vin(4))])
    assert buffer.vins() == [vin(3), vin(1), vin(4)]  # 0 went first, then 2
    assert buffer.latest(vin(2)) == {}
    assert buffer.latest(vin(1))["diagnostics.speed"].value == 2.0
    assert set(buffer.latest(vin(1))) == {"diagnostics.speed", "diagnostics.odometer"}


def test_a_car_sending_endless_new_property_names_is_capped() -> None:
    buffer = PointBuffer(size=10)
    buffer.keep([point(vin(0), f"p{n}") for n in range(LATEST_KEYS + 50)])
    kept = buffer.latest(vin(0))
    assert len(kept) == LATEST_KEYS
    buffer.keep([point(vin(0), "p0", value=9.0)])  # a known property still updates
    assert buffer.latest(vin(0))["diagnostics.p0"].value == 9.0


def test_with_no_latest_kept_only_the_batches_are() -> None:
    buffer = PointBuffer(size=10, latest_vins=0)
    buffer.keep([point(vin(0))])
    assert buffer.vins() == [] and len(buffer.take(10)) == 1
