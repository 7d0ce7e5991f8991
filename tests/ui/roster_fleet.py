"""A fixed fleet of real `Clearance` objects at a frozen time, for roster and snapshot tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hm_tui.domain.brands import BRAND_IDS
from hm_tui.service.models import ChangelogEntry, Clearance
from hm_tui.service.roster.model import Roster

#: The frozen "now" of these tests (platform time and wall time).
NOW = datetime(2025, 5, 1, 12, 0, 0, tzinfo=UTC)

_STATUSES = (
    "pending",
    "approved",
    "approved",
    "approved",
    "rejected",
    "revoked",
    "canceled",
    "revoking",
    "canceling",
)
_REASONS = (
    "customer name tag missing",
    "invalid VIN",
    "unspecified",
    "VIN is assigned to a different OEM fleet",
)


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def clearance(
    vin: str,
    status: str,
    brand: str = "bmw",
    *,
    reason: str | None = None,
    tags: dict[str, str] | None = None,
    minutes_in_state: int = 90,
) -> Clearance:
    """A clearance that went pending → `status` `minutes_in_state` minutes before NOW."""
    created = NOW - timedelta(minutes=minutes_in_state + 600)
    log = [ChangelogEntry(iso(created), "pending")]
    if status != "pending":
        log.append(ChangelogEntry(iso(NOW - timedelta(minutes=minutes_in_state)), status, reason))
    else:
        log = [ChangelogEntry(iso(NOW - timedelta(minutes=minutes_in_state)), "pending", reason)]
    return Clearance(vin=vin, status=status, brand=brand, tags=tags or {}, changelog=log)


def fleet(size: int, seed: int = 7) -> list[Clearance]:
    """`size` clearances, the same for the same seed."""
    rng = random.Random(seed)
    cars = []
    for i in range(size):
        status = rng.choice(_STATUSES)
        reason = rng.choice(_REASONS) if status == "rejected" else None
        tags = {"fleet": rng.choice(("north", "south", "rental"))} if i % 3 == 0 else {}
        cars.append(
            clearance(
                f"WBA{i:014d}",
                status,
                rng.choice(BRAND_IDS),
                reason=reason,
                tags=tags,
                minutes_in_state=rng.randint(1, 9000),
            )
        )
    return cars


def frozen_roster(clearances: list[Clearance] | None = None, size: int = 60) -> Roster:
    """A Roster whose own clock is frozen at NOW, filled with `clearances` (or a fleet)."""
    roster = Roster(clock=NOW.timestamp)
    roster.apply(clearances if clearances is not None else fleet(size), complete=True)
    return roster
