"""The shell around the roster: entry point without a profile, colours, export, keymap checks."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hm_tui.cli.main import main
from hm_tui.emulator.server import Emulator
from hm_tui.ui.export import write_clearances_csv
from hm_tui.ui.keymap import resolve_keymap
from hm_tui.ui.terminal import default_theme
from tests.helpers import wait_for
from tests.ui.app_support import loaded, make_app, notifications
from tests.ui.roster_fleet import clearance


def test_without_a_profile_it_explains_how_to_configure_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HM_TUI_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.delenv("HM_TUI_PROFILE", raising=False)
    assert main([]) == 1
    err = capsys.readouterr().err
    assert "hm-tui config import credentials.json" in err
    assert "hm-tui --demo" in err
    assert "Traceback" not in err


def test_16_colour_terminals_get_the_terminal_palette_theme(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HM_TUI_THEME", raising=False)
    assert default_theme("standard") == "ansi-dark"
    assert default_theme("256") == "textual-dark"
    monkeypatch.setenv("HM_TUI_THEME", "nord")
    assert default_theme("truecolor") == "nord"


async def test_no_color_still_shows_every_status_as_text(
        emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)):
        await loaded(app, emulator)
        assert app.no_color
        table = app.roster_screen.table
        rows = "".join(table.render_line(y).text for y in range(1, table.size.height))
        statuses = {app.session.roster.entry(v).status for v in app.session.roster.visible[:10]}
        assert all(status in rows for status in statuses)


async def test_export_writes_the_shown_clearances(emulator: Emulator, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("3")  # only rejected
        app.export_shown()
        written = await wait_for(lambda: list(tmp_path.glob("hm-tui-export-*.csv")))
        await wait_for(lambda: any("Exported" in n for n in notifications(app)))
    rows = list(csv.DictReader(written[0].open()))
    assert rows and {row["status"] for row in rows} == {"rejected"}


def test_export_cells_cannot_run_as_spreadsheet_formulas(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_clearances_csv(path, [clearance("WBA00000000000001", "approved",
                                          tags={"note": "=HYPERLINK(\"x\")"})])
    row = next(csv.DictReader(path.open()))
    assert row["tag:note"] == "'=HYPERLINK(\"x\")"


def test_keymap_entries_are_checked_against_binding_ids() -> None:
    keymap, problems = resolve_keymap({"roster.add": "ctrl+a", "nope": "x", "app.quit": " "},
                                      known={"detail.back"})
    assert keymap == {"roster.add": "ctrl+a"}
    assert any("'nope'" in p for p in problems) and any("'app.quit'" in p for p in problems)
