"""The process killed mid bulk-add: `hm-tui vins add --file big.csv` gets SIGKILL while the
platform is slow. On restart the journal (SQLite, WAL) holds the action unfinished, intact, with
what was done and what was not, and the next run offers to resume."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from helpers import wait_for

from hm_tui.service.store import Store, default_path
from reliability.figures import Figures
from reliability.support import HM_TUI, Control, cli_env, emulator_profile, vins, write_config

ROWS = 2000  # 20 chunks of 100, 8 at a time: three waves of slow answers
LATENCY_MS = 1500


class BulkAdd:
    """A `hm-tui vins add --file` subprocess against the emulator, with its own config and data."""

    def __init__(self, tmp_path: Path, emulator: Any) -> None:
        self.batch = vins(ROWS, "WF0")
        self.csv = tmp_path / "big.csv"
        self.csv.write_text("vin,brand,tag:fleet\n" + "".join(f"{v},ford,north\n"
                                                             for v in self.batch))
        config = write_config(tmp_path / "config" / "config.toml", emulator_profile(emulator))
        self.env = cli_env(config, tmp_path / "data")
        self.db = default_path("emu", tmp_path / "data" / "hm-tui")
        self.logs = tmp_path

    def start(self, name: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([*HM_TUI, "vins", "add", "--file", str(self.csv)], env=self.env,
                                stdout=open(self.logs / f"{name}.out", "wb"),
                                stderr=open(self.logs / f"{name}.err", "wb"))

    def output(self, name: str) -> tuple[str, str]:
        return ((self.logs / f"{name}.out").read_text(), (self.logs / f"{name}.err").read_text())

    def journaled(self) -> int:
        """VIN results the journal holds so far (read beside the running process, as WAL allows)."""
        if not self.db.exists():
            return 0
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as db:
            try:
                return int(db.execute("SELECT count(*) FROM action_items").fetchone()[0])
            except sqlite3.OperationalError:  # the schema is not written yet
                return 0


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


async def test_killed_bulk_add_leaves_an_intact_unfinished_journal_entry(
        emulator_factory: Any, tmp_path: Path, figures: Figures) -> None:
    emulator = await emulator_factory(fleet=0)
    control = Control(emulator)
    bulk = BulkAdd(tmp_path, emulator)
    await control.faults(latency_ms=LATENCY_MS)
    process = bulk.start("killed")
    try:
        await wait_for(lambda: _applied_between(control, 1, ROWS - 1), 30, 0.02,
                       "part of the add applied on the platform")
    finally:
        kill(process)
    figures.fault("SIGKILL mid bulk-add")
    await control.faults()

    assert integrity(bulk.db) == "ok"
    store = Store(bulk.db)
    try:
        [entry] = store.journal.unfinished()
    finally:
        store.close()
    assert entry.action == "add" and entry.vins == bulk.batch  # the whole intent, not half of it
    applied = await control.applied("POST")
    assert all(vin in applied for vin, item in entry.results.items() if item.result != "error")
    assert set(entry.not_done) | set(entry.results) == set(bulk.batch)
    await control.aclose()


async def test_killed_bulk_add_journal_shows_what_was_done_and_the_rerun_offers_to_resume(
        emulator_factory: Any, tmp_path: Path, figures: Figures) -> None:
    emulator = await emulator_factory(fleet=0)
    control = Control(emulator)
    bulk = BulkAdd(tmp_path, emulator)
    await control.faults(latency_ms=LATENCY_MS)
    process = bulk.start("killed")
    try:
        # what the platform answered is journaled as it comes, not only once everything is done
        await wait_for(lambda: _journaled_or_all_applied(bulk, control), 30, 0.02)
        assert len(await control.applied("POST")) < ROWS, (
            "no result was journaled before the platform had applied every row: the CLI "
            "records results only after the whole add returns")
    finally:
        kill(process)
    figures.fault("SIGKILL mid bulk-add")
    await control.faults()
    store = Store(bulk.db)
    try:
        [entry] = store.journal.unfinished()
    finally:
        store.close()
    assert entry.results and entry.not_done

    rerun = bulk.start("rerun")
    assert await _wait_exit(rerun) == 0, bulk.output("rerun")
    _out, err = bulk.output("rerun")
    assert "interrupted" in err and "resum" in err, err[-500:]
    assert set(await control.applied("POST")) == set(bulk.batch)
    assert {c.status for c in emulator.state.clearances.values()} <= {"pending", "approved",
                                                                       "rejected"}
    await control.aclose()


async def _journaled_or_all_applied(bulk: BulkAdd, control: Control) -> bool:
    return bulk.journaled() > 0 or len(await control.applied("POST")) == ROWS


async def _applied_between(control: Control, low: int, high: int) -> bool:
    return low <= len(await control.applied("POST")) <= high


async def _wait_exit(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    await wait_for(lambda: process.poll() is not None, timeout, message="the CLI to finish")
    return int(process.returncode)
