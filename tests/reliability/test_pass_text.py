"""Independent pass (issue 20), text: new cases of "secrets leaking" and "terminal injection",
from a hostile platform on loopback through the real CLI and the dashboard.

Secrets echoed in the forms an echo takes (upper case, percent-encoded, character references,
JSON escapes, base64 inside a Basic credential) or disguised for a person (a soft hyphen, a
combining mark, a variation selector, a Hangul filler, fullwidth letters, a Cyrillic `е`);
every kind of escape string (8-bit CSI, DCS, APC, PM, SOS, OSC ended by BEL or ST or not at all)
and every invisible character Unicode names, in every field a clearance has; file names and
arguments that carry escapes, quoted back in messages."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for

from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from hm_tui.ui.app import HmTuiApp
from reliability.fake_platform import SECRET, Answer, FakePlatform
from reliability.figures import Figures
from reliability.hostile_checks import assert_inert, run_cli
from reliability.support import HM_TUI, vins
from reliability.test_inert_text import screen_text
from tests.ui.app_support import notifications

VINS = vins(3, wmi="WBA", start=800)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


ECHOES = {
    "upper case": SECRET.upper(),
    "percent-encoded, every byte": "".join(f"%{b:02X}" for b in SECRET.encode()),
    "HTML character references": "".join(f"&#{ord(c)};" for c in SECRET),
    "HTML hex references": "".join(f"&#x{ord(c):X};" for c in SECRET),
    "JSON escapes, echoed as text": "".join(f"\\u{ord(c):04x}" for c in SECRET),
    "base64 of client:secret": base64.b64encode(f"fake-client:{SECRET}".encode()).decode(),
    "base64url, one byte before": base64.urlsafe_b64encode(b"x" + SECRET.encode()).decode(),
    "soft hyphen inside": SECRET[:9] + "\u00ad" + SECRET[9:],
    "U+2063 inside": SECRET[:5] + "\u2063" + SECRET[5:],
    "combining grapheme joiner": SECRET[:9] + "\u034f" + SECRET[9:],
    "combining acute accent": SECRET[:9] + "\u0301" + SECRET[9:],
    "variation selector": SECRET[:9] + "\ufe0f" + SECRET[9:],
    "Hangul filler": SECRET[:9] + "\u3164" + SECRET[9:],
    "fullwidth letters": fullwidth(SECRET),
    "Cyrillic look-alikes": SECRET.replace("e", "\u0435").replace("a", "\u0430"),
    "8-bit CSI inside": SECRET[:9] + "\x9b0m" + SECRET[9:],
    "DCS string inside": SECRET[:9] + "\x1bPq#0\x1b\\" + SECRET[9:],
}


def leaked(text: str) -> bool:
    """Any 8 characters of the secret in a row, in any case, in `text` (or its decoded forms),
    past its first 5 (`fake-` is the client id's too)."""
    readings = [text, urllib.parse.unquote(text)]
    for word in text.split():
        try:
            readings.append(base64.b64decode(word + "==", altchars=b"-_").decode("latin-1"))
        except ValueError:
            continue
    lowered = [r.lower() for r in readings]
    secret = SECRET.lower()
    return any(secret[at : at + 8] in r for r in lowered for at in range(5, len(secret) - 7))


def error_echoing(secret: str) -> bytes:
    detail = f"client_id fake-client with {secret} refused"
    return json.dumps({"errors": [{"title": "Bad request", "detail": detail}]}).encode()


@pytest.mark.parametrize("form", ECHOES, ids=list(ECHOES))
async def test_a_secret_echoed_in_another_form_never_shows_in_the_cli(
    hostile: FakePlatform,
    hostile_cli: Any,
    capsys: pytest.CaptureFixture[str],
    form: str,
    figures: Figures,
) -> None:
    figures.tried("independent pass: a secret echoed encoded or disguised (CLI)")
    hostile.answer("list", Answer(400, error_echoing(ECHOES[form])))
    code, out, err = await run_cli(capsys, "vins", "list", "-v")
    assert code == 1 and "[redacted]" in err, err
    assert not leaked(out + err), err


async def test_a_secret_echoed_in_another_form_never_shows_in_a_toast(
    hostile: FakePlatform, figures: Figures
) -> None:
    for form in ("upper case", "percent-encoded, every byte", "fullwidth letters", "Hangul filler"):
        figures.tried("independent pass: a secret echoed encoded or disguised (dashboard)")
        hostile.answer("list", Answer(400, error_echoing(ECHOES[form])))
        app = app_on(hostile)
        async with app.run_test(size=(120, 30)):
            await wait_for(lambda a=app: any("refused" in n for n in notifications(a)), 10)
            seen = " ".join(notifications(app)) + screen_text(app)
            assert "[redacted]" in seen and not leaked(seen), (form, seen[-300:])


# -- every kind of escape string, every invisible character, in every field -----------------
SEQUENCES = {
    "8-bit CSI": "\x9b2J\x9b31m",
    "DCS (sixel)": "\x1bPq#0;2;0;0;0#0!100~\x1b\\",
    "APC (kitty graphics)": "\x1b_Gf=100;AAAA\x1b\\",
    "PM": "\x1b^private\x1b\\",
    "SOS": "\x1bXstart\x1b\\",
    "OSC 52 ended by BEL": "\x1b]52;c;cm0gLXJmIH4=\x07",
    "OSC 8 ended by ST": "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
    "8-bit OSC and ST": "\x9d0;title\x9c",
    "unterminated OSC": "\x1b]0;title",
    "unterminated CSI": "\x1b[3",
}
INVISIBLE = "\u00ad\u034f\u115f\u1160\u17b4\u180b\u3164\ufe0f\uffa0\U000e0100\U0001d173"


def poisoned(tail: str) -> str:
    return f"a{tail}{INVISIBLE}b"


def hostile_items() -> list[dict[str, Any]]:
    items = []
    for number, tail in enumerate(SEQUENCES.values()):
        text = poisoned(tail)
        items.append(
            {
                "vin": VINS[number % 2] if number < 2 else f"{VINS[2][:-2]}{number:02d}{text}",
                "status": "rejected",
                "brand": text,
                "tags": {text: text, "plain": text},
                "changelog": [
                    {"timestamp": "2024-01-01T00:00:00Z", "status": "rejected", "reason": text}
                ],
            }
        )
    return items


async def test_every_escape_string_and_invisible_character_is_inert_in_the_cli(
    hostile: FakePlatform, hostile_cli: Any, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    hostile.answer("list", Answer(200, json.dumps(hostile_items()).encode()))
    hostile.answer("one", Answer(200, json.dumps(hostile_items()[0]).encode()))
    for argv in (
        ["vins", "list"],
        ["vins", "list", "--csv"],
        ["vins", "export"],
        ["vins", "summary"],
        ["vins", "show", VINS[0]],
    ):
        figures.tried("independent pass: escape strings and invisible characters (CLI)", 10)
        code, out, err = await run_cli(capsys, *argv)  # (checks that nothing is active)
        assert code in (0, 1), (argv, err)
        assert "]52;" not in out and "2J" not in out and "Gf=100" not in out, (argv, out[-500:])


async def test_a_csv_written_to_a_file_then_shown_is_inert(
    hostile: FakePlatform, hostile_cli: Path, figures: Figures
) -> None:
    """`hm-tui vins export --csv > f.csv; cat f.csv`: the file itself holds nothing active."""
    figures.tried("independent pass: a CSV file written by the real binary, then shown")
    hostile.answer("list", Answer(200, json.dumps(hostile_items()).encode()))
    target = hostile_cli / "export.csv"
    with target.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *HM_TUI, "vins", "export", "--csv", env=dict(os.environ), stdout=sink, stderr=-1
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err
    assert_inert(target.read_text(encoding="utf-8"), "export.csv")


def app_on(hostile: FakePlatform) -> HmTuiApp:
    def session_for(_name: str | None) -> Session:
        return Session(hostile.profile(), store=Store.memory())

    return HmTuiApp(session_for, profile="fake")


async def test_every_escape_string_and_invisible_character_is_inert_on_screen(
    hostile: FakePlatform, figures: Figures
) -> None:
    figures.tried("independent pass: escape strings and invisible characters (dashboard)", 10)
    hostile.answer("list", Answer(200, json.dumps(hostile_items()).encode()))
    hostile.answer("one", Answer(200, json.dumps(hostile_items()[0]).encode()))
    app = app_on(hostile)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(lambda: app.roster_screen.table.row_count >= 3, 10, message="the roster")
        assert_inert(screen_text(app), "roster")
        await pilot.press("c")
        assert_inert(app.clipboard, "clipboard")
        await pilot.press("g")
        await wait_for(lambda: "decided" in screen_text(app), 10, message="the summary")
        assert_inert(screen_text(app), "summary")
        await pilot.press("escape", "enter")
        await wait_for(lambda: "Tags" in screen_text(app) or "tags" in screen_text(app), 10)
        assert_inert(screen_text(app), "detail")
        await pilot.press("y")
        assert_inert(app.clipboard, "clipboard after y")


# -- file names and arguments quoted back --------------------------------------------------
NAMED = "evil\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u202e\u00ad"


async def test_file_names_and_arguments_with_escapes_are_quoted_inert(
    hostile: FakePlatform,
    hostile_cli: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    figures: Figures,
) -> None:
    figures.tried("independent pass: file names and arguments carrying escapes", 6)
    named = hostile_cli / f"{NAMED}.csv"
    named.write_text("vin,brand\nWBA00000000000000,bmw\n")
    os.mkfifo(hostile_cli / f"fifo{NAMED}.csv")
    for argv in (
        ["config", "import", str(hostile_cli / f"{NAMED}.json")],  # no such file
        ["vins", "add", "--file", str(hostile_cli / f"fifo{NAMED}.csv")],  # not a file
        ["vins", "add", "--file", str(named)],  # a bad row in it
        ["vins", "list", "--unknown", NAMED],  # argparse quotes it
    ):
        with pytest.raises(SystemExit) if "--unknown" in argv else contextlib.nullcontext():
            code, _, err = await run_cli(capsys, *argv)
            assert code != 0 and "hm-tui" in err, (argv, err)
        if "--unknown" in argv:
            assert_inert(capsys.readouterr().err, "argparse")
    monkeypatch.setenv("HM_TUI_CONFIG", str(hostile_cli / f"{NAMED}.toml"))
    for argv in (["vins", "list"], []):  # a command, and the dashboard's own message
        code, _, err = await run_cli(capsys, *argv)
        assert code == 2 and "no configuration at" in err, err
