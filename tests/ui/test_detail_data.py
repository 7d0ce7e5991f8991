"""The detail screen's latest data: from the feed with ages, pulled with `v` from the real emulator,
and the platform's 403/408/422 answers in the operator's words."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from hm_tui.ui.screens.detail import DetailScreen
from hm_tui.ui.widgets.datapoints import DataPointsView
from tests.helpers import wait_for
from tests.ui.screens_support import (
    BufferFeed,
    RosterSession,
    ScreenHost,
    clearance,
    control,
    plain,
    point,
    started_session,
)

BMW = "WBA3A5C51CF256985"


def note(app: ScreenHost) -> str:
    return plain(app.screen.query_one("#detail-data-note", Static))


def data(app: ScreenHost) -> str:
    return plain(app.screen.query_one(DataPointsView))


async def test_feed_values_show_their_age_and_old_ones_are_flagged() -> None:
    feed = BufferFeed()
    feed.push(
        [
            point(BMW, "diagnostics", "odometer", 12000, "kilometers", age_s=20),
            point(BMW, "charging", "battery_level", 0.42, age_s=3 * 3600),
        ]
    )
    session = RosterSession.of(clearance(BMW, "approved"), feed=feed)
    app = ScreenHost(lambda: DetailScreen(session, BMW))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lines = {line.split()[0]: line for line in data(app).splitlines()}
        assert "12,000 km" in lines["diagnostics.odometer"]
        assert "20s ago" in lines["diagnostics.odometer"]
        assert "old" not in lines["diagnostics.odometer"]
        assert "42 %" in lines["charging.battery_level"]
        assert "old 3h00m ago" in lines["charging.battery_level"]
        assert all(len(line) <= 76 for line in data(app).splitlines())  # no line wraps at 80
        assert "streaming from the live feed" in note(app)


async def approved_vin(emu: Any, session: Any, data_error: str) -> str:
    """An approved car of the emulator's fleet whose Vehicle Data answer is forced."""
    vin = next(v for v in session.roster.visible if session.roster.entry(v).status == "approved")
    await control(emu, f"vehicles/{vin}", {"status": "approved", "data_error": data_error})
    return vin


async def pull(app: ScreenHost, pilot: Any, until: str) -> str:
    await pilot.pause()
    await pilot.press("v")
    return await wait_for(lambda: until in note(app) and note(app), timeout=10)


async def test_v_pulls_the_cars_data_with_ages(emulator: Any, credentials: dict) -> None:
    async with started_session(credentials) as session:
        vin = await approved_vin(emulator, session, "ok")
        app = ScreenHost(lambda: DetailScreen(session, vin))
        async with app.run_test(size=(80, 24)) as pilot:
            await pull(app, pilot, "Pulled")
            lines = data(app).splitlines()
            assert len(lines) >= 3
            assert all(line.endswith("pulled") for line in lines)
            assert all("just now" in line or " ago" in line for line in lines)


async def test_privacy_mode_403_is_explained(emulator: Any, credentials: dict) -> None:
    async with started_session(credentials) as session:
        vin = await approved_vin(emulator, session, "privacy")
        app = ScreenHost(lambda: DetailScreen(session, vin))
        async with app.run_test(size=(80, 24)) as pilot:
            text = await pull(app, pilot, "Privacy mode")
            assert "turns privacy mode off" in text


async def test_no_consent_403_is_explained(emulator: Any, credentials: dict) -> None:
    async with started_session(credentials) as session:
        vin = next(
            v for v in session.roster.visible if session.roster.entry(v).status != "approved"
        )
        app = ScreenHost(lambda: DetailScreen(session, vin))
        async with app.run_test(size=(80, 24)) as pilot:
            text = await pull(app, pilot, "No consent")
            assert "approved" in text


async def test_asleep_408_is_explained(emulator: Any, credentials: dict) -> None:
    async with started_session(credentials) as session:
        vin = await approved_vin(emulator, session, "offline")
        app = ScreenHost(lambda: DetailScreen(session, vin))
        async with app.run_test(size=(80, 24)) as pilot:
            text = await pull(app, pilot, "offline or asleep")
            assert "once it has been driven" in text


async def test_not_yet_available_422_is_explained(emulator: Any, credentials: dict) -> None:
    async with started_session(credentials) as session:
        vin = await approved_vin(emulator, session, "unavailable")
        app = ScreenHost(lambda: DetailScreen(session, vin))
        async with app.run_test(size=(80, 24)) as pilot:
            text = await pull(app, pilot, "No data yet")
            assert "try again later" in text


def test_a_pulled_multiple_property_shows_every_item_not_only_the_first() -> None:
    from hm_tui.ui.widgets.datapoints import merge_latest

    doors = [
        point(BMW, "doors", "locks", {"location": door, "lock_state": state})
        for door, state in (("front_left", "locked"), ("rear_right", "unlocked"))
    ]
    [merged] = merge_latest({}, doors)
    assert merged.source == "pulled" and [d["lock_state"] for d in merged.point.value] == [
        "locked",
        "unlocked",
    ]
