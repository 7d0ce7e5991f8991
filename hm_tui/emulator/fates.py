"""What happens to a clearance after it is added: a deterministic, brand-appropriate fate.

A fate is a list of steps `(delay_s, status, reason)` measured in virtual seconds from the moment
the clearance was added. Decisions (the platform's behaviour, docs/platform.md#fleet-clearances):

- activation delay by brand: sandbox seconds; Tesla and Mercedes-Benz minutes to hours; BMW Group
  and Stellantis hours; VW Group hours to days; other brands half an hour to a day;
- most clearances are approved; the rest are rejected with a reason the brand can give
  (`hm_tui.domain.reasons.reasons_for`);
- VW Group without `vw-group-customer-name` is rejected with `customer name tag missing`;
- some VW Group cars sit in `pending` with `privacy mode is enabled`, then are rejected with it;
- sandbox virtual VINs: `…001` is approved only with `control_measures.odometer` of 2050 km
  (1274 mi also accepted), otherwise rejected with `unspecified` (the platform documents only the
  success case; this is ours); `…002` stays pending forever; `…003` is rejected 3 h after it was
  added, with `unspecified`; any other sandbox VIN is approved within seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from typing import Any

from hm_tui.domain.brands import BRANDS, VW_CUSTOMER_TAG
from hm_tui.domain.reasons import reasons_for

VIRTUAL_ODOMETER = "2HM00000000000001"
VIRTUAL_PENDING = "2HM00000000000002"
VIRTUAL_REJECTED = "2HM00000000000003"
VIRTUAL_VINS = (VIRTUAL_ODOMETER, VIRTUAL_PENDING, VIRTUAL_REJECTED)

CUSTOMER_TAG_MISSING = "customer name tag missing"
PRIVACY_MODE = "privacy mode is enabled"
_SPECIAL = frozenset({CUSTOMER_TAG_MISSING, PRIVACY_MODE})

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0

#: (shortest, longest) activation delay per brand group, virtual seconds.
ACTIVATION_DELAY: dict[str, tuple[float, float]] = {
    "Sandbox": (2.0, 10.0),
    "Tesla": (5 * MINUTE, 3 * HOUR),
    "Mercedes-Benz": (5 * MINUTE, 3 * HOUR),
    "BMW Group": (1 * HOUR, 12 * HOUR),
    "Stellantis": (1 * HOUR, 12 * HOUR),
    "VW Group": (2 * HOUR, 4 * DAY),
}
OTHER_DELAY = (30 * MINUTE, 1 * DAY)
REMOVAL_DELAY = (30.0, 5 * MINUTE)  # revoking -> revoked, canceling -> canceled
REJECT_SHARE = 0.10
PRIVACY_SHARE = 0.08


@dataclass(frozen=True, slots=True)
class Step:
    delay: float
    status: str
    reason: str | None = None


def fate_rng(seed: int, vin: str, generation: int) -> random.Random:
    """The per-clearance random source: the same seed, VIN and attempt give the same fate."""
    return random.Random(f"{seed}:{vin}:{generation}")


def activation_delay(brand: str, rng: random.Random) -> float:
    info = BRANDS.get(brand)
    low, high = ACTIVATION_DELAY.get(info.group if info else "", OTHER_DELAY)
    # skewed towards the short end: most cars activate early, a tail takes long
    return low + (high - low) * rng.random() ** 2


@cache
def _rejection_choices(brand: str) -> tuple[str, ...]:
    return tuple(r.text for r in reasons_for(brand) if r.text not in _SPECIAL) or ("unspecified",)


def rejection_reason(brand: str, rng: random.Random) -> str:
    return rng.choice(_rejection_choices(brand))


def odometer_matches(control_measures: dict[str, Any] | None) -> bool:
    """True when the control measure proves the sandbox car's odometer (2050 km)."""
    odometer = (control_measures or {}).get("odometer")
    if not isinstance(odometer, dict):
        return False
    value, unit = odometer.get("value"), odometer.get("unit")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    km = value * 1.609344 if unit == "miles" else value if unit == "kilometers" else None
    return km is not None and abs(km - 2050) <= 1.0


def decide_fate(
    vin: str,
    brand: str,
    tags: dict[str, str],
    control_measures: dict[str, Any] | None,
    rng: random.Random,
) -> list[Step]:
    """The steps a freshly added (pending) clearance will go through."""
    if brand == "sandbox":
        return _sandbox_fate(vin, control_measures, rng)
    info = BRANDS.get(brand)
    if info is not None and VW_CUSTOMER_TAG in info.required_tags and not tags.get(VW_CUSTOMER_TAG):
        return [Step(rng.uniform(1 * MINUTE, 20 * MINUTE), "rejected", CUSTOMER_TAG_MISSING)]
    delay = activation_delay(brand, rng)
    if info is not None and info.group == "VW Group" and rng.random() < PRIVACY_SHARE:
        noticed = rng.uniform(10 * MINUTE, 2 * HOUR)
        return [
            Step(noticed, "pending", PRIVACY_MODE),
            Step(noticed + rng.uniform(2 * DAY, 5 * DAY), "rejected", PRIVACY_MODE),
        ]
    if rng.random() < REJECT_SHARE:
        return [Step(delay, "rejected", rejection_reason(brand, rng))]
    return [Step(delay, "approved")]


def _sandbox_fate(
    vin: str, control_measures: dict[str, Any] | None, rng: random.Random
) -> list[Step]:
    if vin == VIRTUAL_PENDING:
        return []
    if vin == VIRTUAL_REJECTED:
        return [Step(3 * HOUR, "rejected", "unspecified")]
    delay = rng.uniform(*ACTIVATION_DELAY["Sandbox"])
    if vin == VIRTUAL_ODOMETER and not odometer_matches(control_measures):
        return [Step(delay, "rejected", "unspecified")]
    return [Step(delay, "approved")]


def removal_delay(rng: random.Random) -> float:
    return rng.uniform(*REMOVAL_DELAY)
