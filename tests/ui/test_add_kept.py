"""The add dialog is built once and shown again (ui/kept_dialogs.py): every opening through the
real app over the real emulator looks like a new dialog (empty fields, no results, the tab asked
for, the focus on its first field), and keys typed while it opens again land in it, in order."""

from __future__ import annotations

from typing import Any

from textual.widgets import Button, Input, Select, Static, TabbedContent, TextArea

from hm_tui.domain.vin import with_check_digit
from hm_tui.emulator.server import Emulator
from hm_tui.ui.app import HmTuiApp
from hm_tui.ui.screens.add import AddScreen
from hm_tui.ui.screens.roster import RosterScreen
from hm_tui.ui.widgets.add_results import AddResults
from tests.helpers import wait_for
from tests.ui.app_support import loaded, make_app
from tests.ui.screens_support import plain
from tests.ui.test_typeahead import burst, field, typed

NEW = [with_check_digit(f"WBA00000{n}00000{n}00") for n in range(4, 6)]


async def kept_dialog(app: HmTuiApp, pilot: Any) -> AddScreen:
    """The add dialog built ahead, once it is ready (the app builds it after the first frame)."""
    await wait_for(
        lambda: app.kept_add.screen is not None and app.kept_add.screen.ready,
        10,
        message="the add dialog built ahead",
    )
    assert app.kept_add.screen is not None
    return app.kept_add.screen


async def open_with(app: HmTuiApp, pilot: Any, key: str = "a") -> AddScreen:
    await pilot.press(key)
    await wait_for(
        lambda: isinstance(app.screen, AddScreen) and app.screen.focused is not None,
        10,
        message="the add dialog up with its focus set",
    )
    assert isinstance(app.screen, AddScreen)
    return app.screen


async def close(app: HmTuiApp, pilot: Any) -> None:
    await pilot.press("escape")
    await wait_for(lambda: isinstance(app.screen, RosterScreen), 10, message="back on the roster")


def looks_new(screen: AddScreen, tab: str = "add-one") -> None:
    for selector in ("#add-vin", "#add-tags", "#add-vw-customer", "#add-csv-path"):
        assert screen.query_one(selector, Input).value == "", selector
    assert screen.query_one("#add-lines", TextArea).text == ""
    assert screen.query_one("#add-brand", Select).value is Select.NULL
    assert screen.query_one("#add-tabs", TabbedContent).active == tab
    assert screen.query_one("#add-vw-row").has_class("-hidden")
    assert screen.query_one("#add-outcome").has_class("-hidden")
    assert screen.query_one("#add-results", AddResults).lines == []
    assert not screen.query_one("#add-eligibility").display
    submit = screen.query_one("#add-submit", Button)
    assert submit.disabled and str(submit.label) == "Add"
    assert not screen.preview.items and not screen.spent
    first = {"add-one": "add-vin", "add-paste": "add-lines", "add-csv": "add-csv-path"}[tab]
    assert screen.focused is not None and screen.focused.id == first


async def test_reopening_the_add_dialog_after_typing_starts_empty(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(app, emulator)
        kept = await kept_dialog(app, pilot)
        screen = await open_with(app, pilot)
        assert screen is kept  # shown, not built again
        looks_new(screen)
        screen.query_one("#add-vin", Input).value = NEW[0]
        screen.query_one("#add-tags", Input).value = "fleet=north"
        screen.query_one("#add-brand", Select).value = "audi"  # a VW Group brand: its field shows
        await wait_for(lambda: not screen.query_one("#add-vw-row").has_class("-hidden"))
        screen.query_one("#add-tabs", TabbedContent).active = "add-paste"
        screen.query_one("#add-lines", TextArea).text = f"{NEW[1]},bmw"
        await wait_for(lambda: str(screen.query_one("#add-submit", Button).label) == "Add 1")
        await close(app, pilot)
        again = await open_with(app, pilot)
        assert again is kept
        looks_new(again)
        assert "VIN" in plain(again.query_one("#add-preview", Static))  # the prompt, no preview


async def test_reopening_after_an_add_shows_no_results_and_a_new_add_can_be_sent(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(app, emulator)
        await kept_dialog(app, pilot)
        screen = await open_with(app, pilot)
        screen.query_one("#add-brand", Select).value = "bmw"
        screen.query_one("#add-vin", Input).value = NEW[0]
        await wait_for(lambda: not screen.query_one("#add-submit", Button).disabled)
        await pilot.press("ctrl+s")
        await wait_for(
            lambda: "1 of 1 ok" in plain(screen.query_one("#add-status", Static)),
            10,
            message="the add's results",
        )
        assert screen.spent
        await close(app, pilot)
        again = await open_with(app, pilot)
        looks_new(again)  # no results, no "Sent": a new input makes a new add
        burst(app, *typed(NEW[1]))
        await wait_for(lambda: field(app, "#add-vin") == NEW[1], 10)
        again.query_one("#add-brand", Select).value = "bmw"
        await wait_for(lambda: str(again.query_one("#add-submit", Button).label) == "Add 1")
        await pilot.press("ctrl+s")
        await wait_for(
            lambda: "1 of 1 ok" in plain(again.query_one("#add-status", Static)),
            10,
            message="the second add's results",
        )
    assert emulator.state.clearances[NEW[0]].status == "pending"
    assert emulator.state.clearances[NEW[1]].status == "pending"


async def test_keys_typed_while_the_kept_dialog_opens_again_land_in_it_in_order(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        kept = await kept_dialog(app, pilot)
        vin = "WBA12345678901234"  # its `A` is the roster's "add again" key
        for round_ in range(3):  # typed into it, closed in the same burst, opened again
            burst(app, "a", *typed(vin[:5]), "escape", "a", *typed(vin))
            await wait_for(
                lambda: field(app, "#add-vin") == vin,
                10,
                message=f"round {round_}: the whole VIN in the reopened dialog, nothing before it",
            )
            assert app.screen is kept
            assert not app.roster_screen.table.marked
            await close(app, pilot)


async def test_the_palette_import_opens_the_kept_dialog_on_the_csv_tab(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        kept = await kept_dialog(app, pilot)
        app.open_add("csv")
        burst(app, *typed("/nowhere/cars.csv"))
        await wait_for(lambda: field(app, "#add-csv-path") == "/nowhere/cars.csv", 10)
        assert app.screen is kept
        await close(app, pilot)
        app.open_add("paste")
        await wait_for(lambda: isinstance(app.screen, AddScreen), 10)
        looks_new(kept, "add-paste")
        await close(app, pilot)
        screen = await open_with(app, pilot)
        looks_new(screen, "add-one")
