"""The add dialog's optional eligibility check (^g): the real app asks the real emulator's
`POST /eligibility` for every row to add, before anything is sent, and shows the answers grouped
(not eligible, connectivity off, VW Group primary user, not checked) while the dialog stays
usable; a changed input drops the answers that were about the old one."""

from __future__ import annotations

import itertools
from pathlib import Path

from textual.widgets import Button, Input

from hm_tui.domain.vin import check_vin
from hm_tui.emulator.eligibility import eligibility_of
from hm_tui.emulator.server import Emulator
from hm_tui.ui.screens.add import AddScreen
from tests.helpers import wait_for
from tests.ui.app_support import loaded, make_app
from tests.ui.test_typeahead import burst, field, typed


def _vins(prefix: str, brand: str, wanted: int, test: object) -> list[str]:
    """VINs (valid characters) whose emulator answer passes `test`, for inputs of each kind."""
    found = []
    for n in itertools.count():
        vin = f"{prefix}{n:0{17 - len(prefix)}d}"
        if not check_vin(vin).errors and test(eligibility_of(vin, brand)):  # type: ignore[operator]
            found.append(vin)
            if len(found) == wanted:
                return found
    raise AssertionError("unreachable")


async def test_check_shows_the_platforms_answers_grouped_before_sending(
    emulator: Emulator, tmp_path: Path
) -> None:
    [bad] = _vins("WBA", "bmw", 1, lambda a: not a["eligible"])
    good = _vins("WBA", "bmw", 2, lambda a: a["eligible"])
    [enrolled] = _vins(
        "WVWZZZ", "volkswagen", 1, lambda a: a["eligible"] and a["primary_user_assigned"]
    )
    tesla = "5YJ3E1EA7KF000001"  # the eligibility check does not cover Tesla: not checked
    rows = [(bad, "bmw"), *((v, "bmw") for v in good), (enrolled, "volkswagen"), (tesla, "tesla")]
    csv_file = tmp_path / "cars.csv"
    csv_file.write_text(
        "vin,brand,tag:vw-group-customer-name\n"
        + "".join(f"{vin},{brand},ACME\n" for vin, brand in rows),
        encoding="utf-8",
    )
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        app.open_add("csv")
        burst(app, *typed(str(csv_file)), "enter")
        await wait_for(lambda: "5 to add" in (field(app, "#add-preview") or ""), 10)
        clearances = len(emulator.state.clearances)
        await pilot.press("ctrl+g")
        screen = app.screen
        assert isinstance(screen, AddScreen)
        assert not screen.query_one("#add-submit", Button).disabled  # nothing locked meanwhile
        await wait_for(
            lambda: (field(app, "#add-eligibility") or "").startswith("Eligibility: 2 of 5"),
            15,
            message="the answers",
        )
        shown = field(app, "#add-eligibility") or ""
        assert "Eligibility: 2 of 5 eligible, nothing in the way" in shown
        assert "Not eligible (1)" in shown and f"{bad} (bmw)" in shown
        assert "Primary user enrolled (VW Group) (1)" in shown and enrolled in shown
        assert "Not checked (1)" in shown and "does not cover the brand tesla" in shown
        for vin in good:
            assert vin not in shown  # the eligible ones are counted, not listed
        assert len(emulator.state.clearances) == clearances  # nothing was added

        # another input: the answers were about the old one
        path = screen.query_one("#add-csv-path", Input)
        path.value = ""
        await wait_for(lambda: not screen.query_one("#add-eligibility").display)
