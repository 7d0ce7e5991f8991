"""The simulated fleet (`--fleet N --seed S`): realistic VINs, tags and a history of states.

Deterministic: the same N and seed give the same VINs, tags and changelogs (relative to the
start time). Each car was added some time ago and has lived through its fate up to now; what is
still ahead of it (pending activations) sits in the state machine's heap. A few approved cars were
later revoked, a few long-pending cancel-capable ones canceled. The three sandbox virtual VINs are
always there: …001 approved (added with its odometer), …002 pending, …003 rejected.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Sequence
from typing import TypeVar

from hm_tui.domain.brands import BRANDS, VW_CUSTOMER_TAG
from hm_tui.domain.vin import with_check_digit
from hm_tui.emulator.fates import (
    DAY,
    HOUR,
    VIRTUAL_ODOMETER,
    VIRTUAL_PENDING,
    VIRTUAL_REJECTED,
    decide_fate,
    removal_delay,
)
from hm_tui.emulator.state import FleetState, Record

#: Relative share of each brand in a typical European corporate fleet.
BRAND_WEIGHTS: dict[str, int] = {
    "volkswagen": 18,
    "bmw": 10,
    "mercedes-benz": 10,
    "audi": 7,
    "skoda": 7,
    "tesla": 6,
    "ford": 5,
    "peugeot": 4,
    "opel": 4,
    "renault": 4,
    "toyota": 4,
    "seat": 2,
    "cupra": 2,
    "kia": 2,
    "volvo-cars": 2,
    "mini": 2,
    "citroen": 2,
    "fiat": 1,
    "jeep": 1,
    "polestar": 1,
    "porsche": 1,
    "nissan": 1,
    "dacia": 1,
    "vauxhall": 1,
    "lexus": 1,
    "ds": 1,
    "alfaromeo": 1,
    "maserati": 1,
    "sandbox": 1,
}
SUB_FLEETS = ("north", "south", "east", "west", "pool", "vans", "executive")
CUSTOMER_NAME = "Acme Mobility GmbH"
_VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
_YEARS = "KLMNPRST"  # model years 2019-2026
_BRAND_POOL = tuple(brand for brand, weight in BRAND_WEIGHTS.items() for _ in range(weight))
_VW = frozenset(b for b, info in BRANDS.items() if VW_CUSTOMER_TAG in info.required_tags)
T = TypeVar("T")
VW_TAGGED_SHARE = 0.9
REVOKED_SHARE = 0.03
CANCELED_SHARE = 0.3  # of cancel-capable cars still pending after two days


def _pick(seq: Sequence[T], rng: random.Random) -> T:
    """`rng.choice` without its overhead (the fleet draws millions of these)."""
    return seq[int(rng.random() * len(seq))]


def make_vin(brand: str, rng: random.Random) -> str:
    """A plausible VIN: the brand's WMI, valid check digit for North-American WMIs."""
    if brand == "sandbox":
        return f"2HM{int(rng.random() * 9e13) + 10**13}"
    r, chars = rng.random, _VIN_CHARS  # (a million cars draw eleven million of these)
    wmi = _pick(BRANDS[brand].wmi, rng)
    vds = f"{chars[int(r() * 33)]}{chars[int(r() * 33)]}{chars[int(r() * 33)]}" + (
        f"{chars[int(r() * 33)]}{chars[int(r() * 33)]}"
    )
    serial = f"{int(r() * 1e6):06d}"
    year, plant = _YEARS[int(r() * 8)], chars[int(r() * 33)]
    vin = f"{wmi}{vds}{int(r() * 10)}{year}{plant}{serial}"
    return with_check_digit(vin) if wmi[0] in "12345" else vin


