"""The campaign summary's arithmetic: counts, reasons with their fix, time pending, expected
approval from the approvals seen (and when there are too few), decisions over time."""

from __future__ import annotations

from hm_tui.domain.campaign import (
    ALL_BRANDS,
    MIN_SAMPLES,
    Car,
    decided_percent,
    estimate_text,
    percentile,
    summarise,
)

H = 3600.0
NOW = 100 * H


def approved(vin: str, brand: str, added: float, took: float) -> Car:
    return Car(
        vin, brand, "approved", None, added + took, ((added, "pending"), (added + took, "approved"))
    )


def pending(vin: str, brand: str, added: float) -> Car:
    return Car(vin, brand, "pending", None, added, ((added, "pending"),))


def rejected(vin: str, brand: str, reason: str | None) -> Car:
    return Car(vin, brand, "rejected", reason, 90 * H, ((80 * H, "pending"), (90 * H, "rejected")))


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(n) for n in range(1, 11)], 90) == 9.0


def test_counts_reasons_and_progress() -> None:
    cars = [
        approved("A1", "bmw", 0, H),
        pending("P1", "bmw", 98 * H),
        rejected("R1", "audi", "customer name tag missing"),
        rejected("R2", "seat", "customer name tag missing"),
        rejected("R3", "kia", None),
    ]
    s = summarise(cars, NOW)
    assert (s.total, s.decided) == (5, 4)
    assert s.table["bmw"] == {"approved": 1, "pending": 1}
    assert s.statuses == ["pending", "approved", "rejected"]
    first = s.rejections[0]
    assert (first.reason, first.count, first.brands) == (
        "customer name tag missing",
        2,
        {"audi": 1, "seat": 1},
    )
    assert "vw-group-customer-name" in first.action
    assert s.rejections[1].reason == "no reason given"


def test_expected_approval_uses_the_brands_own_durations_when_there_are_enough() -> None:
    cars = [approved(f"B{n}", "bmw", 0, (n + 1) * H) for n in range(MIN_SAMPLES)]
    cars += [
        approved("K0", "kia", 0, 10 * H),
        pending("P1", "bmw", 99 * H),
        pending("P2", "kia", 97 * H),
    ]
    s = summarise(cars, NOW)
    bmw, kia = {row.brand: row for row in s.pending}["bmw"], {r.brand: r for r in s.pending}["kia"]
    assert (bmw.approval.n, bmw.approval.median, bmw.estimate_from) == (MIN_SAMPLES, 3 * H, "bmw")
    assert bmw.pending.median == H
    assert kia.estimate_from == ALL_BRANDS and kia.approval.n == MIN_SAMPLES + 1
    assert "from all brands" in estimate_text(kia)


def test_too_few_approvals_say_not_enough_data() -> None:
    s = summarise([approved("B1", "bmw", 0, H), pending("P1", "bmw", 99 * H)], NOW)
    assert estimate_text(s.pending[0]) == (
        f"not enough data (1 approval(s) seen; {MIN_SAMPLES} needed)"
    )


def test_decisions_over_time_land_in_their_buckets() -> None:
    cars = [approved(f"A{n}", "bmw", 50 * H, n * H) for n in range(1, 5)]
    s = summarise(cars, NOW, buckets=10)
    assert s.timeline.start == 50 * H and s.timeline.bucket_s == 5 * H
    assert s.timeline.approved == (4, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    assert sum(s.timeline.rejected) == 0


def test_the_share_decided_rounds_down_never_reading_100_with_one_pending() -> None:
    cars = [approved(f"A{n}", "bmw", 0, H) for n in range(315)] + [pending("P", "bmw", 99 * H)]
    assert decided_percent(summarise(cars, NOW)) == 99
    assert decided_percent(summarise(cars[:2] + cars[-1:], NOW)) == 66
    assert decided_percent(summarise([], NOW)) == 0
