"""Bulk fixes of ended clearances: which VINs to add again, with what, and why the others are not.

Two fixes: "add again" (a retry: the same brand and tags as the clearance has) and "add again with
the VW Group customer name" (the tag `vw-group-customer-name` set on the VW Group rows, their other
tags kept; other brands are left alone). Only an ended clearance (rejected, revoked, canceled) is
sent: adding an active one again changes nothing on the platform. Pure: the plan is what the
confirmation shows line by line and what the session then sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from hm_tui.domain.brands import BRANDS, VW_CUSTOMER_TAG
from hm_tui.domain.clearance import ENDED

#: The reason the platform gives a VW Group clearance added without the customer name tag.
TAG_MISSING_REASON = "customer name tag missing"


class ClearanceLike(Protocol):
    """What a plan reads of a clearance (the service's `Clearance` has it)."""

    @property
    def vin(self) -> str: ...

    @property
    def brand(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def tags(self) -> Mapping[str, str]: ...

    @property
    def reason(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Readd:
    """One VIN of a bulk fix: sent (with `brand` and `tags`: its others kept) or not, and what
    happens to it, in words."""

    vin: str
    brand: str
    status: str
    tags: dict[str, str]
    send: bool
    what: str
    #: sent, but likely to be rejected again for the same reason (said, not prevented)
    doubt: str = ""


def is_vw_group(brand: str) -> bool:
    info = BRANDS.get(brand)
    return info is not None and VW_CUSTOMER_TAG in info.required_tags


def plan_readd(
    clearances: Iterable[ClearanceLike | None],
    vins: Iterable[str],
    customer: str | None = None,
) -> list[Readd]:
    """Each of `vins` (in order, once) with its clearance (None: not in the roster). `customer`:
    the "with tag" fix (only VW Group rows sent, the tag set to it); None: the plain retry."""
    by_vin = {c.vin: c for c in clearances if c is not None}
    plans = []
    for vin in dict.fromkeys(vins):
        clearance = by_vin.get(vin)
        if clearance is None:
            plans.append(Readd(vin, "", "?", {}, False, "not in the roster: nothing to retry"))
        else:
            plans.append(_plan_one(clearance, customer))
    return plans


def _plan_one(c: ClearanceLike, customer: str | None) -> Readd:
    tags = dict(c.tags or {})
    status = c.status
    if status not in ENDED:
        what = f"skipped: {status}, the platform holds it already (adding it again changes nothing)"
        return Readd(c.vin, c.brand, status, tags, False, what)
    if customer is not None:
        if not is_vw_group(c.brand):
            what = f"skipped: not a VW Group brand ({VW_CUSTOMER_TAG} is for VW Group)"
            return Readd(c.vin, c.brand, status, tags, False, what)
        old = tags.get(VW_CUSTOMER_TAG)
        tags[VW_CUSTOMER_TAG] = customer
        if old is not None and old != customer:
            what = f"add again, tag {old!r} -> {customer!r}"
        else:
            what = f"add again, tagged {customer!r}"
        return Readd(c.vin, c.brand, status, tags, True, what)
    return Readd(c.vin, c.brand, status, tags, True, "add again as it was", _doubt(c, tags))


def _doubt(c: ClearanceLike, tags: Mapping[str, str]) -> str:
    if is_vw_group(c.brand) and not tags.get(VW_CUSTOMER_TAG):
        return f"no {VW_CUSTOMER_TAG}: will be rejected again (use the fix with the tag)"
    return ""


def readd_counts(plans: Iterable[Readd]) -> tuple[int, int]:
    """(sent, skipped)."""
    plans = list(plans)
    sent = sum(1 for p in plans if p.send)
    return sent, len(plans) - sent
