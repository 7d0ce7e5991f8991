"""Marks in bulk (all shown, invert, clear; `c` copies the marked VINs) and toasts (Escape on the
roster dismisses them, the palette mutes them for the session)."""

from __future__ import annotations

from hm_tui.emulator.server import Emulator
from tests.helpers import wait_for
from tests.ui.app_support import force, loaded, make_app, notifications, open_palette


async def _palette(app, pilot, query: str) -> None:
    await open_palette(app, pilot, query)
    await pilot.press("enter")
    await wait_for(lambda: app.screen is app.roster_screen, message="the palette to close")


async def test_mark_all_shown_invert_and_copy_the_marked_vins(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        screen, roster = app.roster_screen, app.session.roster
        await pilot.press("slash", *"2hm", "enter")
        await wait_for(lambda: len(roster.visible) == 3, message="the filter")
        await _palette(app, pilot, "mark all shown")
        assert screen.table.marked == set(roster.visible)
        assert "3 marked" in str(screen.summary.render()) or screen.summary.marked == 3
        await pilot.press("c")
        assert app.clipboard == "\n".join(sorted(roster.visible))
        await pilot.press("escape", "escape")  # the toast, then the filter
        await wait_for(lambda: len(roster.visible) == len(emulator.state.clearances))
        await _palette(app, pilot, "invert marks")
        assert screen.table.marked == set(roster.visible) - {
            "2HM00000000000001",
            "2HM00000000000002",
            "2HM00000000000003",
        }


async def test_escape_dismisses_toasts_and_the_palette_mutes_them(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("space", "escape")  # a mark, then "Marks cleared" is a toast
        await wait_for(lambda: notifications(app) == ["Marks cleared"], message="the toast")
        await pilot.press("escape")
        await wait_for(lambda: notifications(app) == [], message="the toast dismissed")
        await _palette(app, pilot, "mute notifications")
        await pilot.press("c")  # "Copied …" would be a toast
        app.notify("a failure", severity="error")
        await wait_for(lambda: notifications(app) != [], message="the error")
        assert notifications(app) == ["a failure"]  # errors still show, nothing else did


async def test_muted_rejections_raise_no_toast_and_unmute_brings_them_back(
    emulator: Emulator,
) -> None:
    """Rejection toasts are what an activation floods the screen with: muting stops them too
    (the roster's counts keep them); the palette then offers to unmute."""
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        first, second = [v for v in app.session.roster.visible if not v.startswith("2HM")][:2]
        await _palette(app, pilot, "mute notifications")
        await force(emulator, first, "rejected", "reason one")
        await pilot.press("r")
        await wait_for(  # drawn (highlighted) where the toast would be raised
            lambda: first in app.roster_screen.table._flashes, message="the rejection drawn"
        )
        assert not any("reason one" in n for n in notifications(app))
        await _palette(app, pilot, "unmute notifications")
        await force(emulator, second, "rejected", "reason two")
        await pilot.press("r")
        await wait_for(
            lambda: any("reason two" in n for n in notifications(app)), message="the toast"
        )
