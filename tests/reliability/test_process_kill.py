"""The process killed mid bulk-add: `hm-tui vins add --file big.csv` gets SIGKILL while the
platform is slow. On restart the journal (SQLite, WAL) holds the action unfinished, intact, with
what was done and what was not, and the next run offers to resume."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers import wait_for

from hm_tui.service.session import Session
from hm_tui.service.store.db import Store, default_path
from reliability.figures import Figures
from reliability.support import HM_TUI, cli_env, emulator_profile, vins, write_config
from tests.service.platform_helpers import Control

ROWS = 2000  # 20 chunks of 100, 8 at a time: three waves of slow answers
LATENCY_MS = 1500


class BulkAdd:
    """A `hm-tui vins add --file` subprocess against the emulator, with its own config and data."""

    def __init__(self, tmp_path: Path, emulator: Any) -> None:
        self.batch = vins(ROWS, "WF0")
        self.csv = tmp_path / "big.csv"
        self.csv.write_text(
            "vin,brand,tag:fleet\n" + "".join(f"{v},ford,north\n" for v in self.batch)
        )
        config = write_config(tmp_path / "config" / "config.toml", emulator_profile(emulator))
        self.env = cli_env(config, tmp_path / "data")
        self.db = default_path("emu", tmp_path / "data" / "hm-tui")
        self.logs = tmp_path

    def start(self, name: str) -> subprocess.Popen[bytes]:
        with (
            (self.logs / f"{name}.out").open("wb") as out,
            (self.logs / f"{name}.err").open("wb") as err,
        ):
            return subprocess.Popen(
                [*HM_TUI, "vins", "add", "--file", str(self.csv)],
                env=self.env,
                stdout=out,
                stderr=err,
            )

    def output(self, name: str) -> tuple[str, str]:
        return ((self.logs / f"{name}.out").read_text(), (self.logs / f"{name}.err").read_text())

    def journaled(self) -> int:
        """VIN results the journal holds so far (read beside the running process, as WAL allows)."""
        return _items(self.db)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


async def test_killed_bulk_add_leaves_an_intact_unfinished_journal_entry(
    emulator_factory: Any, tmp_path: Path, figures: Figures
) -> None:
    emulator = await emulator_factory(fleet=0)
    control = Control(emulator)
    bulk = BulkAdd(tmp_path, emulator)
    await control.faults(latency_ms=LATENCY_MS)
    process = bulk.start("killed")
    try:
        await wait_for(
            lambda: _applied_between(control, 1, ROWS - 1),
            30,
            0.02,
            "part of the add applied on the platform",
        )
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


async def test_killed_bulk_add_journal_shows_what_was_done_and_the_rerun_offers_to_resume(
    emulator_factory: Any, tmp_path: Path, figures: Figures
) -> None:
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
            "records results only after the whole add returns"
        )
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
    assert {c.status for c in emulator.state.clearances.values()} <= {
        "pending",
        "approved",
        "rejected",
    }


APP_SCRIPT = """
import asyncio, json, sys
from hm_tui.service.config.profiles import profile_from_credentials
from hm_tui.service.models import NewClearance
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store

async def main():
    creds = json.loads(open(sys.argv[1]).read())
    session = Session(profile_from_credentials(creds, "emu"), store=Store(sys.argv[2]),
                      feed=False)
    await session.start()
    vins = open(sys.argv[3]).read().split()
    await session.add([NewClearance(v, "ford", {"fleet": "north"}) for v in vins])

asyncio.run(main())
"""


async def test_app_killed_mid_add_resumes_from_its_journal_and_applies_nothing_twice(
    emulator_factory: Any, tmp_path: Path, figures: Figures
) -> None:
    """The dashboard's path (Session.add journals every 500 answers): killed after the first
    group, the journal says which VINs are done; `Session.resume` sends only the rest."""
    emulator = await emulator_factory(fleet=0)
    control = Control(emulator)
    batch = vins(ROWS, "WF0")
    (tmp_path / "creds.json").write_text(json.dumps(emulator.credentials))
    (tmp_path / "vins.txt").write_text("\n".join(batch))
    (tmp_path / "app.py").write_text(APP_SCRIPT)
    db = tmp_path / "store.db"
    await control.faults(latency_ms=LATENCY_MS)
    with (tmp_path / "app.err").open("wb") as err:
        process = subprocess.Popen(
            [
                sys.executable,
                str(tmp_path / "app.py"),
                str(tmp_path / "creds.json"),
                str(db),
                str(tmp_path / "vins.txt"),
            ],
            stderr=err,
        )
    try:
        await wait_for(
            lambda: _items(db) > 0 or process.poll() is not None,
            30,
            0.02,
            "the first group of answers journaled",
        )
        assert process.poll() is None, (tmp_path / "app.err").read_text()
    finally:
        kill(process)
    figures.fault("SIGKILL mid bulk-add (app)")
    await control.faults()
    assert integrity(db) == "ok"
    store = Store(db)
    try:
        [entry] = store.journal.unfinished()
        done = [vin for vin in entry.vins if vin in entry.results]
        assert entry.vins == batch and 0 < len(done) < ROWS
        assert set(entry.not_done) == set(batch) - set(done)
        session = Session(emulator_profile(emulator), store=store, feed=False)
        await session.start()
        try:
            await session.resume(entry.id)
        finally:
            await session.stop()
        assert store.journal.unfinished() == []
    finally:
        store.close()
    applied = await control.applied("POST")
    assert set(applied) == set(batch)
    assert all(applied[vin] == 1 for vin in done)  # what the journal knew was done: not resent


def _items(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM action_items").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


async def _journaled_or_all_applied(bulk: BulkAdd, control: Control) -> bool:
    return bulk.journaled() > 0 or len(await control.applied("POST")) == ROWS


async def _applied_between(control: Control, low: int, high: int) -> bool:
    return low <= len(await control.applied("POST")) <= high


async def _wait_exit(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    await wait_for(lambda: process.poll() is not None, timeout, message="the CLI to finish")
    return int(process.returncode)
