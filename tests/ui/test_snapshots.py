"""SVG snapshots of the roster at 80x24 and 120x40: a frozen emulator (speed 0, fixed seed and
start time) and the app's clock following it, so every run draws the same frame.

Update after an intended change: `pytest tests/ui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from hm_tui.emulator.clock import VirtualClock
from hm_tui.emulator.server import EmulatorConfig, EmulatorThread
from hm_tui.service.config.profiles import profile_from_credentials
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from hm_tui.ui.app import HmTuiApp
from tests.helpers import wait_for
from tests.ui.roster_fleet import NOW


@pytest.fixture(scope="module")
def frozen() -> Iterator[EmulatorThread]:
    """An emulator whose virtual time stands still at NOW (seed 3, 40 cars, no MQTT)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="hm-tui-snap-") as state_dir:
        thread = EmulatorThread(
            EmulatorConfig(state_dir=Path(state_dir), fleet=40, speed=0.0, seed=3, publish=False)
        )
        thread.emulator.clock = VirtualClock(0.0, start=NOW.timestamp())
        thread.start(timeout=20)
        yield thread
        thread.stop()


def snapshot_app(emulator: EmulatorThread, *, read_only: bool = False) -> HmTuiApp:
    profile = replace(
        profile_from_credentials(emulator.emulator.credentials, "snapshot"), mqtt=None
    )
    return HmTuiApp(
        lambda _name: Session(profile, store=Store.memory(), read_only=read_only),
        read_only=read_only,
        profile="snapshot",
        clock=emulator.emulator.clock.now_datetime,
        tz=UTC,
        theme="textual-dark",
    )


async def until_loaded(pilot: Pilot[Any]) -> None:
    app: Any = pilot.app
    await wait_for(
        lambda: app.loaded and app.roster_screen.ready and app.roster_screen.table.row_count,
        20,
        message="the roster loaded",
    )
    await pilot.pause()


def test_roster_80x24(snap_compare: Any, frozen: EmulatorThread) -> None:
    assert snap_compare(snapshot_app(frozen), terminal_size=(80, 24), run_before=until_loaded)


def test_roster_120x40(snap_compare: Any, frozen: EmulatorThread) -> None:
    assert snap_compare(snapshot_app(frozen), terminal_size=(120, 40), run_before=until_loaded)


def test_roster_rejected_only_sorted_by_status_80x24(
    snap_compare: Any, frozen: EmulatorThread
) -> None:
    assert snap_compare(
        snapshot_app(frozen), terminal_size=(80, 24), run_before=until_loaded, press=["3", "s", "s"]
    )


def test_read_only_help_80x24(snap_compare: Any, frozen: EmulatorThread) -> None:
    assert snap_compare(
        snapshot_app(frozen, read_only=True),
        terminal_size=(80, 24),
        run_before=until_loaded,
        press=["question_mark"],
    )