def make_tags(brand: str, rng: random.Random) -> dict[str, str]:
    """A car's tags. Cars with the same tags share one dict (a million cars have ~13,000
    distinct sets): nothing changes a record's tags in place, an add or a change replaces them."""
    cost_centre = _COST_CENTRES[int(rng.random() * 900)]
    sub_fleet = _pick(SUB_FLEETS, rng)
    customer = brand in _VW and rng.random() < VW_TAGGED_SHARE
    key = (sub_fleet, cost_centre, customer)
    tags = _TAG_SETS.get(key)
    if tags is None:
        tags = {"sub-fleet": sub_fleet, "cost-centre": cost_centre}
        if customer:
            tags[VW_CUSTOMER_TAG] = CUSTOMER_NAME
        _TAG_SETS[key] = tags
    return tags


_COST_CENTRES = tuple(f"CC-{100 + n}" for n in range(900))
_TAG_SETS: dict[tuple[str, str, bool], dict[str, str]] = {}


def added_ago(rng: random.Random) -> float:
    """How long ago a car was added: most long ago, a third within the last few days."""
    if rng.random() < 0.3:
        return rng.uniform(0.05 * HOUR, 5 * DAY)
    return rng.uniform(5 * DAY, 400 * DAY)


def populate(state: FleetState, size: int, seed: int, now: float) -> None:
    """Fill `state` with `size` simulated cars plus the three virtual VINs (none if size is 0)."""
    if size <= 0:
        return
    rng = random.Random(seed)
    seen: set[str] = set()
    was_enabled = gc.isenabled()
    gc.disable()  # millions of objects, no cycle among them: collections would only walk them
    try:
        while len(seen) < size:
            brand = _pick(_BRAND_POOL, rng)
            vin = make_vin(brand, rng)
            if vin in seen:
                continue
            seen.add(vin)
            _add_car(state, vin, brand, make_tags(brand, rng), now - added_ago(rng), now, rng)
        _add_virtual_vins(state, now)
    finally:
        if was_enabled:
            gc.freeze()  # (they live as long as the emulator: out of the collector's way)
            gc.enable()


def _add_car(
    state: FleetState,
    vin: str,
    brand: str,
    tags: dict[str, str],
    created: float,
    now: float,
    rng: random.Random,
) -> None:
    record = Record(vin, brand, tags, [(created, "pending", None)], created)
    steps = decide_fate(vin, brand, tags, None, rng)
    past = [s for s in steps if created + s.delay <= now]
    for step in past:
        record.changelog.append((created + step.delay, step.status, step.reason))
    _later_removal(record, now, rng)
    still_pending = record.status == "pending"
    state.insert(record, steps[len(past) :] if still_pending else ())


def _later_removal(record: Record, now: float, rng: random.Random) -> None:
    """Some approved cars were revoked since; some long-pending ones canceled."""
    last = record.changelog[-1][0]
    if record.status == "approved" and rng.random() < REVOKED_SHARE and now - last > DAY:
        start = rng.uniform(last + HOUR, now - HOUR)
        record.changelog.append((start, "revoking", None))
        record.changelog.append((start + removal_delay(rng), "revoked", None))
    elif (
        record.status == "pending"
        and BRANDS[record.brand].can_cancel
        and now - record.created_at > 2 * DAY
        and rng.random() < CANCELED_SHARE
    ):
        start = rng.uniform(record.created_at + DAY, now - HOUR)
        record.changelog.append((start, "canceling", None))
        record.changelog.append((start + removal_delay(rng), "canceled", None))


def _add_virtual_vins(state: FleetState, now: float) -> None:
    odometer = {"odometer": {"value": 2050, "unit": "kilometers"}}
    created = now - 30 * DAY
    approved = Record(
        VIRTUAL_ODOMETER,
        "sandbox",
        {"sub-fleet": "sandbox"},
        [(created, "pending", None), (created + 5, "approved", None)],
        created,
        control_measures=odometer,
    )
    waiting = Record(
        VIRTUAL_PENDING, "sandbox", {"sub-fleet": "sandbox"}, [(created, "pending", None)], created
    )
    rejected = Record(
        VIRTUAL_REJECTED,
        "sandbox",
        {"sub-fleet": "sandbox"},
        [(created, "pending", None), (created + 3 * HOUR, "rejected", "unspecified")],
        created,
    )
    for record in (approved, waiting, rejected):
        state.insert(record, ())
