"""The feed's health rules, one function at a time, on a fake clock (numbers for `now`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hm_tui.service.feed.client import FeedState
from hm_tui.service.feed.health import (
    BACKLOG_GAP_S,
    BACKLOG_SKEW_S,
    MIN_GAPS,
    STALL_LEARNING_FACTOR,
    Backlog,
    FeedWatch,
    stall_after,
)

STATE = FeedState(
    status="connected",
    last_error=None,
    received=0,
    duplicates=0,
    bad_payloads=0,
    rate=0.0,
    points=0,
    dropped=0,
    topic="t/#",
)


def test_the_stall_window_follows_the_streams_cadence_above_a_floor() -> None:
    assert stall_after([0.01] * 100, floor=30) == 30  # a fast stream: the floor
    assert stall_after([20.0] * 100, floor=30) == 80  # every 20 s: four usual gaps
    # one long gap among many short ones is the 5 % the percentile leaves out
    assert stall_after([1.0] * 99 + [500.0], floor=2) == 4
    # too few gaps to know: cautious
    assert stall_after([1.0] * (MIN_GAPS - 1), floor=10) == 10 * STALL_LEARNING_FACTOR


def test_a_watch_turns_stalled_after_the_window_and_back_when_data_returns() -> None:
    watch = FeedWatch(floor=5)
    watch.status("connected", 0.0)
    for t in range(10):  # one message a second
        watch.arrived(100.0 + t)
    assert watch.health(STATE, 109.5).level == "ok"
    health = watch.health(STATE, 109.0 + 4.9)
    assert (health.level, health.stalled, health.learned) == ("ok", False, True)
    health = watch.health(STATE, 109.0 + 5.1)
    assert (health.level, health.headline, health.stalled) == ("warning", "stalled", True)
    assert round(health.since_last_s or 0, 1) == 5.1
    watch.arrived(120.0)
    assert watch.health(STATE, 120.5).level == "ok"


def test_silence_counts_from_the_reconnect_and_an_outage_is_not_a_gap() -> None:
    watch = FeedWatch(floor=5)
    watch.status("connected", 0.0)
    for t in range(10):
        watch.arrived(float(t))
    watch.status("retrying", 10.0)
    assert watch.health(replace(STATE, status="retrying"), 300.0).level == "error"
    watch.status("connected", 300.0)
    health = watch.health(STATE, 302.0)  # the last message is 293 s old, the link 2 s
    assert (health.level, round(health.silent_s or 0), round(health.since_last_s or 0)) == (
        "ok",
        2,
        293,
    )
    watch.arrived(303.0)  # the 293 s across the outage teach nothing
    assert watch.stall_after() == 5


def test_levels_say_only_what_is_known() -> None:
    watch = FeedWatch(floor=5)
    assert watch.health(replace(STATE, status="connecting"), 0.0).level == "idle"
    connected = watch.health(STATE, 1000.0)
    assert (connected.level, connected.since_last_s) == ("ok", None)  # no message yet: no stall
    unresponsive = watch.health(replace(STATE, status="unresponsive", last_error="no answer"), 1)
    assert (unresponsive.level, unresponsive.detail) == ("error", "no answer")
    stopped = watch.health(replace(STATE, status="stopped", last_error="bad cert"), 2.0)
    assert (stopped.level, stopped.detail) == ("error", "bad cert")
    assert watch.health(replace(STATE, status="stopped"), 3.0).level == "idle"


def test_the_backlog_is_what_arrives_back_to_back_after_a_kept_session() -> None:
    connect = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    old = connect - timedelta(minutes=1)
    backlog = Backlog()
    backlog.connected(10.0, connect, session_present=True)
    assert backlog.replayed(10.01, old)
    assert backlog.replayed(10.02, None)  # no stamp: still inside the burst
    assert not backlog.replayed(10.03, connect)  # measured after the connect: live
    assert not backlog.replayed(10.04, old)  # and everything after it

    backlog.connected(20.0, connect, session_present=True)
    assert backlog.replayed(20.5, old)
    assert not backlog.replayed(20.5 + BACKLOG_GAP_S, old)  # a pause: the queue was drained

    backlog.connected(30.0, connect, session_present=True)
    near = connect - timedelta(seconds=BACKLOG_SKEW_S / 2)
    assert not backlog.replayed(30.01, near)  # within the skew: taken as live

    backlog.connected(40.0, connect, session_present=False)  # nothing was kept for us
    assert not backlog.replayed(40.01, old)
