"""Text from outside (tags, reasons, VINs, payload values) carrying Rich markup or terminal escape
sequences is shown literally or stripped, never interpreted: in every CLI output and in the
dashboard's roster table, detail screen, feed panel and notifications."""

from __future__ import annotations

import asyncio
import io
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from helpers import wait_for
from rich.console import Console

from hm_tui.cli.main import main
from hm_tui.emulator.server import Emulator
from hm_tui.service.config.profiles import profile_from_credentials
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from hm_tui.ui.app import HmTuiApp
from reliability.figures import Figures
from reliability.mqtt_faults import payload
from reliability.support import emulator_profile, write_config
from tests.service.platform_helpers import Control

MARKUP = "[b]x[/b] [link=https://evil.example]click[/link]"
ESCAPES = "\x1b[2J\x1b]52;c;ZXZpbA==\x07\x9b31m\x1b[31m"
HOSTILE = f"{MARKUP} {ESCAPES}end"
MARKUP_VIN = "[B]WBA0000000[/B]"  # 17 characters, as a list from the platform could carry
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


async def hostile_fleet(emulator: Emulator) -> tuple[str, str]:
    """A clearance with hostile tags, one rejected with a hostile reason, one hostile VIN."""
    control = Control(emulator)
    tagged, rejected = sorted(emulator.state.clearances)[:2]
    await control.force(tagged, tags={"note": MARKUP, "esc": ESCAPES})
    await control.force(rejected, status="rejected", reason=HOSTILE)
    await control.force(quote(MARKUP_VIN, safe=""), brand="bmw", tags={"n": HOSTILE})
    return tagged, rejected


def assert_inert(text: str, where: str) -> None:
    assert not RAW_CONTROL.search(text.replace("\n", "")), (where, text[-300:])
    assert "]52;" not in text or "\x07" not in text, where


async def test_cli_output_shows_hostile_text_literally_and_strips_escapes(
    emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    tagged, rejected = await hostile_fleet(emulator)
    monkeypatch.setenv(
        "HM_TUI_CONFIG", str(write_config(tmp_path / "c.toml", emulator_profile(emulator)))
    )
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    commands = [
        ["vins", "list"],
        ["vins", "list", "--csv"],
        ["vins", "export", "--csv"],
        ["vins", "show", tagged],
        ["vins", "show", rejected],
        ["vins", "list", "--json"],
        ["vins", "export", "--json"],
        ["vins", "show", rejected, "--json"],
    ]
    for argv in commands:
        figures.tried("hostile text through the CLI")
        capsys.readouterr()
        code = await asyncio.to_thread(main, argv)
        out, err = capsys.readouterr()
        assert code == 0, (argv, err)
        assert_inert(out + err, " ".join(argv))
        if "--json" in argv:  # JSON escapes it: the exact value survives, harmlessly
            assert {HOSTILE, ESCAPES} & set(strings(json.loads(out))), argv
        elif argv[1] != "show" or argv[2] == tagged:
            assert "[b]x[/b]" in out and "[link=https://evil.example]" in out, argv
        if argv[1:] == ["list"]:
            assert MARKUP_VIN in out


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [s for item in items for s in strings(item)]


# -- the dashboard -----------------------------------------------------------------------------
def screen_text(app: HmTuiApp) -> str:
    """What the terminal shows now, as plain text (the same render as a screenshot)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text(styles=False)


def make_app(emulator: Emulator) -> HmTuiApp:
    profile = profile_from_credentials(emulator.credentials, "hostile")
    profile = replace(profile, private_key_file=None, private_key_id=None)

    def session_for(_name: str | None) -> Session:
        return Session(profile, store=Store.memory())

    return HmTuiApp(session_for, profile="hostile", clock=emulator.clock.now_datetime)


async def show_only(pilot: Any, app: HmTuiApp, vin: str) -> None:
    await pilot.press("slash", *vin[-8:].lower(), "enter")
    await wait_for(lambda: list(app.session.roster.visible) == [vin], 5)


async def test_dashboard_shows_hostile_text_literally_everywhere(
    emulator: Emulator, figures: Figures
) -> None:
    tagged, rejected = await hostile_fleet(emulator)
    app = make_app(emulator)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_for(
            lambda: app.session is not None and rejected in app.session.roster.visible,
            15,
            message="the roster loaded",
        )
        surfaces: dict[str, str] = {}
        await show_only(pilot, app, rejected)
        surfaces["roster table"] = screen_text(app)
        await pilot.press("slash", "escape")
        await show_only(pilot, app, MARKUP_VIN)
        assert MARKUP_VIN in screen_text(app), "a VIN with markup is shown as it is"
        await pilot.press("slash", "escape")
        await show_only(pilot, app, rejected)
        await pilot.press("enter")
        await wait_for(lambda: rejected in screen_text(app) and "end" in screen_text(app), 5)
        surfaces["detail screen"] = screen_text(app)
        await pilot.press("escape")

        feed = app.session.feed
        assert feed is not None, "the emulator profile has MQTT settings"
        await pilot.press("f")
        feed.ingest("t", payload("9" * 64, HOSTILE))
        await wait_for(
            lambda: "click[/link]" in screen_text(app),
            5,
            message=f"the payload in the feed panel: {screen_text(app)[-800:]}",
        )
        surfaces["feed panel"] = screen_text(app)
        await pilot.press("f")

        await Control(emulator).force(tagged, status="rejected", reason=HOSTILE)
        await pilot.press("r")
        await wait_for(
            lambda: app._notifications and "click" in screen_text(app),
            10,
            message="the rejection notification",
        )
        surfaces["notification"] = screen_text(app)
        svg = app.export_screenshot()

    for where, text in surfaces.items():
        figures.tried(f"hostile text in the {where}")
        assert_inert(text, where)
        assert "[link=https://evil.example]" in text, (where, text)
        assert "[b]x[/b]" in text or where == "roster table", (where, text)
    assert_inert(svg, "SVG screenshot")
