"""Toasts never cover the row under the cursor or an answer the operator asked for: at 80x24 the
roster's cursor row on the last visible line, and the detail's pulled data, stay in view and clear
of every toast on screen; the room goes when the toasts do."""

from __future__ import annotations

from typing import Any

from textual.geometry import Region
from textual.widgets._toast import Toast

from hm_tui.emulator.server import Emulator
from hm_tui.ui.screens.detail import DetailScreen
from hm_tui.ui.widgets.datapoints import DataPointsView
from tests.helpers import wait_for
from tests.ui.app_support import force, loaded, make_app

LONG = "A notification long enough to wrap over three or four lines of a toast. " * 3


def toast_regions(app: Any) -> list[Region]:
    return [t.region for t in app.screen.query(Toast) if t.region.height]


def clear_of_toasts(app: Any, region: Region) -> bool:
    toasts = toast_regions(app)
    return bool(toasts) and not any(region.overlaps(t) for t in toasts)


def cursor_row(app: Any) -> Region:
    """The screen region of the table's cursor row (empty if it is scrolled out of view)."""
    table = app.roster_screen.table
    y = table.region.y + 1 + table.cursor_row - int(table.scroll_y)  # (line 0: the header)
    inside = table.region.y < y < table.region.bottom
    return Region(table.region.x, y, table.region.width, 1) if inside else Region(0, 0, 0, 0)


async def test_the_cursor_row_stays_in_view_and_clear_of_toasts(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(app, emulator)
        table = app.roster_screen.table
        rows_before = table.scrollable_content_region.height
        await pilot.press("pagedown")  # the cursor on the last line the table shows
        await pilot.pause()
        assert cursor_row(app).bottom == table.region.bottom
        app.notify(LONG, title="Something happened", timeout=30)
        app.notify("And a second one.", timeout=30)
        await wait_for(lambda: clear_of_toasts(app, cursor_row(app)), message="room for toasts")
        row = cursor_row(app)
        assert row.height == 1  # in view, not scrolled away
        assert table.scrollable_content_region.height < rows_before  # the table shrank
        await pilot.press("down", "down")  # moving on keeps it clear
        await wait_for(lambda: clear_of_toasts(app, cursor_row(app)))
        await pilot.press("escape")  # the toasts dismissed: the table has its rows back
        await wait_for(lambda: table.scrollable_content_region.height == rows_before)


async def test_a_rejection_toast_leaves_the_cursor_row_visible(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(app, emulator)
        roster = app.session.roster
        vin = next(v for v in roster.visible if roster.entry(v).status == "approved")
        await pilot.press("end")
        await force(emulator, vin, "rejected", "privacy mode is enabled")
        await pilot.press("r")
        await wait_for(lambda: any(vin in n.message for n in app._notifications), 10)
        await wait_for(lambda: clear_of_toasts(app, cursor_row(app)), message="room")


async def test_the_pulled_data_on_the_detail_stays_in_view_with_a_toast_up(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(app, emulator)
        roster = app.session.roster
        vin = next(v for v in roster.visible if roster.entry(v).status == "approved")
        app.open_detail(vin)
        await wait_for(lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("v")
        view = app.screen.query_one(DataPointsView)
        note = app.screen.query_one("#detail-data-note")
        await wait_for(lambda: "Pulled" in str(note.render()), 10, message="the pull")
        app.notify(LONG, title="Something happened", timeout=30)
        body = app.screen.query_one("#detail-body")

        def data_in_view_and_clear() -> bool:
            shown = view.region.intersection(body.region)  # what of the data is on screen
            return shown.height >= 2 and clear_of_toasts(app, shown)

        await wait_for(data_in_view_and_clear, message="the pulled data in view, clear of toasts")
        assert note.region.intersection(body.region).height == 1  # "Pulled …" itself too


async def test_the_room_is_the_toasts_height_however_often_it_is_measured_before_a_layout(
    emulator: Emulator,
) -> None:
    """Measured again before the layout had applied the last change, the room grew on each call
    (8, 16, 24 rows) and the table was left one line high, its rows gone until the next tick."""
    app = make_app(emulator)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(app, emulator)
        table = app.roster_screen.table
        app.notify(LONG, title="Something happened", timeout=30)
        await wait_for(lambda: clear_of_toasts(app, cursor_row(app)), message="room for toasts")
        body = app.roster_screen.query_one("#roster-body")

        def reset() -> bool:  # (the app's one-second tick may make room again meanwhile)
            return body.region.bottom > min(t.y for t in toast_regions(app))

        for _ in range(10):
            body.styles.margin = (0, 0, 0, 0)  # as before the first toast
            await pilot.pause()
            if reset():
                break
        assert reset(), "the body back under the toast, laid out"
        for _ in range(3):  # measured three times, no layout in between
            app.toast_room.update()
        await pilot.pause()
        assert body.region.bottom == min(t.y for t in toast_regions(app)), toast_regions(app)
        assert table.region.height > 3, "the table keeps its rows"


def toasts_over(app: Any, selector: str) -> list[Region]:
    """The toasts on screen that overlap the region of `selector` on the top screen."""
    target = app.screen.query_one(selector).region
    return [r for r in toast_regions(app) if r.overlaps(target)]


async def test_a_rejection_toast_up_when_a_dialog_opens_leaves_its_buttons_clear(
    emulator: Emulator,
) -> None:
    """A rejection toast raised on the roster stayed up (8 s) over the add dialog's buttons at
    80x24: toasts raised while a dialog is open were counted, but one already up was not."""
    from hm_tui.ui.screens.add import AddScreen

    app = make_app(emulator)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(app, emulator)
        roster = app.session.roster
        vin = next(v for v in roster.visible if roster.entry(v).status == "approved")
        await force(emulator, vin, "rejected", "privacy mode is enabled")
        await pilot.press("r")
        await wait_for(lambda: any(vin in n.message for n in app._notifications), 10)
        await wait_for(lambda: bool(toast_regions(app)), message="the toast drawn")
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, AddScreen))
        await wait_for(lambda: app.screen.query_one("#add-buttons").region.height > 0)
        await wait_for(lambda: not toasts_over(app, "#add-buttons"), message="buttons clear")
        assert not any(vin in n.message for n in app._notifications)  # counted, not shown
        assert len(app.new_rejections) == 1  # n still lists it
        await pilot.press("escape")  # back on the roster: the next rejection shows again
        await wait_for(lambda: app.screen is app.roster_screen)
        other = next(v for v in roster.visible if roster.entry(v).status == "approved")
        await force(emulator, other, "rejected", "privacy mode is enabled")
        await pilot.press("r")
        await wait_for(lambda: any(other in n.message for n in app._notifications), 10)
        assert any("Rejected: 2 new" in n.title for n in app._notifications)


async def test_any_toast_raised_over_the_add_dialog_leaves_its_buttons_and_results_clear(
    emulator: Emulator,
) -> None:
    """Other notifications (the platform unreachable, a journal warning) came up over the add
    dialog's buttons and its results at 80x24: the dialog makes room for them as the roster
    does, and takes it back when they go."""
    from hm_tui.ui.screens.add import AddScreen

    app = make_app(emulator)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(app, emulator)
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, AddScreen))
        dialog = app.screen.query_one("#add-dialog")
        await wait_for(lambda: app.screen.query_one("#add-buttons").region.height > 0)
        full = dialog.region.height
        app.notify(LONG, title="Platform unreachable", severity="error", timeout=30)
        await wait_for(lambda: bool(toast_regions(app)), message="the toast drawn")
        await wait_for(
            lambda: not toasts_over(app, "#add-dialog") and dialog.region.height < full,
            message="the dialog clear of the toast",
        )
        assert app.screen.query_one("#add-buttons").region.height > 0  # still in view
        app.clear_notifications()
        await wait_for(lambda: dialog.region.height == full, message="its room back")


