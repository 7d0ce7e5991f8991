"""No action is sent unjournaled (issue 20): when the profile's journal is corrupt, locked by
another process, read-only or on a full disk, `vins add` and `vins revoke` send nothing and exit
1 with a message naming the file, what is wrong and how to fix it; `--no-journal` sends anyway,
saying so. The real CLI against the running emulator; the broken files are made for real (bytes
overwritten, a lock held by another process, the file made immutable, a file-size limit)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hm_tui.domain.vin import with_check_digit
from hm_tui.service.store.db import Store, default_path
from tests.service.platform_helpers import Control

VIN = with_check_digit("WBA00000000990001")
HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""
FIXES = {
    "corrupt": "move it aside",
    "locked": "locked by another process",
    "read-only": "cannot be written",
    "full": "df -h",  # a write refused for its size: full, or failing (disk I/O error)
}


def db_path() -> Path:
    """The `emu` profile's store (XDG_DATA_HOME of the `config_file` fixture), made once."""
    Store.for_profile("emu").close()
    return default_path("emu")


@contextmanager
def broken(kind: str, db: Path) -> Iterator[None]:
    """The journal `db` broken as `kind` says, for the length of the block."""
    if kind == "corrupt":
        with db.open("r+b") as f:
            f.write(b"this is no SQLite database" * 4)
        yield
    elif kind == "locked":
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
            yield
        finally:
            holder.communicate(b"", timeout=10)
    elif kind == "read-only":  # as root, permission bits are no obstacle: immutable is
        for path in (db, db.parent):
            subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            for path in (db, db.parent):
                subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        raise AssertionError(kind)


async def applied(emulator: Any, method: str) -> dict[str, int]:
    return (await Control(emulator).stats())["applied"][method]


@pytest.mark.parametrize("kind", ["corrupt", "locked", "read-only"])
async def test_a_broken_journal_stops_an_add_before_anything_is_sent(
    run_cli: Any, configured: Path, emulator: Any, kind: str
) -> None:
    db = db_path()
    with broken(kind, db):
        refused = await run_cli("vins", "add", VIN, "--brand", "bmw")
        assert refused.code == 1, refused.err
        assert VIN not in await applied(emulator, "POST")
        assert str(db) in refused.err and FIXES[kind] in refused.err
        assert "nothing sent" in refused.err and "--no-journal" in refused.err
        assert "Traceback" not in refused.err
        forced = await run_cli("vins", "add", VIN, "--brand", "bmw", "--no-journal")
    assert forced.code == 0, forced.err
    assert "not journaled" in forced.err and str(db) in forced.err
    assert (await applied(emulator, "POST"))[VIN] == 1


async def test_a_broken_journal_stops_a_revoke_before_anything_is_sent(
    run_cli: Any, configured: Path, emulator: Any
) -> None:
    approved = next(v for v, c in emulator.state.clearances.items() if c.status == "approved")
    db = db_path()
    with broken("locked", db):
        refused = await run_cli("vins", "revoke", approved, "--yes")
    assert refused.code == 1 and "nothing sent" in refused.err and str(db) in refused.err
    assert approved not in await applied(emulator, "DELETE")
    assert emulator.state.clearances[approved].status == "approved"


async def test_a_full_disk_stops_an_add_before_anything_is_sent(
    configured: Path, emulator: Any
) -> None:
    """`prlimit --fsize`: the journal cannot grow by a byte, as on a full disk."""
    db = db_path()
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd())}
    cli = [sys.executable, "-c", "import sys; from hm_tui.cli.main import main; sys.exit(main())"]
    limit = ["prlimit", f"--fsize={db.stat().st_size}"]
    for extra, code in (([], 1), (["--no-journal"], 0)):
        run = await asyncio.to_thread(  # (the emulator serves from this loop meanwhile)
            subprocess.run,
            [*limit, *cli, "vins", "add", VIN, "--brand", "bmw", *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == code, run.stderr
        assert str(db) in run.stderr and FIXES["full"] in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
        assert (await applied(emulator, "POST")).get(VIN, 0) == code ^ 1


async def test_vins_journal_on_a_corrupt_journal_says_which_file_and_what_to_do(
    run_cli: Any, configured: Path
) -> None:
    db = db_path()
    with broken("corrupt", db):
        result = await run_cli("vins", "journal")
    assert result.code == 1 and "Traceback" not in result.err
    assert str(db) in result.err and FIXES["corrupt"] in result.err
