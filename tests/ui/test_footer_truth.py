"""The footer offers only keys that work: `d` (remove) only where something under the cursor or
among the marks can be canceled or revoked, neither `a` nor `d` when read-only; a key left out
still answers with why it does nothing. `p` on the roster pauses the live feed (as the README,
help and palette say), and says how to show the feed when it is hidden."""

from __future__ import annotations

from hm_tui.emulator.server import Emulator
from hm_tui.ui.app import HmTuiApp
from hm_tui.ui.commands import dashboard_commands
from hm_tui.ui.keymap import ROSTER_KEYS, bindings
from hm_tui.ui.screens.confirm import ConfirmRemovalScreen
from hm_tui.ui.screens.detail import DetailScreen
from hm_tui.ui.screens.help import HelpScreen
from tests.helpers import wait_for
from tests.ui.app_support import force, loaded, make_app, notifications


def footer_keys(app: HmTuiApp) -> list[str]:
    return [key.description for key in app.screen.query("FooterKey")]


def cursor_status(app: HmTuiApp) -> str | None:
    vin = app.roster_screen.table.cursor_vin
    entry = app.session.roster.entry(vin) if (app.session and vin) else None
    return entry.status if entry is not None else None


async def test_d_is_offered_only_where_something_can_be_removed(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("2")  # approved only: revocable
        await wait_for(lambda: cursor_status(app) == "approved")
        await wait_for(lambda: "Remove" in footer_keys(app), message="d offered on approved")
        await pilot.press("3")  # rejected only: nothing to remove
        await wait_for(lambda: cursor_status(app) == "rejected")
        await wait_for(lambda: "Remove" not in footer_keys(app), message="d not offered")
        assert "Add" in footer_keys(app)
        await pilot.press("d")  # still answers: the confirmation says why nothing is sent
        await wait_for(lambda: isinstance(app.screen, ConfirmRemovalScreen))
        await wait_for(lambda: "Close" in footer_keys(app))
        assert "Yes, remove" not in footer_keys(app)  # nothing to send: y is not offered
        await pilot.press("escape")
        await wait_for(lambda: app.screen is app.roster_screen)
        # a mark on an approved car makes d possible again, whatever the cursor is on
        await pilot.press("2", "space", "3")
        await wait_for(lambda: cursor_status(app) == "rejected")
        await wait_for(lambda: "Remove" in footer_keys(app), message="d for the marked one")


async def test_the_detail_offers_d_only_while_the_clearance_is_removable(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        roster = app.session.roster
        vin = next(v for v in roster.visible if roster.entry(v).status == "approved")
        app.open_detail(vin)
        await wait_for(lambda: isinstance(app.screen, DetailScreen))
        await wait_for(lambda: "Remove" in footer_keys(app))
        await force(emulator, vin, "rejected", "privacy mode is enabled")
        await pilot.press("r")
        await wait_for(lambda: "Remove" not in footer_keys(app), 10, message="d gone")
        await pilot.press("d")
        await wait_for(
            lambda: any("Not possible now: already rejected" in n for n in notifications(app))
        )
        assert isinstance(app.screen, DetailScreen)


async def test_read_only_footers_show_only_keys_that_work(emulator: Emulator) -> None:
    app = make_app(emulator, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("2")
        await wait_for(lambda: cursor_status(app) == "approved")
        await wait_for(lambda: "Sort" in footer_keys(app))
        assert not {"Add", "Remove"} & set(footer_keys(app))
        await pilot.press("a")  # left out, still answered
        await wait_for(lambda: any("Read-only mode: adding" in n for n in notifications(app)))
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, DetailScreen))
        await wait_for(lambda: "Pull data" in footer_keys(app))
        assert "Remove" not in footer_keys(app)
        await pilot.press("d")
        await wait_for(lambda: any("cancel/revoke is disabled" in n for n in notifications(app)))
        assert isinstance(app.screen, DetailScreen)


async def test_p_pauses_the_live_feed_from_the_roster_and_says_so(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("p")  # no feed panel yet: say how to get one
        await wait_for(lambda: any("press f to show it" in n for n in notifications(app)))
        await pilot.press("f")
        await wait_for(lambda: app.roster_screen.feed_panel is not None)
        panel = app.roster_screen.feed_panel
        assert app.focused is app.roster_screen.table  # p typed on the roster, not the feed
        await pilot.press("p")
        await wait_for(lambda: panel.paused)
        await pilot.press("p")
        await wait_for(lambda: not panel.paused)
        # help and the palette name the same key
        await pilot.press("question_mark")
        await wait_for(lambda: isinstance(app.screen, HelpScreen))
        assert "roster.pause_feed" in str(app.screen.query_one("#help-keys").render())
        await pilot.press("escape")
        await wait_for(lambda: app.screen is app.roster_screen)
        titles = {c.title: c.help for c in dashboard_commands(app, app.roster_screen)}
        assert titles["Pause/resume live feed"].endswith("(p)")


def test_a_refusable_key_has_a_hidden_twin_with_its_id() -> None:
    found = [b for b in bindings(ROSTER_KEYS) if getattr(b, "id", None) == "roster.remove"]
    assert [b.show for b in found] == [True, False]
    assert found[1].action == "remove('refused')" and found[1].key == found[0].key


async def test_the_rosters_footer_is_not_rebuilt_under_a_dialog_and_shows_its_keys_after(
    emulator: Emulator,
) -> None:
    """A dialog opening and closing over the roster leaves the roster's footer as it was (the
    same keys, not rebuilt twice on the way), and a change made meanwhile shows once back."""
    app = make_app(emulator)
    async with app.run_test(size=(100, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("2")  # approved only: d is offered
        await wait_for(lambda: "Remove" in footer_keys(app), message="d offered on approved")
        before = list(app.roster_screen.query("FooterKey"))
        for key in ("a", "g", "question_mark"):
            await pilot.press(key)
            await wait_for(lambda: app.screen is not app.roster_screen and app.screen.focused)
            await pilot.press("escape")
            await wait_for(lambda: app.screen is app.roster_screen)
            await pilot.pause()
            assert list(app.roster_screen.query("FooterKey")) == before, key
        await pilot.press("3")  # rejected only: nothing to remove
        await wait_for(lambda: "Remove" not in footer_keys(app), message="d no longer offered")
