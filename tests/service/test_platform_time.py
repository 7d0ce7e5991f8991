"""The platform's "now": our clock unless what the platform shows us is ahead of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hm_tui.service.models import ChangelogEntry, Clearance
from hm_tui.service.platform.clock import ServerClock, elapsed_s, newest_change, platform_now

WALL = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_our_clock_counts_unless_the_platform_is_ahead() -> None:
    behind, ahead = WALL - timedelta(hours=1), WALL + timedelta(seconds=90)
    assert platform_now(None, behind, wall=WALL) == WALL
    assert platform_now(behind, ahead, None, wall=WALL) == ahead
    server = WALL + timedelta(hours=3)  # an emulator at --speed: its Date header is its clock
    assert platform_now(behind, server=server, wall=WALL) == server
    assert platform_now(server + timedelta(seconds=1), server=server, wall=WALL) == server + (
        timedelta(seconds=1)
    )


def test_a_timestamp_from_the_future_moves_no_clock_and_its_age_is_unknown() -> None:
    future = datetime(2030, 1, 1, tzinfo=UTC)
    assert platform_now(future, wall=WALL) == WALL
    assert platform_now(future, server=WALL + timedelta(hours=1), wall=WALL) == WALL + timedelta(
        hours=1
    )
    assert elapsed_s(future, WALL) is None
    assert elapsed_s(WALL + timedelta(seconds=30), WALL) == 0.0  # a small lead reads as 0
    assert elapsed_s(WALL - timedelta(minutes=5), WALL) == 300.0
    assert elapsed_s(None, WALL) is None


def test_a_date_header_out_of_range_is_ignored() -> None:
    clock = ServerClock(lambda: 0.0)
    clock.observe("Fri, 31 Dec 9999 23:59:59 -0100")
    assert clock.now() is None


def test_the_date_header_moves_on_with_our_monotonic_clock() -> None:
    ticks = [100.0]
    clock = ServerClock(lambda: ticks[0])
    assert clock.now() is None
    clock.observe("Fri, 01 May 2026 15:00:00 GMT")
    ticks[0] += 42
    assert clock.now() == datetime(2026, 5, 1, 15, 0, 42, tzinfo=UTC)
    clock.observe("not a date")  # ignored: the last good one still counts
    assert clock.now() == datetime(2026, 5, 1, 15, 0, 42, tzinfo=UTC)


def test_the_newest_change_of_a_list_is_a_lower_bound() -> None:
    entries = [
        ChangelogEntry("2026-05-01T10:00:00Z", "pending"),
        ChangelogEntry("2026-05-01T11:30:00Z", "approved"),
    ]
    fleet = [
        Clearance("A", "pending", changelog=entries[:1]),
        Clearance("B", "approved", changelog=entries),
        Clearance("C", "pending"),
    ]
    assert newest_change(fleet) == datetime(2026, 5, 1, 11, 30, tzinfo=UTC)
    assert newest_change([]) is None
