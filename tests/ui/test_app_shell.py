"""The shell around the roster: entry point without a profile, colours, export, keymap checks."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest
from textual.widgets import Input

from hm_tui.cli.main import main
from hm_tui.emulator.server import Emulator
from hm_tui.service.files.csv_export import export_file
from hm_tui.ui.keymap import resolve_keymap
from hm_tui.ui.screens.export_prompt import ExportScreen, export_target
from hm_tui.ui.terminal import default_theme
from tests.helpers import wait_for
from tests.ui.app_support import loaded, make_app, notifications
from tests.ui.roster_fleet import clearance


def test_without_a_profile_it_explains_how_to_configure_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HM_TUI_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.delenv("HM_TUI_PROFILE", raising=False)
    assert main([]) == 2  # a configuration problem is a usage error, as for every command
    err = capsys.readouterr().err
    assert "hm-tui config import credentials.json" in err
    assert err.count("hm-tui --demo") == 1  # said once
    assert "Traceback" not in err


def test_16_colour_terminals_get_the_terminal_palette_theme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HM_TUI_THEME", raising=False)
    assert default_theme("standard") == "ansi-dark"
    assert default_theme("256") == "textual-dark"
    monkeypatch.setenv("HM_TUI_THEME", "nord")
    assert default_theme("truecolor") == "nord"


async def test_no_color_still_shows_every_status_as_text(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)):
        await loaded(app, emulator)
        assert app.no_color
        table = app.roster_screen.table
        rows = "".join(table.render_line(y).text for y in range(1, table.size.height))
        statuses = {app.session.roster.entry(v).status for v in app.session.roster.visible[:10]}
        assert all(status in rows for status in statuses)


async def test_export_asks_where_then_writes_the_shown_clearances(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("3")  # only rejected
        app.export_shown()
        await wait_for(
            lambda: isinstance(app.screen, ExportScreen) and app.screen.query("#export-path")
        )
        proposed = app.screen.query_one("#export-path", Input).value
        assert proposed.startswith(str(tmp_path)) and proposed.endswith(".csv")
        await pilot.press("enter")
        written = await wait_for(lambda: list(tmp_path.glob("hm-tui-export-*.csv")))
        await wait_for(lambda: any("Exported" in n for n in notifications(app)))
        app.export_shown()  # Escape: nothing written
        await wait_for(
            lambda: isinstance(app.screen, ExportScreen) and app.screen.query("#export-path")
        )
        await pilot.press("escape")
        assert app.screen is app.roster_screen
    rows = list(csv.DictReader(written[0].open()))
    assert rows and {row["status"] for row in rows} == {"rejected"}
    assert stat.S_IMODE(written[0].stat().st_mode) == 0o600, "the fleet's cars: owner only"
    assert len(list(tmp_path.glob("*.csv"))) == 1


def test_an_export_target_that_exists_is_a_directory_or_has_no_directory_is_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "taken.csv").write_text("x")
    assert export_target(str(tmp_path / "new.csv")) == (tmp_path / "new.csv", "")
    for text, words in (
        ("", "file name"),
        (str(tmp_path), "is a directory"),
        (str(tmp_path / "taken.csv"), "exists"),
        (str(tmp_path / "nope" / "a.csv"), "No directory"),
    ):
        path, problem = export_target(text)
        assert path is None and words in problem
    assert (tmp_path / "taken.csv").read_text() == "x"


def test_export_cells_cannot_run_as_spreadsheet_formulas(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    export_file(
        path, [clearance("WBA00000000000001", "approved", tags={"note": '=HYPERLINK("x")'})]
    )
    row = next(csv.DictReader(path.open()))
    assert row["tag:note"] == '\'=HYPERLINK("x")'


def test_keymap_entries_are_checked_against_binding_ids() -> None:
    keymap, problems = resolve_keymap(
        {"roster.add": "ctrl+a", "nope": "x", "app.quit": " "}, known={"detail.back"}
    )
    assert keymap == {"roster.add": "ctrl+a"}
    assert any("'nope'" in p for p in problems) and any("'app.quit'" in p for p in problems)
