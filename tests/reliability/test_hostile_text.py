"""Terminal injection, tried as an attacker would: tag KEYS carrying OSC 52 and `ESC[2J` (they
become CSV headers), bidi overrides and isolates that make a value read as another VIN,
zero-width characters, a reason with a newline and a shell command headed for the clipboard.
Through the real CLI (`vins list`, `--csv`, `export`, `show`) and the real dashboard (roster,
detail, feed, toasts, `c`/`y`, the CSV export): nothing that can act on a terminal gets out."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for
from textual.widgets import Input

from hm_tui.cli.main import main
from hm_tui.emulator.server import Emulator
from hm_tui.ui.app import HmTuiApp
from hm_tui.ui.screens.export_prompt import ExportScreen
from reliability.figures import Figures
from reliability.mqtt_faults import payload
from reliability.support import emulator_profile, write_config
from reliability.test_inert_text import make_app, screen_text, show_only
from tests.service.platform_helpers import Control
from tests.ui.app_support import notifications

# Everything that can act on a terminal or hide what it shows (newlines allowed between lines).
ACTIVE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
KEY = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2Jcc\u202e"  # OSC 52 (set the clipboard), clear screen, RLO
RLO_VIN = "\u202e" + "WBA3A5C53CF256985"[::-1]  # displays as a real-looking VIN if passed raw
REASON = "Vehicle\u2066 not eligible\u2069\u200b\nrm -rf ~\r\n\x1b[31mnow"
RESIDUE = ("]52;", "[2J", "[31m")


async def hostile_fleet(emulator: Emulator) -> tuple[str, str]:
    control = Control(emulator)
    tagged, rejected = sorted(emulator.state.clearances)[:2]
    await control.force(tagged, tags={KEY: RLO_VIN, "=cmd": "@SUM(1)"})
    await control.force(rejected, status="rejected", reason=REASON, tags={KEY: "x"})
    return tagged, rejected


def assert_inert(text: str, where: str) -> None:
    assert not ACTIVE.search(text), (where, ascii(ACTIVE.search(text)))
    assert not any(residue in text for residue in RESIDUE), (where, text[-400:])


@pytest.fixture
def configured(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = write_config(tmp_path / "c.toml", emulator_profile(emulator))
    monkeypatch.setenv("HM_TUI_CONFIG", str(config))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_cli_tag_keys_and_bidi_never_reach_the_terminal_nor_a_csv_header(
    emulator: Emulator, configured: Path, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    tagged, rejected = await hostile_fleet(emulator)
    for argv in (
        ["vins", "list"],
        ["vins", "list", "--csv"],
        ["vins", "export"],
        ["vins", "export", "--csv"],
        ["vins", "show", tagged],
        ["vins", "show", rejected],
    ):
        figures.tried("hostile text through the CLI (keys, bidi, zero-width)")
        code, out, err = await run(capsys, *argv)
        assert code == 0, (argv, err)
        assert_inert(out + err, " ".join(argv))
        if "--csv" in argv or argv[1] == "export":
            rows = list(csv.reader(io.StringIO(out)))
            header = rows[0]
            assert "tag:cc" in header and "'tag:=cmd" not in header, header
            assert len(set(header)) == len(header)
            by_vin = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
            assert by_vin[tagged]["tag:cc"] == "WBA3A5C53CF256985"[::-1]
            assert by_vin[tagged]["tag:=cmd"] == "'@SUM(1)", "a formula cell is made inert"
            assert by_vin[rejected]["reason"] == "Vehicle not eligible rm -rf ~ now"


async def test_dashboard_roster_feed_toasts_clipboard_and_export_are_inert(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    tagged, rejected = await hostile_fleet(emulator)
    app = make_app(emulator)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_for(
            lambda: app.session is not None and rejected in app.session.roster.visible,
            15,
            message="the roster loaded",
        )
        surfaces: dict[str, str] = {}
        await show_only(pilot, app, tagged)
        surfaces["roster row (tags)"] = screen_text(app)
        await pilot.press("c")  # copy the VIN
        surfaces["clipboard after c"] = app.clipboard
        await pilot.press("slash", "escape")
        await show_only(pilot, app, rejected)
        surfaces["roster row (reason)"] = screen_text(app)
        await pilot.press("enter")
        await wait_for(lambda: "now" in screen_text(app), 5, message="the detail screen")
        surfaces["detail screen"] = screen_text(app)
        await pilot.press("y")  # copy the reason
        await wait_for(lambda: app.clipboard != surfaces["clipboard after c"], 5)
        surfaces["clipboard after y"] = app.clipboard
        assert app.clipboard == "Vehicle not eligible rm -rf ~ now", ascii(app.clipboard)
        await pilot.press("escape")

        await pilot.press("f")
        app.session.feed.ingest("t", payload("9" * 64, RLO_VIN))
        await wait_for(lambda: "WBA3A5C53CF256985"[::-1] in screen_text(app), 5)
        surfaces["feed panel"] = screen_text(app)
        await pilot.press("f")

        await Control(emulator).force(tagged, status="rejected", reason=REASON)
        await pilot.press("r")
        await wait_for(lambda: app._notifications and "rm -rf" in screen_text(app), 10)
        surfaces["rejection toast"] = screen_text(app)
        exported = await export(app, pilot, tmp_path)
        surfaces["exported CSV"] = exported.read_text()
    for where, text in surfaces.items():
        figures.tried(f"hostile text in the dashboard's {where}")
        assert_inert(text, where)
    assert "\n" not in surfaces["clipboard after c"] + surfaces["clipboard after y"]
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    header = next(csv.reader(io.StringIO(surfaces["exported CSV"])))
    assert "tag:cc" in header, header


async def export(app: HmTuiApp, pilot: Any, where: Path) -> Path:
    """The palette's export, through its prompt; the file it wrote."""
    await pilot.press("slash", "escape")
    app.export_shown()
    await wait_for(
        lambda: isinstance(app.screen, ExportScreen) and app.screen.query("#export-path")
    )
    app.screen.query_one("#export-path", Input).value = str(where / "export.csv")
    await pilot.press("enter")
    await wait_for(lambda: any("Exported" in n for n in notifications(app)), 10)
    return where / "export.csv"


async def test_a_message_on_one_vins_topic_naming_another_vin_is_never_shown_as_that_vin(
    emulator: Emulator, figures: Figures
) -> None:
    figures.tried("hostile MQTT: the payload names another VIN than its topic")
    app = make_app(emulator)
    topic_vin, named = "WBA3A5C53CF256985", "WBA00000400000001"  # (payload() names the second)
    topic = f"sandbox/level13/{emulator.credentials['app_id']}/{{}}/ignition/get/state"
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_for(lambda: app.session is not None and app.session.feed is not None, 15)
        feed = app.session.feed
        await pilot.press("f")
        before = feed.state.bad_payloads
        feed.ingest(topic.format(topic_vin), payload("a" * 64, "spoofed"))
        feed.ingest(topic.format(named), payload("b" * 64, "honest"))
        await wait_for(lambda: "honest" in screen_text(app), 10, message="the honest message")
        await wait_for(lambda: feed.state.bad_payloads == before + 1, 5)
        assert "spoofed" not in screen_text(app)
