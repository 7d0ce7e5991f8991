"""Hostile sizes through the real dashboard (issue 20, the third pass): the hostile platform on
loopback sends a clearance with 1,000,000 tags, one with a 10 MB tag value (bidi-laden), one
whose rejection reason is 10 MB, one whose VIN is 10 MB, one whose brand is 10 MB. The app
(Pilot) shows the roster row, opens the detail screen, shows its raw JSON and copies (`c`, `y`,
`Y`): everything shown and copied stays bounded, the screen says what was cut, and the event
loop is never blocked for long (`StallProbe`: our own CPU time in the longest late wake-up; the
bound is generous for a loaded 2-core machine, the cases took 5 to 14 s before)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import wait_for
from textual.widgets import Static

from hm_tui.ui.app import HmTuiApp
from hm_tui.ui.screens.detail import DetailScreen
from hm_tui.ui.text import CLIP_MAX
from reliability.fake_platform import Answer, FakePlatform
from reliability.figures import Figures
from reliability.hostile_checks import assert_inert
from reliability.hostile_support import VINS, hostile_app, iso, item
from reliability.support import StallProbe
from reliability.test_inert_text import screen_text
from tests.ui.screens_support import plain

BIG = "\u202ex" * 5_000_000  # 10,000,000 characters, half of them bidi overrides
STALL_BOUND_S = 1.5  # our own work in one late wake-up of the loop (it was 5 to 14 s)
SCREEN_MAX = 20_000  # characters of a whole 160 x 40 screen, with room
HUGE_VIN = "WBA" + "X" * 10_000_000


def hostile_item(shape: str, when: str) -> dict[str, Any]:
    if shape == "1,000,000 tags":
        return item(VINS[0], when, tags={f"k{n}": "v" for n in range(1_000_000)})
    if shape == "a 10 MB tag value":
        return item(VINS[0], when, tags={"note": BIG})
    if shape == "a 10 MB reason":
        rejected = item(VINS[0], when, status="rejected")
        rejected["changelog"][0]["reason"] = BIG
        return rejected
    if shape == "a 10 MB VIN":
        return item(HUGE_VIN, when)
    if shape == "a 10 MB brand":
        return item(VINS[0], when, brand=BIG)
    raise AssertionError(shape)


def cut_said(shape: str) -> str:
    """What the detail screen must say was cut."""
    return {
        "1,000,000 tags": "999,900 more tags (cut: the first 100 of 1,000,000 shown",
        "a 10 MB tag value": "(cut: 10,000,000 characters)",
        "a 10 MB reason": "(cut: 10,000,000 characters)",
        "a 10 MB VIN": "(cut: 10,000,003 characters)",
        "a 10 MB brand": "is unknown to hm-tui",
    }[shape]


def detail_text(app: HmTuiApp) -> str:
    """Everything the detail screen's text widgets hold (some of it scrolled out of sight)."""
    return " ".join(" ".join(plain(w).split()) for w in app.screen.query(Static))


async def until(app: HmTuiApp, pilot: Any, condition: Any, what: str) -> None:
    await pilot.pause()
    await wait_for(condition, 30, message=f"{what}: {screen_text(app)[-1500:]}")


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    "shape",
    ["1,000,000 tags", "a 10 MB tag value", "a 10 MB reason", "a 10 MB VIN", "a 10 MB brand"],
)
async def test_hostile_sizes_stay_bounded_on_screen_and_on_the_clipboard(
    hostile: FakePlatform, figures: Figures, shape: str
) -> None:
    figures.tried(f"hostile platform: {shape} in the dashboard")
    when = iso(datetime.now(UTC) - timedelta(hours=1))
    hostile_one = hostile_item(shape, when)
    vin = hostile_one["vin"]
    other = VINS[1]
    hostile.answer("list", Answer(200, json.dumps([hostile_one, item(other, when)]).encode()))
    hostile.answer("one", Answer(200, json.dumps(hostile_one).encode()))
    app = hostile_app(hostile)
    probe = StallProbe()
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(lambda: app.roster_screen.table.row_count == 2, 60, message="the roster")
        probe.start()
        probe.phase = "roster"
        await until(app, pilot, lambda: other in screen_text(app), "the other row")
        roster = screen_text(app)
        assert len(roster) < SCREEN_MAX and vin[:15] in roster, roster[-2000:]
        assert_inert(roster, "roster")

        probe.phase = "c on the roster"
        while app.roster_screen.table.cursor_vin != vin:
            await pilot.press("down")
        await pilot.press("c")
        await until(app, pilot, lambda: app.clipboard.startswith(vin[:17]), "c")
        assert len(app.clipboard) <= CLIP_MAX
        assert_inert(app.clipboard, "clipboard after c")

        probe.phase = "the detail screen"
        await pilot.press("enter")
        await until(app, pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        said = cut_said(shape)
        await until(app, pilot, lambda: said in detail_text(app), said)
        assert len(detail_text(app)) < 4 * SCREEN_MAX
        detail = screen_text(app)
        assert len(detail) < SCREEN_MAX
        assert_inert(detail, "detail")

        probe.phase = "y, c and Y on the detail"
        await pilot.press("y", "c", "Y")
        await pilot.pause()
        copies = app.clipboard_copies if hasattr(app, "clipboard_copies") else [app.clipboard]
        for copied in [app.clipboard, *copies]:
            assert len(copied) <= CLIP_MAX, f"{len(copied):,} characters on the clipboard"
            assert_inert(copied, "clipboard on the detail")
        told = " ".join(n.message for n in app._notifications)
        assert "Not copied: the raw JSON has" in told, told[-600:]
        if shape == "a 10 MB reason":
            assert f"Copied the reason's first {CLIP_MAX:,} characters (cut" in told, told[-600:]
        if shape == "a 10 MB VIN":
            assert "(cut: the VIN has 10,000,003 characters)" in told, told[-600:]

        probe.phase = "the raw JSON shown"
        await pilot.press("j")
        await until(app, pilot, lambda: "(cut: the first 8,192 of" in detail_text(app), "raw")
        assert len(screen_text(app)) < SCREEN_MAX
        assert_inert(screen_text(app), "raw JSON")

        await pilot.press("escape")
        await until(app, pilot, lambda: not isinstance(app.screen, DetailScreen), "back")
        probe.stop()
    assert probe.worst < STALL_BOUND_S, probe.describe()