async def test_a_toast_raised_over_a_full_height_removal_dialog_leaves_its_buttons_clear(
    emulator: Emulator,
) -> None:
    """The removal dialog of every clearance shown fills the screen at 80x24 (its list scrolls);
    a toast raised over it covered its buttons: it makes room as the roster does."""
    from hm_tui.ui.screens.confirm import ConfirmRemovalScreen

    app = make_app(emulator)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(app, emulator)
        app.roster_screen.mark_all_shown()
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, ConfirmRemovalScreen))
        buttons = app.screen.query_one("#confirm-buttons")
        await wait_for(lambda: buttons.region.height > 0, message="the dialog laid out")
        assert app.screen.query_one("#confirm-dialog").region.height >= 20  # the whole screen
        app.notify(LONG, title="Platform unreachable", severity="error", timeout=30)
        await wait_for(lambda: bool(toast_regions(app)), message="the toast drawn")
        await wait_for(
            lambda: buttons.region.height > 0 and not toasts_over(app, "#confirm-dialog"),
            message="the dialog and its buttons clear of the toast",
        )


async def test_a_toast_raised_over_a_full_height_add_again_dialog_leaves_it_clear(
    emulator: Emulator,
) -> None:
    """The add-again confirmation of every shown clearance fills the screen at 80x24 (its list
    scrolls); a toast over it covered its buttons."""
    from hm_tui.ui.screens.readd import ReaddScreen

    app = make_app(emulator)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(app, emulator)
        app.add_again(list(app.session.roster.visible), "the shown")
        await wait_for(lambda: isinstance(app.screen, ReaddScreen) and app.screen.is_mounted)
        dialog = app.screen.query_one("#readd-dialog")
        await wait_for(lambda: dialog.region.height >= 20, message="the dialog, full height")
        app.notify(LONG, title="Platform unreachable", severity="error", timeout=30)
        await wait_for(lambda: bool(toast_regions(app)), message="the toast drawn")
        await wait_for(
            lambda: not toasts_over(app, "#readd-dialog"), message="the dialog clear of the toast"
        )
        await pilot.press("escape")
