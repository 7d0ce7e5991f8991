"""^C during `hm-tui vins add`: the command says what was answered, what was not and how to
resume (`hm-tui vins resume`), exits 130, and leaves the journal's add intact and unfinished.
The real binary against the real emulator, slowed so the interrupt lands mid-add."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reliability.support import HM_TUI, cli_env, emulator_profile, vins, write_config

from hm_tui.service.store.db import Store, default_path
from tests.cli.interrupt_support import interrupted_midway
from tests.service.platform_helpers import Control

ROWS = 1200  # 12 chunks of 100, a few at a time: several waves of slow answers
LATENCY_MS = 1500


async def test_ctrl_c_mid_add_says_what_was_sent_and_how_to_resume(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emulator = await emulator_factory(fleet=0)
    control = Control(emulator)
    batch = vins(ROWS, "WF0")
    csv_file = tmp_path / "big.csv"
    csv_file.write_text("vin,brand\n" + "".join(f"{v},ford\n" for v in batch))
    config = write_config(tmp_path / "config" / "config.toml", emulator_profile(emulator))
    env = cli_env(config, tmp_path / "data")
    db = default_path("emu", tmp_path / "data" / "hm-tui")
    await control.faults(latency_ms=LATENCY_MS)
    code, said = await interrupted_midway(
        [*HM_TUI, "vins", "add", "--file", str(csv_file)],
        env,
        control,
        "POST",
        ROWS,
        tmp_path / "add.err",
    )
    await control.faults()
    assert code == 130, said
    assert "interrupted: " in said and f"of {ROWS} VINs answered by the platform" in said
    assert "without an answer" in said
    assert "Traceback" not in said
    store = Store(db)
    try:
        [entry] = store.journal.unfinished()
    finally:
        store.close()
    assert f"the journal keeps add #{entry.id} unfinished" in said
    assert f"vins resume {entry.id}" in said
    assert entry.action == "add" and len(entry.vins) == ROWS
