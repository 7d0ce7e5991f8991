"""How an activation campaign is going: pure arithmetic over clearances, for the dashboard's
summary screen and `hm-tui vins summary`.

A campaign is any set of clearances: the whole fleet, a filter's, or one add from the journal.
Its summary: a brand × status table; rejections grouped by reason with what to do; time pending
per brand with an expected approval time; approvals and rejections over time; x of n decided.

The expected approval time is read from the approvals seen so far: every changelog step
pending → approved gives one duration; per brand (and over all brands) their median and 90th
percentile, with how many there were. Below `MIN_SAMPLES` durations a brand's estimate is "not
enough data": a median of two says nothing about the next car.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hm_tui.domain.clearance import STATUS_ORDER
from hm_tui.domain.durations import compact_or_dash
from hm_tui.domain.reasons import explain

MIN_SAMPLES = 5
ALL_BRANDS = "all brands"
BUCKETS = 24


@dataclass(frozen=True, slots=True)
class Car:
    """What the summary needs of one clearance. `steps`: its changelog as (epoch second,
    status), oldest first; `since`: when it entered its current status."""

    vin: str
    brand: str
    status: str
    reason: str | None
    since: float
    steps: tuple[tuple[float, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Spread:
    """Durations in seconds: how many, their median and 90th percentile (None: none)."""

    n: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        ordered = sorted(values)
        return cls(len(ordered), percentile(ordered, 50), percentile(ordered, 90))

    @property
    def enough(self) -> bool:
        return self.n >= MIN_SAMPLES


@dataclass(frozen=True, slots=True)
class ReasonGroup:
    reason: str
    count: int
    brands: dict[str, int]
    meaning: str
    action: str
    known: bool


@dataclass(frozen=True, slots=True)
class PendingBrand:
    """The pending clearances of one brand: their time pending, and the approval durations
    seen for the brand (`approval`; `estimate_from` names whose durations the estimate uses:
    the brand's own, or all brands' when the brand has too few)."""

    brand: str
    pending: Spread
    approval: Spread
    estimate_from: str


@dataclass(frozen=True, slots=True)
class Timeline:
    """Decisions per time bucket: `start` (epoch second) of the first bucket, `bucket_s` wide."""

    start: float
    bucket_s: float
    approved: tuple[int, ...]
    rejected: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Summary:
    total: int
    decided: int
    by_status: dict[str, int]
    table: dict[str, dict[str, int]]  # brand -> status -> count, brands by size
    rejections: list[ReasonGroup]
    pending: list[PendingBrand]
    approvals: dict[str, Spread]  # brand (and ALL_BRANDS) -> pending → approved durations
    timeline: Timeline
    statuses: list[str] = field(default_factory=list)  # the table's columns, in order


def decided_percent(s: Summary) -> int:
    """The share decided, in whole percent rounded down: 315 of 316 is 99%, never 100% while
    one is still pending."""
    return 100 * s.decided // s.total if s.total else 0


def percentile(ordered: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None for none)."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


def approval_durations(car: Car) -> list[float]:
    """Each pending → approved step of the changelog, in seconds."""
    out = []
    for (was_at, was), (at, status) in zip(car.steps, car.steps[1:], strict=False):
        if was == "pending" and status == "approved" and at >= was_at:
            out.append(at - was_at)
    return out


def summarise(cars: Iterable[Car], now: float, *, buckets: int = BUCKETS) -> Summary:
    """The campaign's summary at `now` (the platform's clock, epoch seconds)."""
    cars = list(cars)
    by_status = Counter(car.status for car in cars)
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for car in cars:
        table[car.brand][car.status] += 1
    approvals = _approvals(cars)
    ordered = sorted(table, key=lambda brand: (-sum(table[brand].values()), brand))
    known = [str(s) for s in STATUS_ORDER]
    statuses = [s for s in known if by_status[s]] + sorted(set(by_status) - set(known))
    return Summary(
        total=len(cars),
        decided=len(cars) - by_status["pending"],
        by_status=dict(by_status),
        table={brand: dict(table[brand]) for brand in ordered},
        rejections=_rejections(cars),
        pending=_pending(cars, now, approvals),
        approvals=approvals,
        timeline=timeline(cars, now, buckets),
        statuses=statuses,
    )


def _approvals(cars: list[Car]) -> dict[str, Spread]:
    durations: dict[str, list[float]] = defaultdict(list)
    for car in cars:
        found = approval_durations(car)
        durations[car.brand] += found
        durations[ALL_BRANDS] += found
    return {brand: Spread.of(values) for brand, values in durations.items()}


def _rejections(cars: list[Car]) -> list[ReasonGroup]:
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for car in cars:
        if car.status == "rejected":
            groups[car.reason or "no reason given"][car.brand] += 1
    out = []
    for reason, brands in sorted(groups.items(), key=lambda g: (-sum(g[1].values()), g[0])):
        explained = explain(reason if reason != "no reason given" else None)
        out.append(
            ReasonGroup(
                reason,
                sum(brands.values()),
                dict(brands.most_common()),
                explained.meaning if explained else "The platform gave no reason.",
                explained.action if explained else "Open one of them: its history may tell.",
                explained.known if explained else False,
            )
        )
    return out


def _pending(cars: list[Car], now: float, approvals: dict[str, Spread]) -> list[PendingBrand]:
    ages: dict[str, list[float]] = defaultdict(list)
    for car in cars:
        if car.status == "pending":
            ages[car.brand].append(max(0.0, now - car.since))
    everyone = approvals.get(ALL_BRANDS, Spread(0, None, None))
    out = []
    for brand, values in sorted(ages.items(), key=lambda item: (-len(item[1]), item[0])):
        own = approvals.get(brand, Spread(0, None, None))
        use_own = own.enough or not everyone.enough
        out.append(
            PendingBrand(
                brand,
                Spread.of(values),
                own if use_own else everyone,
                brand if use_own else ALL_BRANDS,
            )
        )
    return out


def timeline(cars: list[Car], now: float, buckets: int = BUCKETS) -> Timeline:
    """Approvals and rejections per bucket, from when the campaign's clearances were added (the
    5th percentile of their latest `pending` step: a few old clearances do not stretch the
    chart over a year) to `now`. Decisions before that count in the first bucket."""
    decisions = [
        (at, status)
        for car in cars
        for at, status in car.steps
        if status in ("approved", "rejected") and at <= now
    ]
    added = sorted(_added_at(car) for car in cars if car.steps)
    first = percentile(added, 5)
    start = now if first is None else min(first, now)
    span = max(now - start, 60.0)
    size = span / buckets
    approved, rejected = [0] * buckets, [0] * buckets
    for at, status in decisions:
        slot = min(buckets - 1, max(0, int((at - start) // size)))
        (approved if status == "approved" else rejected)[slot] += 1
    return Timeline(start, size, tuple(approved), tuple(rejected))


def _added_at(car: Car) -> float:
    """When the current clearance was added: its latest `pending` step, else its first."""
    pending = [at for at, status in car.steps if status == "pending"]
    return pending[-1] if pending else car.steps[0][0]


def duration_text(seconds: float | None) -> str:
    """`45s`, `12m`, `3h30m`, `2d02h`: the one form (domain/durations.py); `-` for unknown."""
    return compact_or_dash(seconds)


def estimate_text(row: PendingBrand) -> str:
    """What the approvals seen say about this brand's pending cars, and how sure that is."""
    spread = row.approval
    if not spread.enough:
        return f"not enough data ({spread.n} approval(s) seen; {MIN_SAMPLES} needed)"
    whose = "" if row.estimate_from == row.brand else f", from {ALL_BRANDS}"
    return (
        f"~{duration_text(spread.median)} after adding, 90% within "
        f"{duration_text(spread.p90)} (n={spread.n}{whose})"
    )
