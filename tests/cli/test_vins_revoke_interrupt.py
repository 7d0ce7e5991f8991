"""^C during `hm-tui vins revoke`: as for an add, the command says what was answered, what was
not and how to resume, exits 130, and leaves the journal's removal unfinished and resumable.
The real binary against the real emulator, slowed so the interrupt lands mid-way."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

from helpers import wait_for
from reliability.support import HM_TUI, cli_env, emulator_profile, write_config

from hm_tui.service.store.db import Store, default_path
from tests.service.platform_helpers import Control

LATENCY_MS = 1500


async def test_ctrl_c_mid_revoke_says_what_was_sent_and_how_to_resume(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emulator = await emulator_factory(fleet=400)
    control = Control(emulator)
    chosen = sorted(v for v, c in emulator.state.clearances.items() if c.status == "approved")
    config = write_config(tmp_path / "config" / "config.toml", emulator_profile(emulator))
    env = cli_env(config, tmp_path / "data")
    db = default_path("emu", tmp_path / "data" / "hm-tui")
    await control.faults(latency_ms=LATENCY_MS)
    err = tmp_path / "revoke.err"
    with err.open("wb") as stderr:
        process = subprocess.Popen(
            [*HM_TUI, "vins", "revoke", "--yes", *chosen],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:

        async def some_answered() -> bool:
            return 0 < len(await control.applied("DELETE")) < len(chosen)

        await wait_for(some_answered, 60, 0.02, "part of the removal applied on the platform")
        process.send_signal(signal.SIGINT)
        await wait_for(lambda: process.poll() is not None, 30, message="the command to end")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    await control.faults()
    said = err.read_text()
    assert process.returncode == 130, said
    assert "interrupted: " in said and "VINs answered by the platform" in said, said
    assert "Traceback" not in said
    store = Store(db)
    try:
        [entry] = store.journal.unfinished()
    finally:
        store.close()
    assert f"the journal keeps cancel/revoke #{entry.id} unfinished" in said
    assert f"vins resume {entry.id}" in said
    assert entry.action == "remove"
