"""The real dashboard in a real terminal (tmux, 80x24) adding 1,000 VINs from a CSV file while the
platform is slow, ended by SIGTERM, by SIGHUP, or by its tmux pane being closed: none of these is
the operator's stop, so the journal keeps the add unfinished with the answers it had; the next
start offers it, and `hm-tui vins resume --yes` sends only the rest: every VIN ends applied
exactly once on the platform (`/_emulator/stats`)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import process_gone, wait_for
from tmux_helpers import Tmux, tmux_server

from hm_tui.service.store.db import Store, default_path
from reliability.figures import Figures
from reliability.support import HM_TUI, cli_env, emulator_profile, vins, write_config
from tests.service.platform_helpers import Control

ROWS = 1000  # two journal groups of 500: the first answered, the second out when it ends
LATENCY_MS = 4000  # every request waits this long: the kill lands while the second group is out
EXIT_TIMEOUT_S = 15.0


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    yield from tmux_server(tmp_path, "interrupt")


class Dashboard:
    """The real `hm-tui` on a profile for the emulator, in tmux, with its own config and data."""

    def __init__(self, tmp_path: Path, emulator: Any, tmux: Tmux) -> None:
        self.batch = vins(ROWS, "WF0")
        self.csv = tmp_path / "fleet.csv"
        self.csv.write_text("vin,brand\n" + "".join(f"{v},ford\n" for v in self.batch))
        config = write_config(tmp_path / "config" / "config.toml", emulator_profile(emulator))
        self.env = cli_env(  # HOME here: the CSV's path typed is short (~/fleet.csv)
            config,
            tmp_path / "data",
            TERM="xterm-256color",
            TMPDIR=str(tmp_path),
            HOME=str(tmp_path),
        )
        self.db = default_path("emu", tmp_path / "data" / "hm-tui")
        self.tmux, self.tmp = tmux, tmp_path

    def start(self) -> int:
        passed = {
            k: v
            for k, v in self.env.items()
            if k.startswith(("HM_", "XDG", "TERM", "TMP", "PY", "HOME"))
        }
        pidfile = self.tmp / f"pid-{len(list(self.tmp.glob('pid-*')))}"
        return self.tmux.start(list(HM_TUI), passed, pidfile)

    def screen(self) -> str:
        return self.tmux.screen()

    async def open_the_csv(self) -> None:
        """Palette → "Import VINs from a CSV file", the path, Enter: as a person would."""
        await wait_for(lambda: "API ok" in self.screen(), 30, message=f"start: {self.screen()}")
        await self.run_command("Import VINs", "Import VINs from a CSV file")
        await wait_for(lambda: self._dialog_settled(), 10, message=self.screen())
        await self.type_in("~/fleet.csv", "CSV file ")
        for _ in range(5):  # an Enter right behind the typing can be taken as part of it
            self.tmux.keys("Enter")
            try:
                await wait_for(lambda: f"Add {ROWS} " in self.screen(), 5)
                return
            except AssertionError:
                continue
        raise AssertionError(f"the CSV file was never read: {self.screen()}")

    async def run_command(self, search: str, command: str) -> None:
        """Open the palette, search, run the first result. Keys that reach the palette while it
        comes up can be lost: then it is closed and opened again, from a known state."""
        for _ in range(5):
            self.tmux.keys("C-p")
            self.tmux.keys("-l", search)
            try:
                await wait_for(lambda: self._first_command() == command, 10)
                await wait_for(lambda: self._shows("🔎", search), 1)
            except AssertionError:
                self.tmux.keys("Escape")
                await wait_for(lambda: "🔎" not in self.screen(), 10)
                continue
            self.tmux.keys("Enter")
            return
        raise AssertionError(f"the palette never found {command!r}: {self.screen()}")

    async def type_in(self, text: str, label: str) -> None:
        """Type into the focused input (on the line starting with `label`) of a settled
        dialog, and see it there."""
        self.tmux.keys("-l", text)
        await wait_for(lambda: self._shows(label, text), 10, message=self.screen())

    def _dialog_settled(self) -> bool:
        """The add dialog is up on its CSV tab and done mounting (its footer is drawn, the
        tab underline has its marker): keys typed before that can be lost."""
        screen = self.screen()
        return "Header: vin,brand" in screen and "^s Add" in screen and "╸" in screen

    def _first_command(self) -> str:
        """The palette's first result (its search is done when the list matches the input)."""
        lines = [line.strip() for line in self.screen().splitlines()]
        search = next((n for n, line in enumerate(lines) if line.startswith("🔎")), None)
        rest = [line for line in lines[search + 1 :] if line] if search is not None else []
        return rest[0] if rest else ""

    def _shows(self, label: str, text: str) -> bool:
        lines = [line.strip(" █") for line in self.screen().splitlines()]
        return any(line.startswith(label) and line[len(label) :].strip() == text for line in lines)

    def journaled(self) -> int:
        if not self.db.exists():
            return 0
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
            try:
                return int(conn.execute("SELECT count(*) FROM action_items").fetchone()[0])
            except sqlite3.OperationalError:
                return 0

    async def resume(self) -> subprocess.CompletedProcess[str]:
        """`hm-tui vins resume --yes` (in a thread: the emulator runs in this test's loop)."""
        return await asyncio.to_thread(
            subprocess.run,
            [*HM_TUI, "vins", "resume", "--yes"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )


def end(how: str, pid: int, tmux: Tmux) -> None:
    if how == "SIGTERM":
        os.kill(pid, signal.SIGTERM)
    elif how == "SIGHUP":
        os.kill(pid, signal.SIGHUP)
    else:  # the pane goes: its pty closes, the program gets SIGHUP (an SSH drop, a closed tab)
        result = tmux.run("kill-pane", "-t", "app")
        assert result.returncode == 0, result.stderr


@pytest.mark.timeout(300)
@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "pane closed"])
async def test_a_dashboard_add_ended_by_a_signal_or_a_closed_pane_is_resumed_exactly_once(
    emulator_factory: Any, tmp_path: Path, tmux: Tmux, how: str, figures: Figures
) -> None:
    emulator = await emulator_factory(fleet=0)
    control = Control(emulator)
    app = Dashboard(tmp_path, emulator, tmux)
    pid = app.start()
    await app.open_the_csv()
    await control.faults(latency_ms=LATENCY_MS)
    app.tmux.keys("C-s")
    # the first group of 500 answered and journaled; the second is out now
    await wait_for(lambda: app.journaled() >= 500, 60, message=f"group 1: {app.screen()}")
    assert app.journaled() < ROWS
    end(how, pid, tmux)
    figures.fault(f"dashboard add interrupted: {how}")
    await wait_for(lambda: process_gone(pid), EXIT_TIMEOUT_S, message=f"exit after {how}")
    await control.faults()

    store = Store(app.db)
    try:
        [entry] = store.journal.unfinished()
    finally:
        store.close()
    assert entry.vins == app.batch and len(entry.not_done) == ROWS - len(entry.results)
    assert 500 <= len(entry.results) < ROWS
    assert all(r.result == "pending" for r in entry.results.values())

    if how == "SIGTERM":  # the next start offers it (Later keeps it for the CLI below)
        again = app.start()
        await wait_for(lambda: "Interrupted actions" in app.screen(), 30, message=app.screen())
        assert f"{len(entry.not_done)} not done" in app.screen()
        app.tmux.keys("Escape")
        await wait_for(lambda: "Interrupted actions" not in app.screen(), 10)
        os.kill(again, signal.SIGTERM)
        await wait_for(lambda: process_gone(again), EXIT_TIMEOUT_S)

    posts_before = (await control.stats())["requests"].get("POST /v1/fleets/vehicles", 0)
    resumed = await app.resume()
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Traceback" not in resumed.stderr
    applied = await control.applied("POST")
    assert applied == {vin: 1 for vin in app.batch}, "every VIN applied exactly once"
    posts = (await control.stats())["requests"]["POST /v1/fleets/vehicles"] - posts_before
    assert posts <= -(-len(entry.not_done) // 100), "the resume sent only the rest"
    store = Store(app.db)
    try:
        assert store.journal.unfinished() == []
        [done] = store.journal.entries(1)
    finally:
        store.close()
    assert done.id == entry.id and done.not_done == [] and len(done.results) == ROWS


@pytest.mark.timeout(180)
async def test_the_real_dashboard_on_a_full_disk_shows_the_roster_and_says_why_no_journal(
    emulator_factory: Any, tmp_path: Path, tmux: Tmux, figures: Figures
) -> None:
    """`prlimit --fsize`: no file of the dashboard may grow by a byte, as on a full disk. The
    roster comes from the platform all the same, and the screen says what is wrong with which
    file (issue 20: it showed no roster, as "Platform unreachable")."""
    emulator = await emulator_factory(fleet=5)
    app = Dashboard(tmp_path, emulator, tmux)
    Store(app.db).close()
    passed = {
        k: v
        for k, v in app.env.items()
        if k.startswith(("HM_", "XDG", "TERM", "TMP", "PY", "HOME"))
    }
    limit = ["prlimit", f"--fsize={app.db.stat().st_size}"]
    pid = app.tmux.start([*limit, *HM_TUI], passed, tmp_path / "pid-full")
    figures.fault("dashboard: journal on a full disk")
    try:
        await wait_for(lambda: "API ok" in app.screen(), 30, message=app.screen())
        await wait_for(lambda: "Journal unavailable" in app.screen(), 10, message=app.screen())
        screen = app.screen()
        said = "".join(line.strip(" ▌") for line in screen.splitlines())  # the toast, unwrapped
        assert "emu.db could not be written" in said and "df -h" in said, screen
        assert "unreachable" not in screen.lower()
        shown = {vin for vin in emulator.state.clearances if vin in screen}
        assert shown, f"no roster row on screen: {screen}"
    finally:
        os.kill(pid, signal.SIGTERM)
        await wait_for(lambda: process_gone(pid), EXIT_TIMEOUT_S)
