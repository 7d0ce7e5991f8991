"""The fleet's figures for the metrics endpoint, from the roster's entries: pure, no IO.

Label values come from short known lists only (a time series per label value: an unbounded one
would swamp the monitoring system): a brand outside the catalogue reads "other", a rejection
reason outside the reason catalogue "other", a rejection without a reason "none", a status
this version does not know "other". No VIN ever becomes a label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hm_tui.domain.brands import BRANDS
from hm_tui.domain.clearance import STATUS_ORDER
from hm_tui.domain.reasons import REASONS
from hm_tui.service.roster.entry import RosterEntry

OTHER = "other"
NO_REASON = "none"
#: The pending ages served per brand: the median, the 90th percentile and the oldest.
QUANTILES: tuple[float, ...] = (0.5, 0.9, 1.0)
_STATUSES = frozenset(STATUS_ORDER)


def status_label(status: str) -> str:
    return status if status in _STATUSES else OTHER


def brand_label(brand: str) -> str:
    return brand if brand in BRANDS else OTHER


def reason_label(reason: str | None) -> str:
    """The catalogue's wording of a rejection reason, "none" without one, else "other"."""
    if not reason or not reason.strip():
        return NO_REASON
    text = reason.strip()
    return text if text in REASONS else OTHER


@dataclass(frozen=True, slots=True)
class PendingAges:
    """How long one brand's pending clearances have waited, in seconds."""

    count: int
    quantiles: dict[float, float]


@dataclass(slots=True)
class FleetFigures:
    """What the roster holds now: clearances by (status, brand), rejected ones by reason, and
    the pending ages by brand."""

    clearances: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    pending: dict[str, PendingAges] = field(default_factory=dict)


def fleet_figures(entries: Iterable[RosterEntry], now_ts: float) -> FleetFigures:
    """One pass over the roster. `now_ts`: the platform's time in epoch seconds (time in state
    counts on its clock; an age below zero, a clock a little behind, counts as 0)."""
    figures = FleetFigures()
    waiting: dict[str, list[float]] = {}
    for entry in entries:
        status, brand = status_label(entry.status), brand_label(entry.brand)
        figures.clearances[status, brand] += 1
        if status == "rejected":
            figures.rejected[reason_label(entry.reason)] += 1
        elif status == "pending":
            waiting.setdefault(brand, []).append(max(0.0, now_ts - entry.since_ts))
    figures.pending = {brand: pending_ages(ages) for brand, ages in waiting.items()}
    return figures


def pending_ages(ages: list[float]) -> PendingAges:
    ages.sort()
    return PendingAges(len(ages), {q: quantile(ages, q) for q in QUANTILES})


def quantile(ordered: Sequence[float], q: float) -> float:
    """The `q` quantile of sorted values, interpolated between neighbours (q=1: the largest)."""
    if not ordered:
        raise ValueError("no values")
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
