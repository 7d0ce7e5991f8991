"""Make the README's screenshots from the real app on the real emulator.

Run from the repository root: `python screenshots/make_screenshots.py` (needs `rsvg-convert`,
Debian package librsvg2-bin). Writes roster.png, detail-rejected.png, feed.png,
feed-stalled.png (the emulator's cars stop sending: the header and the feed turn to a warning),
summary.png, add.png, add-preview.png (a campaign's CSV, its problems grouped) and
add-eligibility.png (the platform's eligibility answers for its rows).
"""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

from hm_tui.domain.reasons import REASONS
from hm_tui.emulator.server import Emulator, EmulatorConfig
from hm_tui.service.config.profiles import profile_from_credentials
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from hm_tui.ui.app import HmTuiApp

HERE = Path(__file__).parent
SIZE = (110, 32)
#: the least silence called a stall in the pictures (30 s by default): the demo's stream is fast,
#: so this is its stall window, and the stalled picture is taken seconds after the cars stop
STALL_FLOOR_S = 8.0
# a rejection whose explanation tells the operator something to do
INTERESTING_REASONS = {r.text for r in REASONS.values() if r.retry_helps} - {"invalid VIN"}


async def until(condition: Callable[[], Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the expected state")
        await asyncio.sleep(0.05)


_TEXT = re.compile(
    r'(<text[^>]*?x=")([\d.]+)("[^>]*?textLength=")([\d.]+)("[^>]*>)([^<]*)(</text>)'
)
_NBSP = "&#160;"


def _shift_leading_spaces(match: re.Match[str]) -> str:
    """rsvg-convert drops the leading spaces of each <text>: move its x instead."""
    head, x, mid, length, tail, text, end = match.groups()
    stripped = text
    while stripped.startswith(_NBSP):
        stripped = stripped[len(_NBSP) :]
    lead = (len(text) - len(stripped)) // len(_NBSP)
    if not lead or not stripped:
        return match[0]
    cells = lead + len(html.unescape(stripped))
    width = float(length) / cells
    return (
        f"{head}{float(x) + lead * width:.1f}{mid}{float(length) - lead * width:.1f}"
        f"{tail}{stripped}{end}"
    )


def to_png(svg: str, name: str) -> None:
    svg = _TEXT.sub(_shift_leading_spaces, svg)
    svg_path = HERE / f"{name}.svg"
    svg_path.write_text(svg, encoding="utf-8")
    subprocess.run(["rsvg-convert", "-o", str(HERE / f"{name}.png"), str(svg_path)], check=True)
    svg_path.unlink()
    print(f"wrote screenshots/{name}.png")


async def main() -> int:
    if shutil.which("rsvg-convert") is None:
        print("rsvg-convert is missing: apt-get install librsvg2-bin", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="hm-tui-shots-") as state:
        emulator = Emulator(EmulatorConfig(state_dir=Path(state), fleet=120, seed=5, speed=60.0))
        await emulator.start()
        try:
            await shoot(emulator, state)
        finally:
            await emulator.stop()
    return 0


async def shoot(emulator: Emulator, state_dir: str) -> None:
    profile = profile_from_credentials(emulator.credentials, "demo")
    assert profile.mqtt is not None
    profile = replace(profile, mqtt=replace(profile.mqtt, stall_floor_s=STALL_FLOOR_S))
    app = HmTuiApp(
        lambda _n: Session(profile, store=Store.memory(), poll_interval=1.0),
        profile="demo",
        demo=True,
        clock=emulator.clock.now_datetime,
        tz=UTC,
        theme="textual-dark",
    )
    async with app.run_test(size=SIZE, notifications=True) as pilot:  # the stall's toast
        await until(lambda: app.loaded and app.roster_screen.table.row_count > 100)
        await pilot.pause()
        await shoot_clean(app, pilot, "roster")

        rejected = next(
            e.vin
            for e in map(app.session.roster.entry, app.session.roster.visible)
            if e and e.status == "rejected" and e.reason in INTERESTING_REASONS
        )
        app.open_detail(rejected)
        await until(lambda: type(app.screen).__name__ == "DetailScreen")
        await pilot.pause(0.5)
        await shoot_clean(app, pilot, "detail-rejected")
        await pilot.press("escape")

        await pilot.press("f")
        feed = app.session.feed
        await until(lambda: feed is not None and feed.state.received > 150)
        await pilot.pause(0.5)
        await shoot_clean(app, pilot, "feed")

        await publishing(emulator, paused=True)  # the cars stop sending; the broker stays up
        await until(lambda: app.roster_screen.header.state.mqtt_level == "warning", 60)
        await pilot.pause(0.5)
        to_png(app.export_screenshot(), "feed-stalled")
        await publishing(emulator, paused=False)
        await until(lambda: app.roster_screen.header.state.mqtt_level == "ok", 30)
        await pilot.press("f")

        await pilot.press("g")
        await until(lambda: getattr(app.screen, "summary", None) is not None)
        await pilot.pause(0.3)
        to_png(app.export_screenshot(), "summary")
        await pilot.press("escape")
        await until(lambda: app.screen is app.roster_screen)

        await pilot.press("a")
        await until(lambda: type(app.screen).__name__ == "AddScreen")
        await pilot.pause(0.3)
        await shoot_clean(app, pilot, "add")
        await pilot.press("escape")
        await until(lambda: app.screen is app.roster_screen)

        await shoot_add_preview(app, pilot, Path(state_dir))


#: A campaign file with the problems the add preview groups: a line that is no clearance, a
#: duplicate, a check digit that does not match, VW Group rows without the customer name.
CAMPAIGN_CSV = """vin,brand,tag:fleet
WBA3A5C53CF256985,bmw,north
WBA3A5C53CF256985,bmw,north
WBA3A5C53CF256986,bmw,north
WVWZZZAUZJW000001,volkswagen,north
WAUZZZF49HA000002,audi,north
TMBJJ7NE0L0000003,skoda,north
not-a-vin,bmw,north
1FADP3F20JL000004,fordd,north
5YJ3E1EA7KF000001,tesla,north
"""


async def shoot_add_preview(app: HmTuiApp, pilot: Any, folder: Path) -> None:
    """The add dialog on a CSV of a campaign: its preview grouped (add-preview), then the
    platform's eligibility answers below it (add-eligibility; nothing is sent)."""
    from textual.widgets import Input

    csv_file = folder / "campaign.csv"
    csv_file.write_text(CAMPAIGN_CSV, encoding="utf-8")
    app.open_add("csv")
    await until(lambda: type(app.screen).__name__ == "AddScreen")
    await until(lambda: app.screen.query("#add-csv-path") and app.screen.query("#add-eligibility"))
    await pilot.pause(0.3)
    path = app.screen.query_one("#add-csv-path", Input)
    path.value = str(csv_file)
    path.focus()
    await pilot.press("enter")
    await until(lambda: "to add" in str(app.screen.query_one("#add-preview").render()))
    await pilot.pause(0.3)
    app.screen.query_one("#add-body").scroll_home(animate=False)
    await shoot_clean(app, pilot, "add-preview")
    await pilot.press("ctrl+g")
    await until(lambda: str(app.screen.query_one("#add-eligibility").render()).startswith("Eli"))
    await shoot_clean(app, pilot, "add-eligibility")


async def shoot_clean(app: HmTuiApp, pilot: Any, name: str) -> None:
    """A picture without the toasts of the moment (the demo's rejections come and go)."""
    app.clear_notifications()
    await pilot.pause(0.3)
    to_png(app.export_screenshot(), name)


async def publishing(emulator: Emulator, *, paused: bool) -> None:
    """Pause or resume the emulator's cars (its control API: the stream stalls, connections
    stay up)."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{emulator.url}/_emulator/faults", json={"publish_paused": paused}
        )
        answer.raise_for_status()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
