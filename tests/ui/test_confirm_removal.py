"""The removal confirmation: names every VIN, says per VIN what happens, never confirms on Enter."""

from __future__ import annotations

from textual.widgets import Button, Static

from hm_tui.ui.screens.confirm import ConfirmRemovalScreen
from tests.helpers import wait_for
from tests.ui.screens_support import Profile, RosterSession, ScreenHost, clearance, plain

APPROVED = "WBA00000000000001"
PENDING_STELLANTIS = "VF300000000000002"  # pending 48 h: cancel possible
PENDING_FRESH = "VF300000000000003"  # pending 2 h: too early
PENDING_BMW = "WBA00000000000004"  # BMW cannot cancel
REJECTED = "WBA00000000000005"


def session(**kwargs: object) -> RosterSession:
    return RosterSession.of(
        clearance(APPROVED, "approved"),
        clearance(PENDING_STELLANTIS, "pending", "peugeot", created_hours_ago=48),
        clearance(PENDING_FRESH, "pending", "peugeot", created_hours_ago=2),
        clearance(PENDING_BMW, "pending", "bmw", created_hours_ago=48),
        clearance(REJECTED, "rejected", reason="invalid VIN"),
        **kwargs,  # type: ignore[arg-type]
    )


def lines_of(app: ScreenHost) -> list[str]:
    return plain(app.screen.query_one("#confirm-lines", Static)).splitlines()


async def test_every_vin_is_named_with_revoke_cancel_or_why_not() -> None:
    vins = [APPROVED, PENDING_STELLANTIS, PENDING_FRESH, PENDING_BMW, REJECTED, "UNKNOWN0000000000"]
    app = ScreenHost(lambda: ConfirmRemovalScreen(session(), vins))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lines = dict(zip(vins, lines_of(app), strict=True))
        assert all(vin in line for vin, line in lines.items())
        assert "will be revoked" in lines[APPROVED]
        assert "will be canceled" in lines[PENDING_STELLANTIS]
        assert "Peugeot" in lines[PENDING_STELLANTIS]
        assert "too early to cancel" in lines[PENDING_FRESH]
        assert "bmw does not support canceling" in lines[PENDING_BMW]
        assert "already rejected" in lines[REJECTED]
        assert "not in the roster" in lines["UNKNOWN0000000000"]
        screen = app.screen
        assert isinstance(screen, ConfirmRemovalScreen)
        assert screen.to_send == [APPROVED, PENDING_STELLANTIS, "UNKNOWN0000000000"]
        assert str(screen.query_one("#confirm-yes", Button).label) == "Cancel/revoke 3"
        assert "3 cannot be removed" in plain(screen.query_one("#confirm-warning", Static))


async def test_enter_on_open_keeps_everything_and_closes() -> None:
    app = ScreenHost(lambda: ConfirmRemovalScreen(session(), [APPROVED]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert str(app.screen.query_one("#confirm-yes", Button).label) == "Revoke 1"
        await pilot.press("enter")  # the focused button is "Keep"
        await wait_for(lambda: app.results == [None])


async def test_production_warning_is_shown() -> None:
    app = ScreenHost(lambda: ConfirmRemovalScreen(session(profile=Profile("live")), [APPROVED]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "PRODUCTION" in plain(app.screen.query_one("#confirm-warning", Static))


async def test_nothing_removable_disables_the_button() -> None:
    app = ScreenHost(lambda: ConfirmRemovalScreen(session(), [REJECTED, PENDING_BMW]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#confirm-yes", Button).disabled
        await pilot.press("y")
        await pilot.pause()
        assert "Nothing can be removed" in plain(app.screen.query_one("#confirm-warning", Static))


async def test_read_only_refuses() -> None:
    app = ScreenHost(lambda: ConfirmRemovalScreen(session(read_only=True), [APPROVED]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#confirm-yes", Button).disabled
        assert "Read-only" in plain(app.screen.query_one("#confirm-warning", Static))


async def test_many_vins_scroll_inside_the_dialog() -> None:
    vins = [f"WBA{n:014d}" for n in range(300)]
    many = RosterSession.of(*(clearance(v, "approved") for v in vins))
    app = ScreenHost(lambda: ConfirmRemovalScreen(many, vins))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert len(lines_of(app)) == 300
        box = app.screen.query_one("#confirm-list")
        assert box.max_scroll_y > 0 and box.region.bottom <= 24
        assert app.screen.query_one("#confirm-yes", Button).region.bottom <= 24
