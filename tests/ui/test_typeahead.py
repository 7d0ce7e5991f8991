"""Keys typed ahead go where they were meant (ui/typeahead.py): a burst read at once, as a fast
typist or a paste over SSH/tmux sends it, through the real app over the real emulator. Each burst
is posted to the app in one go, the way the terminal driver hands keys over, with nothing in
between to let a screen open."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import Input

from hm_tui.emulator.server import Emulator
from hm_tui.ui.app import HmTuiApp
from hm_tui.ui.screens.add import AddScreen
from hm_tui.ui.screens.readd import ReaddScreen
from hm_tui.ui.screens.roster import RosterScreen
from tests.helpers import wait_for
from tests.ui.app_support import loaded, make_app, notifications

_NAMES = {"/": "slash", ".": "full_stop", "-": "minus", "_": "underscore", ",": "comma"}


def burst(app: HmTuiApp, *keys: str) -> None:
    """Post keys to the app at once: each a character to type, or a key name (`enter`)."""
    for key in keys:
        if len(key) == 1:
            app.post_message(events.Key(_NAMES.get(key, key), key))
        else:
            character = {"enter": "\r", "escape": "\x1b"}.get(key)
            app.post_message(events.Key(key, character))


def typed(text: str) -> list[str]:
    return list(text)


def field(app: HmTuiApp, selector: str) -> str | None:
    """The add dialog's `selector` text once the dialog is up (None before)."""
    if not isinstance(app.screen, AddScreen) or not app.screen.query(selector):
        return None
    widget = app.screen.query_one(selector)
    return widget.value if isinstance(widget, Input) else str(widget.render())


async def test_a_vin_typed_right_after_a_lands_in_the_add_dialog_not_on_the_roster(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)):
        await loaded(app, emulator)
        vin = "WBA12345678901234"  # its `A` is the roster's "add again" key
        burst(app, "a", *typed(vin))
        await wait_for(
            lambda: field(app, "#add-vin") == vin,
            10,
            message="the whole VIN in the add dialog's VIN field",
        )
        assert not any(isinstance(s, ReaddScreen) for s in app.screen_stack)
        assert not app.roster_screen.table.marked


async def test_escape_then_keys_reach_the_roster_under_the_closed_dialog(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)):
        await loaded(app, emulator)
        burst(app, "a", *typed("WBA"), "escape", "/", *typed("bmw"))
        await wait_for(
            lambda: (
                isinstance(app.screen, RosterScreen) and app.roster_screen.filter_bar.value == "bmw"
            ),
            10,
            message="the dialog closed and the filter holding what was typed after Escape",
        )
        assert not any(isinstance(s, ReaddScreen) for s in app.screen_stack)


async def test_a_csv_path_and_enter_typed_while_the_dialog_opens_read_the_file(
    emulator: Emulator, tmp_path: Path
) -> None:
    csv_file = tmp_path / "cars.csv"
    csv_file.write_text(
        "vin,brand\n1M8GDM9AXKP042788,bmw\n5YJ3E1EA7KF000001,tesla\n", encoding="utf-8"
    )
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)):
        await loaded(app, emulator)
        app.open_add("csv")  # the palette's "Import VINs from a CSV file"
        burst(app, *typed(str(csv_file)), "enter")
        await wait_for(
            lambda: "2 to add" in (field(app, "#add-preview") or ""),
            10,
            message="the file read from the path and Enter typed while the dialog opened",
        )
        assert field(app, "#add-csv-path") == str(csv_file)


async def test_keys_typed_behind_a_refused_add_are_dropped_not_played_on_the_roster(
    emulator: Emulator,
) -> None:
    app = make_app(emulator, read_only=True)
    async with app.run_test(size=(80, 24)):
        await loaded(app, emulator)
        burst(app, "a", *typed("WBA1"))
        await wait_for(
            lambda: any("4 keys typed after it ignored" in n for n in notifications(app)),
            10,
            message=f"the refusal saying the keys were ignored: {notifications(app)}",
        )
        assert isinstance(app.screen, RosterScreen)
        burst(app, "/", *typed("bmw"))  # the gate is open again
        await wait_for(lambda: app.roster_screen.filter_bar.value == "bmw", 10)


async def test_the_palette_command_then_a_csv_path_typed_in_one_burst(
    emulator: Emulator, tmp_path: Path
) -> None:
    """ctrl+p, the command, Enter, the path, Enter: once crashed the app (the second Enter
    reached the closing palette: "Can't pop screen")."""
    csv_file = tmp_path / "cars.csv"
    csv_file.write_text("vin,brand\n1M8GDM9AXKP042788,bmw\n", encoding="utf-8")
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)):
        await loaded(app, emulator)
        burst(app, "ctrl+p", *typed("Import VINs"), "enter", *typed(str(csv_file)), "enter")
        await wait_for(
            lambda: "1 to add" in (field(app, "#add-preview") or ""),
            10,
            message="the palette's import, then the file read",
        )
        assert field(app, "#add-csv-path") == str(csv_file)


async def test_a_focus_event_for_a_widget_already_removed_is_ignored(emulator: Emulator) -> None:
    """A dialog closed between its widget's focus and the app handling that focus event: the
    widget has no screen any more (Textual raises `NoScreen` on `.screen`), and the app must
    carry on (it crashed the dashboard once)."""
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        gone = Input()  # never mounted: as a removed widget, it has no screen
        app.post_message(events.DescendantFocus(gone))
        await pilot.pause()
        burst(app, "/")
        await wait_for(lambda: isinstance(app.focused, Input), 10, message="the filter bar")
        assert app.return_code is None and app.is_running
