"""^C during `hm-tui vins revoke`: as for an add, the command says what was answered, what was
not and how to resume, exits 130, and leaves the journal's removal unfinished and resumable.
The real binary against the real emulator, slowed so the interrupt lands mid-way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reliability.support import HM_TUI, cli_env, emulator_profile, write_config

from hm_tui.service.store.db import Store, default_path
from tests.cli.interrupt_support import interrupted_midway
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
    code, said = await interrupted_midway(
        [*HM_TUI, "vins", "revoke", "--yes", *chosen],
        env,
        control,
        "DELETE",
        len(chosen),
        tmp_path / "revoke.err",
    )
    await control.faults()
    assert code == 130, said
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
