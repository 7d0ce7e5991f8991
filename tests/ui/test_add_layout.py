"""The add dialog at 80x24, keyboard only: a big CSV's preview stays short, progress and results
stay in view below it, results are browsed failures first, and focus shows without colour."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Button, Input, Label, Static

from hm_tui.emulator.server import Emulator
from hm_tui.service.models import NO_ANSWER, NOT_SENT, ItemResult
from hm_tui.ui.screens.add import AddScreen
from hm_tui.ui.widgets.add_results import AddResults
from tests.helpers import wait_for
from tests.ui.screens_support import RosterSession, ScreenHost, control, plain, started_session

WARNED = 300  # rows whose VIN fails the check digit: sent, with a warning each
BAD_ROWS = "SHORT,nosuch\nXX,\nWBA123,bmw\n"  # 3 rows, 5 errors between them


def big_csv(tmp_path: Path) -> Path:
    path = tmp_path / "big.csv"
    rows = "".join(f"WVWZZZ1JZXW{n:06d},bmw\n" for n in range(WARNED))
    path.write_text("vin,brand\n" + rows + BAD_ROWS, encoding="utf-8")
    return path


async def read_csv(pilot: Any, app: ScreenHost, path: Path) -> None:
    field = app.screen.query_one("#add-csv-path", Input)
    field.value = str(path)
    field.focus()
    await pilot.press("enter")
    await wait_for(lambda: "to add" in plain(app.screen.query_one("#add-preview", Static)))


def visible(app: ScreenHost, selector: str) -> bool:
    """The widget is drawn inside the dialog, above its buttons (not scrolled out of view)."""
    widget = app.screen.query_one(selector)
    dialog = app.screen.query_one("#add-dialog").region
    buttons = app.screen.query_one("#add-buttons").region
    region = widget.region
    return bool(region.height) and dialog.contains_region(region) and region.bottom <= buttons.y


async def test_a_csv_with_hundreds_of_warnings_gets_a_short_preview_and_a_short_button(
    tmp_path: Path,
) -> None:
    app = ScreenHost(lambda: AddScreen(RosterSession(), mode="csv"))
    async with app.run_test(size=(80, 24)) as pilot:
        await read_csv(pilot, app, big_csv(tmp_path))
        preview = plain(app.screen.query_one("#add-preview", Static)).splitlines()
        assert preview[0] == "Preview: 300 to add · 3 lines skipped (5 errors) · 300 warnings"
        assert preview[1] == "✗ Errors (5): not sent"
        assert all(line.startswith("  line ") for line in preview[2:7])
        # every error is listed; the check-digit doubts (the same note, row after row) are
        # summed up after five, as `hm-tui vins add` does
        assert preview[-1].startswith("  … and 295 more rows with a check-digit warning"), preview
        assert sum("check digit (position 9)" in line for line in preview) == 5
        submit = app.screen.query_one("#add-submit", Button)
        assert str(submit.label) == "Add 300"
        assert len(str(submit.label)) <= submit.content_region.width  # not cut at 80 columns


async def test_progress_and_results_stay_in_view_below_a_long_preview(
    emulator: Emulator, credentials: dict, tmp_path: Path
) -> None:
    async with started_session(credentials) as session:
        app = ScreenHost(lambda: AddScreen(session, mode="csv"))
        async with app.run_test(size=(80, 24)) as pilot:
            await read_csv(pilot, app, big_csv(tmp_path))
            await control(emulator, "faults", {"latency_ms": 300})  # time to see the progress
            await pilot.press("ctrl+s")
            await wait_for(lambda: visible(app, "#add-progress") and visible(app, "#add-status"))
            await control(emulator, "faults", {})
            status = app.screen.query_one("#add-status", Static)
            await wait_for(lambda: "Results: 300 of 300 ok" in plain(status), timeout=20)
            await wait_for(lambda: visible(app, "#add-status") and visible(app, "#add-results"))
            results = app.screen.query_one(AddResults)
            assert results.has_focus and results.region.height >= 3
            await pilot.press("pagedown")  # browsable from the keyboard
            await wait_for(lambda: results.scroll_offset.y > 0)


async def test_results_are_listed_failures_first_each_kind_in_sent_order() -> None:
    view = AddResults()
    app = ScreenHost(widget=view)
    async with app.run_test(size=(80, 24)) as pilot:
        view.show(
            [
                ItemResult("V1", "pending"),
                ItemResult("V2", NOT_SENT),
                ItemResult("V3", "error", "HTTP 400: [b]bad[/b]"),
                ItemResult("V4", NO_ANSWER),
                ItemResult("V5", "error", "The brand is invalid"),
            ]
        )
        await pilot.pause()
        assert [line.split()[:3] for line in view.lines] == [
            ["✗", "V3", "error:"],
            ["✗", "V5", "error:"],
            ["–", "V4", "no"],
            ["–", "V2", "not"],
            ["✓", "V1", "pending"],
        ]
        assert view.lines[0].endswith("HTTP 400: [b]bad[/b]")  # literally, never markup


def reversed_labels(app: ScreenHost) -> list[str]:
    return [
        plain(label)
        for label in app.screen.query(".add-label").results(Label)
        if label.styles.text_style.reverse
    ]


async def test_the_focused_fields_label_is_drawn_reversed_which_needs_no_colour() -> None:
    """Reverse video is a text attribute: NO_COLOR and 16-colour terminals keep it."""
    app = ScreenHost(lambda: AddScreen(RosterSession()))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: reversed_labels(app) == ["VIN"])
        await pilot.press("tab")
        await wait_for(lambda: reversed_labels(app) == ["Tags"])
        await pilot.press("tab")
        await wait_for(lambda: reversed_labels(app) == ["Brand"])
        app.screen.query_one("#add-vin", Input).value = "X"
        assert app.screen.query_one("#add-vin-row .add-label", Label).display  # a label, always
