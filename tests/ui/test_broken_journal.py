"""A broken journal never takes the roster away (issue 20). The real dashboard (Pilot) over the
session the `hm-tui` entry point makes (`cli.dashboard.open_session`), with the profile's store
file corrupt, locked by another process, or read-only: the roster loads from the platform, a
notification says what is wrong with which file and how to fix it (never "Platform unreachable"),
the journal screen says it too, and an add is sent only after the operator agrees (Escape sends
nothing; `y` sends it once)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select, Static

from hm_tui.cli.dashboard import open_session
from hm_tui.domain.vin import with_check_digit
from hm_tui.service.store.db import Store, default_path
from hm_tui.ui.app import HmTuiApp
from hm_tui.ui.screens.add import AddScreen
from hm_tui.ui.screens.journal import JournalScreen
from hm_tui.ui.screens.no_journal import NoJournalScreen
from tests.helpers import wait_for
from tests.service.platform_helpers import Control
from tests.ui.app_support import loaded, notifications, profile_for
from tests.ui.screens_support import plain

VIN = with_check_digit("WBA00000000880001")
#: Another process holding the file so that it cannot even be read (exclusive locking mode).
HOLD_EXCLUSIVE = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode=EXCLUSIVE")
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""
FIXES = {"corrupt": "move it aside", "locked": "another process", "read-only": "ls -ld"}


@contextmanager
def broken(kind: str, db: Path) -> Iterator[None]:
    """The store file `db` (made once, with a saved roster) broken as `kind` says."""
    if kind == "corrupt":
        with db.open("r+b") as f:
            f.write(b"this is no SQLite database" * 4)
        yield
    elif kind == "locked":  # held the whole time: the dashboard's 5 s wait ends in "locked"
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_EXCLUSIVE, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
            yield
        finally:
            holder.communicate(b"", timeout=10)
    else:  # as root, permission bits are no obstacle: immutable is
        for path in (db, db.parent):
            subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            for path in (db, db.parent):
                subprocess.run(["chattr", "-i", str(path)], check=True)


def dashboard(emulator: Any, state_dir: Path) -> HmTuiApp:
    profile = profile_for(emulator)
    return HmTuiApp(
        lambda _name: open_session(profile, read_only=False, state_dir=state_dir),
        profile="test",
        clock=emulator.clock.now_datetime,
    )


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", ["corrupt", "locked", "read-only"])
async def test_a_broken_journal_leaves_the_roster_and_asks_before_an_add(
    emulator: Any, tmp_path: Path, kind: str
) -> None:
    db = default_path("test", tmp_path)
    Store(db).close()
    control = Control(emulator)
    with broken(kind, db):
        app = dashboard(emulator, tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(app, emulator, timeout=30)
            await wait_for(lambda: any(str(db) in n for n in notifications(app)), 10)
            told = next(n for n in notifications(app) if str(db) in n)
            assert FIXES[kind] in told and "roster" in told
            assert not any("unreachable" in n.lower() for n in notifications(app))
            assert app.session.health.api == "ok"

            await pilot.press("a")
            await wait_for(lambda: isinstance(app.screen, AddScreen))
            app.screen.query_one("#add-brand", Select).value = "bmw"
            app.screen.query_one("#add-vin", Input).value = VIN
            await wait_for(lambda: not app.screen.query_one("#add-submit").disabled)
            await pilot.press("ctrl+s")
            await wait_for(lambda: isinstance(app.screen, NoJournalScreen), 10)
            assert str(db) in plain(app.screen.query_one("#stop-text", Static))
            await pilot.press("enter")  # Enter is Cancel: never sends by accident
            await wait_for(lambda: isinstance(app.screen, AddScreen))
            await wait_for(lambda: "Nothing was added" in status(app), 10, message=status(app))
            assert VIN not in await applied(control)

            await pilot.press("ctrl+s")
            await wait_for(lambda: isinstance(app.screen, NoJournalScreen), 10)
            await pilot.press("y")
            await wait_for(lambda: "1 of 1 ok" in status(app), 10, message=status(app))
            await pilot.press("escape")
            await wait_for(lambda: not isinstance(app.screen, AddScreen))
            app.show_journal()
            await wait_for(
                lambda: (
                    isinstance(app.screen, JournalScreen) and app.screen.query("#journal-problem")
                )
            )
            shown = plain(app.screen.query_one("#journal-problem", Static))
            assert str(db) in shown and "Not kept on disk" in shown
            await pilot.press("escape")
    assert (await applied(control))[VIN] == 1


def status(app: HmTuiApp) -> str:
    return plain(app.screen.query_one("#add-status", Static))


async def applied(control: Control) -> dict[str, int]:
    return await control.applied("POST")
