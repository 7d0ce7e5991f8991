"""The metrics' pure parts: fleet figures with bounded labels, quantiles, lost connections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from hm_tui.service.metrics.feed import ConnectionWatch
from hm_tui.service.metrics.fleet import fleet_figures, quantile, reason_label
from hm_tui.service.models import ChangelogEntry, Clearance
from hm_tui.service.roster.entry import ENCODE_ONE, make_entry

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC).timestamp()


def entry(vin: str, status: str, brand: str, *, age_s: float = 0.0, reason: str | None = None):
    at = datetime.fromtimestamp(NOW - age_s, UTC).isoformat()
    c = Clearance(vin, status, brand, {}, [ChangelogEntry(at, status, reason)])
    return make_entry(c, ENCODE_ONE(c), None, NOW)


def test_clearances_count_by_status_and_brand_with_unknown_values_as_other() -> None:
    figures = fleet_figures(
        [
            entry("V1", "approved", "bmw"),
            entry("V2", "approved", "bmw"),
            entry("V3", "approved", "a brand nobody knows"),
            entry("V4", "hovering", "bmw"),
        ],
        NOW,
    )
    assert figures.clearances == {
        ("approved", "bmw"): 2,
        ("approved", "other"): 1,
        ("other", "bmw"): 1,
    }


def test_rejections_by_catalogue_reason_unknown_ones_as_other_and_none() -> None:
    figures = fleet_figures(
        [
            entry("V1", "rejected", "bmw", reason="invalid VIN"),
            entry("V2", "rejected", "kia", reason=" invalid VIN "),
            entry("V3", "rejected", "kia", reason="WBA3A5C53CF256985 refused by the OEM"),
            entry("V4", "rejected", "kia"),
        ],
        NOW,
    )
    assert figures.rejected == {"invalid VIN": 2, "other": 1, "none": 1}
    assert reason_label("") == "none"


def test_pending_ages_by_brand_median_p90_and_oldest_on_the_given_clock() -> None:
    ages = [60.0 * n for n in range(1, 11)]  # 1 to 10 minutes
    entries = [entry(f"V{n}", "pending", "bmw", age_s=a) for n, a in enumerate(ages)]
    entries.append(entry("X", "pending", "kia", age_s=-30))  # the clock a little behind
    figures = fleet_figures(entries, NOW)
    bmw = figures.pending["bmw"]
    assert bmw.count == 10
    assert bmw.quantiles[0.5] == pytest.approx(330.0)
    assert bmw.quantiles[0.9] == pytest.approx(546.0)
    assert bmw.quantiles[1.0] == pytest.approx(600.0)
    assert figures.pending["kia"].quantiles == {0.5: 0.0, 0.9: 0.0, 1.0: 0.0}
    assert "approved" not in str(figures.pending)


def test_quantile_interpolates_and_refuses_nothing() -> None:
    assert quantile([5.0], 0.9) == 5.0
    assert quantile([0.0, 10.0], 0.5) == 5.0
    with pytest.raises(ValueError):
        quantile([], 0.5)


@dataclass(frozen=True)
class State:
    status: str = "stopped"
    received: int = 0
    last_error: str | None = None


class Feed:
    """What FeedWatch reads of a feed: its state, and drain() (counted)."""

    def __init__(self) -> None:
        self.state = State()
        self.drained = 0

    def drain(self, max_items: int) -> list[object]:
        self.drained += 1
        return []


def test_connection_watch_counts_lost_connections_not_stops() -> None:
    feed = Feed()
    watch = ConnectionWatch(feed, drain=True)
    for state in (
        State("connecting"),
        State("connected", 5),
        State("retrying", 5, "connection lost: unspecified error"),
        State("connected", 5),
        State("unresponsive", 5, "no answer from the broker for over 45 s"),
        State("retrying", 5, "connection lost"),
        State("connected", 5),
        State("taken over", 5, "another client using this certificate took the MQTT session"),
        State("connected", 5),
        State("stopped", 5),  # stopped by its owner: not lost
        State("connecting", 5),
        State("connected", 5),
        State("stopped", 5, "the feed process ended unexpectedly"),
    ):
        feed.state = state
        watch.sample()
    assert watch.disconnects == 4
    assert feed.drained == 13  # one drain per reading
