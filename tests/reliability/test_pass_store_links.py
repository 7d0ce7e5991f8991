"""The journal's file as a symbolic link (issue 20, the third pass): a link to a text file, a
dangling link, a link to another profile's SQLite journal, a dangling link as the journal's
`-wal` file, a FIFO in the journal's place. SQLite opens by name and follows links: it created
a dangling link's target and used another database as this profile's journal. Now each is
refused before SQLite opens it: the real CLI (`vins add` sends nothing, `vins journal` reads
nothing) and the real dashboard (the roster from the platform, the journal screen saying why
there is none) name the file, say it is a link and what to do; the file behind it is untouched.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import wait_for
from textual.widgets import Static

from hm_tui.cli.dashboard import open_session
from hm_tui.cli.main import main
from hm_tui.domain.vin import with_check_digit
from hm_tui.emulator.server import Emulator
from hm_tui.service.store.db import Store, default_path
from hm_tui.ui.app import HmTuiApp
from hm_tui.ui.screens.journal import JournalScreen
from reliability.figures import Figures
from reliability.support import emulator_profile, write_config
from tests.service.platform_helpers import Control
from tests.ui.app_support import loaded, notifications, profile_for
from tests.ui.screens_support import plain

VIN = with_check_digit("WBA00000000770001")
OTHER_VIN = with_check_digit("WBA00000000770002")


def another_journal(path: Path) -> Path:
    """A real journal of someone else's, with an unfinished add: must never be used as ours."""
    store = Store(path)
    try:
        store.journal.begin("add", [OTHER_VIN], {"brand": "bmw"})
    finally:
        store.close()
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plant(kind: str, db: Path, elsewhere: Path) -> tuple[Path, Callable[[], None]]:
    """The journal `db` replaced by `kind`; the file the link points to (or the FIFO) and a
    check that it is as it was (not created, not written)."""
    elsewhere.mkdir(parents=True, exist_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    if kind == "a link to a text file":
        target = elsewhere / "notes.txt"
        target.write_text("my notes\n")
        os.symlink(target, db)
        return db, lambda: assert_unchanged(target, "my notes\n")
    if kind == "a dangling link":
        target = elsewhere / "planted.db"
        os.symlink(target, db)
        return db, lambda: assert_absent(target)
    if kind == "a link to another SQLite journal":
        target = another_journal(elsewhere / "other.db")
        before = digest(target)
        os.symlink(target, db)
        return db, lambda: assert_same_digest(target, before)
    if kind == "a dangling link as the -wal file":
        Store(db).close()
        target = elsewhere / "planted-wal"
        wal = Path(f"{db}-wal")
        wal.unlink(missing_ok=True)
        os.symlink(target, wal)
        return wal, lambda: assert_absent(target)
    if kind == "a FIFO":
        os.mkfifo(db)
        return db, lambda: None
    raise AssertionError(kind)


def assert_unchanged(path: Path, text: str) -> None:
    assert path.read_text() == text, path


def assert_absent(path: Path) -> None:
    assert not os.path.lexists(path), f"{path} was created through the link"


def assert_same_digest(path: Path, before: str) -> None:
    assert digest(path) == before, f"{path} was written through the link"


KINDS = [
    "a link to a text file",
    "a dangling link",
    "a link to another SQLite journal",
    "a dangling link as the -wal file",
    "a FIFO",
]


def said_right(kind: str, text: str, named: Path) -> None:
    """The message names the file, says what it is and the command that fixes it."""
    flat = " ".join(text.split())
    assert str(named) in flat, flat
    if kind == "a FIFO":
        assert "not a regular file" in flat and f"mv {named} {named}.broken" in flat, flat
    else:
        assert "is a symbolic link" in flat and f"rm {named}" in flat, flat
    assert "damaged" not in flat and "Traceback" not in flat, flat


@pytest.fixture
def configured(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = write_config(tmp_path / "c.toml", emulator_profile(emulator))
    monkeypatch.setenv("HM_TUI_CONFIG", str(config))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("kind", KINDS)
async def test_a_linked_journal_is_refused_by_the_cli_and_nothing_is_sent_or_written(
    emulator: Emulator,
    configured: Path,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
    kind: str,
) -> None:
    figures.tried(f"hostile file: the journal as {kind}")
    db = default_path(emulator_profile(emulator).name)
    named, untouched = plant(kind, db, configured / "elsewhere")

    code, _out, err = await run(capsys, "vins", "add", VIN, "--brand", "bmw")
    assert code == 1, err
    said_right(kind, err, named)
    assert "nothing sent" in err and "--no-journal" in err, err
    assert VIN not in await Control(emulator).applied("POST")

    code, out, err = await run(capsys, "vins", "journal")
    assert code == 1, out + err
    said_right(kind, err, named)
    assert OTHER_VIN not in out + err  # another journal is never read as this profile's
    untouched()

    code, _out, err = await run(capsys, "vins", "add", VIN, "--brand", "bmw", "--no-journal")
    assert code == 0 and "not journaled" in err, err
    assert (await Control(emulator).applied("POST"))[VIN] == 1
    untouched()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["a dangling link", "a link to another SQLite journal"])
async def test_the_dashboard_keeps_its_roster_and_says_the_journal_is_a_link(
    emulator: Emulator, tmp_path: Path, figures: Figures, kind: str
) -> None:
    figures.tried(f"hostile file: the dashboard's journal as {kind}")
    db = default_path("test", tmp_path / "state")
    named, untouched = plant(kind, db, tmp_path / "elsewhere")
    profile = profile_for(emulator)
    app = HmTuiApp(
        lambda _name: open_session(profile, read_only=False, state_dir=tmp_path / "state"),
        profile="test",
        clock=emulator.clock.now_datetime,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(app, emulator, timeout=30)
        await wait_for(lambda: any(str(named) in n for n in notifications(app)), 10)
        said_right(kind, next(n for n in notifications(app) if str(named) in n), named)
        assert not any("unreachable" in n.lower() for n in notifications(app))
        assert app.session.health.api == "ok"
        app.show_journal()
        await wait_for(
            lambda: isinstance(app.screen, JournalScreen) and app.screen.query("#journal-problem")
        )
        shown = plain(app.screen.query_one("#journal-problem", Static))
        said_right(kind, shown, named)
        assert OTHER_VIN not in shown
        await pilot.press("escape")
    untouched()
