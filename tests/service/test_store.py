"""The local store: roster cache and journal, crash-safe across a killed process."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hm_tui.service.models import ChangelogEntry, Clearance
from hm_tui.service.store.db import Store, default_path
from hm_tui.service.store.health import diagnose


def fleet(n: int) -> list[Clearance]:
    return [
        Clearance(
            f"WBA{i:014d}",
            "approved",
            "bmw",
            {"fleet": "north"},
            [ChangelogEntry("2024-05-01T10:00:00Z", "approved")],
        )
        for i in range(n)
    ]


def test_roster_round_trips_with_when_it_was_saved(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    assert store.load_roster() == ([], None)
    store.save_roster(fleet(3))
    store.close()
    again = Store(tmp_path / "p.db")
    clearances, saved_at = again.load_roster()
    assert clearances == fleet(3)
    assert saved_at is not None and saved_at.tzinfo is not None
    again.save_roster(fleet(1))  # a save replaces the whole cache
    assert again.load_roster()[0] == fleet(1)


def test_store_file_is_private_and_lives_in_the_profile_data_dir(tmp_path: Path) -> None:
    store = Store.for_profile("my fleet/../x", tmp_path)
    store.save_roster(fleet(1))
    assert store.path == tmp_path / "my_fleet_.._x.db"
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert default_path("prod").name == "prod.db"
    assert "hm-tui" in str(default_path("prod"))


def test_100k_roster_saves_and_loads(tmp_path: Path) -> None:
    store = Store(tmp_path / "big.db")
    store.save_roster(fleet(100_000))
    clearances, _ = store.load_roster()
    assert len(clearances) == 100_000 and clearances[-1].vin == "WBA00000000099999"


def test_journal_records_an_action_per_vin(tmp_path: Path) -> None:
    journal = Store(tmp_path / "j.db").journal
    action = journal.begin("remove", ["V1", "V2"], {"why": "test"})
    journal.record_item(action, "V1", "revoking", "revoke accepted")
    journal.record_items(action, [("V2", "refused", "already revoked: nothing to remove")])
    journal.finish(action)
    journal.record("add", ["V3"], "pending")
    latest, first = journal.entries()
    assert latest.action == "add" and latest.results["V3"].result == "pending"
    assert first.id == action and first.finished and first.params == {"why": "test"}
    assert first.results["V2"].message == "already revoked: nothing to remove"
    assert first.not_done == [] and journal.unfinished() == []


CRASHING_ADD = textwrap.dedent("""
    import os, sys
    from hm_tui.service.store.db import Store
    journal = Store(sys.argv[1]).journal
    action = journal.begin("add", ["V1", "V2", "V3", "V4"], {"items": [{"vin": "V1"}]})
    journal.record_items(action, [("V1", "pending", ""), ("V2", "error", "The brand is invalid")])
    os._exit(9)  # killed half-way: no finish, no close, no flush
""")


def test_a_killed_bulk_action_is_unfinished_with_done_and_not_done_vins(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    killed = subprocess.run([sys.executable, "-c", CRASHING_ADD, str(path)], timeout=30)
    assert killed.returncode == 9
    journal = Store(path).journal
    (action,) = journal.unfinished()
    assert action.action == "add" and not action.finished
    assert sorted(action.results) == ["V1", "V2"]
    assert action.results["V2"].message == "The brand is invalid"
    assert action.not_done == ["V3", "V4"]
    assert action.params == {"items": [{"vin": "V1"}]}
    assert journal.pending_resume() == [action]


def test_a_stopped_action_is_finished_with_why_each_vin_was_not_done(tmp_path: Path) -> None:
    journal = Store(tmp_path / "stop.db").journal
    action = journal.begin("add", ["V1", "V2", "V3", "V4"])
    journal.record_items(action, [("V1", "pending", "")])
    journal.finish_stopped(
        action,
        [("V2", "approved", "")],
        [
            ("V1", "no answer", "lost?"),
            ("V3", "no answer", "out"),
            ("V4", "not sent", "stopped before it was sent"),
        ],
    )
    (entry,) = journal.entries(1)
    assert entry.finished and journal.unfinished() == []
    assert {vin: r.result for vin, r in entry.results.items()} == {
        "V1": "pending",
        "V2": "approved",
        "V3": "no answer",
        "V4": "not sent",
    }  # V1 kept
    assert entry.results["V4"].message == "stopped before it was sent"


@pytest.mark.parametrize(
    ("error", "kind", "fix"),
    [
        (sqlite3.OperationalError("database is locked"), "locked", "another process"),
        (sqlite3.DatabaseError("file is not a database"), "corrupt", "mv "),
        (sqlite3.DatabaseError("database disk image is malformed"), "corrupt", "mv "),
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only", "ls -ld"),
        (sqlite3.OperationalError("unable to open database file"), "read-only", "ls -ld"),
        (sqlite3.OperationalError("database or disk is full"), "full", "df -h"),
        (OSError(errno.ENOSPC, "No space left on device"), "full", "df -h"),
        (sqlite3.OperationalError("disk I/O error"), "io", "df -h"),
        (PermissionError(errno.EACCES, "Permission denied"), "read-only", "ls -ld"),
        (sqlite3.OperationalError("something new"), "unusable", "something new"),
    ],
)
def test_a_store_problem_names_the_file_and_how_to_fix_it(
    error: BaseException, kind: str, fix: str
) -> None:
    problem = diagnose("/data/hm-tui/emu.db", error)
    assert problem.kind == kind and "/data/hm-tui/emu.db" in problem.text and fix in problem.text


def test_an_unusable_store_file_gives_an_in_memory_store_and_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "emu.db"
    path.write_bytes(b"garbage, not SQLite" * 100)
    store, problem = Store.open_or_memory(path)
    try:
        assert not store.durable and problem is not None and problem.kind == "corrupt"
        store.journal.record("add", ["V"], "pending")  # it works, in memory
    finally:
        store.close()
    assert path.read_bytes().startswith(b"garbage")  # the broken file is left as it was
