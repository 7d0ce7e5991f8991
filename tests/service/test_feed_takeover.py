"""How the feed tells a takeover of its MQTT session from a lost connection (unit tests of the
pure classifier; the real brokers are in tests/reliability/test_feed_takeover.py)."""

from __future__ import annotations

from hm_tui.service.feed.takeover import (
    FIGHT_WINDOW_S,
    HOLD_OFF_MAX_S,
    HOLD_OFF_MIN_S,
    TakeoverWatch,
)


def test_a_network_error_or_a_failed_connection_is_just_lost() -> None:
    watch = TakeoverWatch()
    assert watch.dropped(5.0, closed_by_broker=True).kind == "lost"  # never connected
    watch.connected(10.0)
    assert watch.dropped(11.0, closed_by_broker=False).kind == "lost"
    watch.connected(12.0)
    assert watch.dropped(13.0, closed_by_broker=False).kind == "lost"
    assert watch.takeovers == 0


def test_one_close_by_the_broker_is_only_suspected() -> None:
    watch = TakeoverWatch()
    watch.connected(0.0)
    assert watch.dropped(500.0, closed_by_broker=True).kind == "suspected"
    watch.connected(501.0)  # the broker restarted: this one lasts
    assert watch.dropped(501.0 + FIGHT_WINDOW_S + 1, closed_by_broker=True).kind == "suspected"
    assert watch.takeovers == 0


def test_closed_again_soon_after_reconnecting_is_a_takeover_with_a_doubling_hold_off() -> None:
    watch = TakeoverWatch()
    watch.connected(0.0)
    assert watch.dropped(100.0, closed_by_broker=True).kind == "suspected"
    holds = []
    now = 101.0
    for _ in range(9):
        watch.connected(now)
        verdict = watch.dropped(now + 1.0, closed_by_broker=True)
        assert verdict.kind == "taken"
        holds.append(verdict.hold_off_s)
        now += 1.0 + verdict.hold_off_s
    assert holds[:3] == [HOLD_OFF_MIN_S, 2 * HOLD_OFF_MIN_S, 4 * HOLD_OFF_MIN_S]
    assert max(holds) == HOLD_OFF_MAX_S and watch.takeovers == 9


def test_a_connection_that_lasts_ends_the_fight() -> None:
    watch = TakeoverWatch()
    watch.connected(0.0)
    watch.dropped(1.0, closed_by_broker=True)
    watch.connected(2.0)
    assert watch.dropped(3.0, closed_by_broker=True).hold_off_s == HOLD_OFF_MIN_S
    watch.connected(10.0)
    assert watch.dropped(10.0 + FIGHT_WINDOW_S + 5, closed_by_broker=True).kind == "suspected"
    now = 10.0 + FIGHT_WINDOW_S + 6
    watch.connected(now)
    verdict = watch.dropped(now + 1, closed_by_broker=True)
    assert verdict.kind == "taken" and verdict.hold_off_s == HOLD_OFF_MIN_S  # from the start
    assert watch.takeovers == 2
