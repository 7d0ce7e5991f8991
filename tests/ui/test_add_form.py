"""The add-VINs form: live validation, VW customer tag, pasted lines and CSV with line numbers."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static, TabbedContent, TextArea

from hm_tui.domain.brands import VW_CUSTOMER_TAG
from hm_tui.ui.screens.add import AddScreen
from tests.helpers import wait_for
from tests.ui.screens_support import RosterSession, ScreenHost, plain

GOOD = "1M8GDM9AXKP042788"  # a valid North-American check digit
EURO = "WVWZZZ1JZXW000001"  # fails the check digit: a warning, never an error


def add_app(**kwargs: object) -> ScreenHost:
    session = RosterSession(**kwargs)  # type: ignore[arg-type]
    return ScreenHost(lambda: AddScreen(session))


def text(app: ScreenHost, widget_id: str) -> str:
    return plain(app.screen.query_one(f"#{widget_id}", Static))


async def switch_tab(pilot: Pilot[None], app: ScreenHost, pane: str) -> None:
    """As the operator does: click the tab (a focused field keeps its own pane active)."""
    await pilot.pause()
    await pilot.click(f"#--content-tab-{pane}")
    await wait_for(lambda: app.screen.query_one("#add-tabs", TabbedContent).active == pane)


def submit(app: ScreenHost) -> Button:
    return app.screen.query_one("#add-submit", Button)


async def test_vin_is_validated_live_with_errors_and_warnings() -> None:
    app = add_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#add-brand", Select).value = "bmw"
        await pilot.press(*"WBA12")
        await wait_for(lambda: "has 5 characters" in text(app, "add-vin-check"))
        assert submit(app).disabled
        app.screen.query_one("#add-vin", Input).value = ""
        await pilot.press(*"wba1o000000000000")  # lower case and an O: normalised, warned
        await wait_for(lambda: "contains O" in text(app, "add-vin-check"))
        assert not submit(app).disabled
        app.screen.query_one("#add-vin", Input).value = EURO
        await wait_for(lambda: "check digit" in text(app, "add-vin-check"))
        app.screen.query_one("#add-vin", Input).value = GOOD
        await wait_for(lambda: text(app, "add-vin-check") == f"✓ {GOOD}")
        assert text(app, "add-preview") == "Preview: 1 to add"
        assert str(submit(app).label) == "Add 1"


async def test_vin_without_brand_is_an_error_that_says_to_choose_the_brand() -> None:
    app = add_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#add-vin", Input).value = GOOD
        await wait_for(lambda: "no brand" in text(app, "add-preview"))
        assert "choose the VIN's brand in the Brand list" in text(app, "add-preview")
        assert "on the line" not in text(app, "add-preview")  # that is the paste tab's advice
        assert submit(app).disabled
        app.screen.query_one("#add-brand", Select).value = "kia"
        await wait_for(lambda: not submit(app).disabled)
        await pilot.pause()


async def test_the_brand_list_asks_for_the_brand_or_the_default_of_each_tab() -> None:
    app = add_app()
    async with app.run_test(size=(100, 40)) as pilot:
        brand = app.screen.query_one("#add-brand", Select)
        assert brand.prompt == "Brand"  # one VIN: its brand
        await switch_tab(pilot, app, "add-paste")
        await wait_for(lambda: brand.prompt == "Brand (default for lines without one)")
        await switch_tab(pilot, app, "add-csv")
        await wait_for(lambda: brand.prompt == "Brand (default for rows without one)")


async def test_vw_group_brand_asks_for_the_customer_name_tag_and_warns_without_it() -> None:
    app = add_app()
    async with app.run_test(size=(80, 24)) as pilot:
        customer = app.screen.query_one("#add-vw-customer", Input)
        row = app.screen.query_one("#add-vw-row")
        assert not row.display
        app.screen.query_one("#add-vin", Input).value = EURO
        app.screen.query_one("#add-brand", Select).value = "volkswagen"
        await wait_for(lambda: row.display)
        await wait_for(lambda: f"needs the tag {VW_CUSTOMER_TAG}" in text(app, "add-preview"))
        # a warning, not an error: support may have configured a default (docs/platform.md#tags)
        assert app.screen.preview.items[0].tags is None
        customer.value = "ACME Fleet"
        await wait_for(lambda: f"needs the tag {VW_CUSTOMER_TAG}" not in text(app, "add-preview"))
        assert app.screen.preview.items[0].tags == {VW_CUSTOMER_TAG: "ACME Fleet"}
        await pilot.pause()


async def test_tags_are_parsed_and_a_malformed_tag_is_named() -> None:
    app = add_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#add-brand", Select).value = "bmw"
        app.screen.query_one("#add-vin", Input).value = GOOD
        app.screen.query_one("#add-tags", Input).value = "fleet=north, oops"
        await wait_for(lambda: "tag 'oops' is not key=value" in text(app, "add-preview"))
        app.screen.query_one("#add-tags", Input).value = "fleet=north, use=[red]x[/]"
        await wait_for(lambda: not submit(app).disabled)
        assert app.screen.preview.items[0].tags == {"fleet": "north", "use": "[red]x[/]"}
        await pilot.pause()


async def test_pasted_lines_name_each_bad_line_and_use_the_default_brand() -> None:
    app = add_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await switch_tab(pilot, app, "add-paste")
        app.screen.query_one("#add-brand", Select).value = "bmw"
        app.screen.query_one("#add-lines", TextArea).text = (
            f"{GOOD}\n# a comment\nWBA123,bmw\n{EURO},volkswagen,{VW_CUSTOMER_TAG}=ACME\n"
            f"5YJ3E1EA7KF000001,nosuchbrand\n{GOOD}\n"
        )
        await wait_for(lambda: "line 3:" in text(app, "add-preview"))
        preview = text(app, "add-preview")
        assert preview.startswith("Preview: 2 to add · 2 lines skipped (2 errors) · 3 warnings")
        assert "line 3: WBA123 has 6 characters" in preview
        assert "line 5: unknown brand 'nosuchbrand'" in preview  # errors first, then warnings
        assert "! Duplicates: each VIN is sent once (1)" in preview  # every problem, grouped
        assert f"line 6: {GOOD} is also on line 1: sent once" in preview
        assert "… and" not in preview
        assert any(
            "line 6: " in str(w) and "also on line 1" in str(w) for w in app.screen.preview.warnings
        )
        assert str(submit(app).label) == "Add 2"
        items = app.screen.preview.items
        assert [(i.vin, i.brand) for i in items] == [(GOOD, "bmw"), (EURO, "volkswagen")]
        await pilot.pause()


async def test_csv_file_preview_names_bad_rows(tmp_path: Path) -> None:
    csv_file = tmp_path / "cars.csv"
    csv_file.write_text(
        f"vin,brand,tag:fleet\n{GOOD},bmw,north\nSHORT,bmw,\n"
        f"{EURO},audi,\n5YJ3E1EA7KF000001,tesla,south\n",
        encoding="utf-8",
    )
    app = add_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await switch_tab(pilot, app, "add-csv")
        path = app.screen.query_one("#add-csv-path", Input)
        path.value = str(csv_file)
        path.focus()
        await pilot.press("enter")
        await wait_for(lambda: "line 3:" in text(app, "add-preview"))
        preview = text(app, "add-preview")
        assert "SHORT has 5 characters" in preview
        assert f"line 4: Audi needs the tag {VW_CUSTOMER_TAG}" in preview
        assert preview.startswith("Preview: 3 to add · 1 line skipped (1 error)")
        app.screen.query_one("#add-vw-customer", Input).value = "ACME"
        await wait_for(lambda: f"needs the tag {VW_CUSTOMER_TAG}" not in text(app, "add-preview"))
        tags = {i.vin: i.tags for i in app.screen.preview.items}
        assert tags[GOOD] == {"fleet": "north"} and tags[EURO] == {VW_CUSTOMER_TAG: "ACME"}


async def test_unreadable_csv_file_is_explained(tmp_path: Path) -> None:
    app = add_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await switch_tab(pilot, app, "add-csv")
        path = app.screen.query_one("#add-csv-path", Input)
        path.value = str(tmp_path / "missing.csv")
        path.focus()
        await pilot.press("enter")
        await wait_for(lambda: "no such file" in text(app, "add-preview"))
        assert submit(app).disabled


async def test_read_only_refuses_to_add() -> None:
    app = add_app(read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Read-only mode" in text(app, "add-preview")
        app.screen.query_one("#add-brand", Select).value = "bmw"
        app.screen.query_one("#add-vin", Input).value = GOOD
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert submit(app).disabled
        assert any("Read-only" in n.message for n in app._notifications)


async def test_import_mode_opens_on_the_csv_tab() -> None:
    session = RosterSession()
    app = ScreenHost(lambda: AddScreen(session, mode="csv"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#add-tabs", TabbedContent).active == "add-csv"
        assert app.screen.query_one("#add-csv-path", Input).has_focus


async def test_each_tab_says_what_to_do_before_anything_is_typed_not_an_error() -> None:
    app = add_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "type a VIN" in text(app, "add-preview")
        await switch_tab(pilot, app, "add-paste")
        await wait_for(lambda: "paste or type VIN lines" in text(app, "add-preview"))
        await switch_tab(pilot, app, "add-csv")
        await wait_for(lambda: "CSV file's path" in text(app, "add-preview"))
        assert "error" not in text(app, "add-preview")
        assert any("odometer" in plain(s) for s in app.screen.query("#add-csv Static"))


async def test_the_vw_customer_field_appears_whenever_vw_rows_lack_it_and_tags_them() -> None:
    app = add_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await switch_tab(pilot, app, "add-paste")
        app.screen.query_one("#add-brand", Select).value = "bmw"  # not a VW brand
        app.screen.query_one("#add-lines", TextArea).text = f"{GOOD}\n{EURO},volkswagen\n"
        await wait_for(lambda: "VW Group rows without" in text(app, "add-preview"))
        assert "line 2:" in text(app, "add-preview")
        row = app.screen.query_one("#add-vw-row")
        await wait_for(lambda: not row.has_class("-hidden"), message="the VW customer field")
        app.screen.query_one("#add-vw-customer", Input).value = "ACME"
        await wait_for(lambda: "VW Group rows without" not in text(app, "add-preview"))
        tags = {i.vin: i.tags for i in app.screen.preview.items}
        assert tags[EURO] == {VW_CUSTOMER_TAG: "ACME"} and not tags[GOOD]


async def test_check_digit_warnings_are_summed_up_after_five(tmp_path: Path) -> None:
    csv_file = tmp_path / "euro.csv"
    euro = [f"WVWZZZ1JZXW{n:06d}" for n in range(1, 9)]  # 8 rows failing the check digit
    csv_file.write_text(
        "vin,brand,tag:vw-group-customer-name\n" + "".join(f"{v},volkswagen,ACME\n" for v in euro),
        encoding="utf-8",
    )
    app = add_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await switch_tab(pilot, app, "add-csv")
        path = app.screen.query_one("#add-csv-path", Input)
        path.value = str(csv_file)
        path.focus()
        await pilot.press("enter")
        await wait_for(lambda: "8 to add" in text(app, "add-preview"))
        preview = text(app, "add-preview")
        assert "Check digits: a warning only (many European VINs fail it) (8)" in preview
        assert preview.count("check digit (position 9)") == 5
        assert "… and 3 more rows with a check-digit warning (the same note)" in preview
