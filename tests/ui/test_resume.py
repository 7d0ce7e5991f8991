"""The dashboard offers to resume what a killed app left unfinished: the real app over a real
Session on the real emulator, its store a file seeded through the real Journal API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
from textual.widgets import Button, Static

from hm_tui.domain.vin import with_check_digit
from hm_tui.service.models import NewClearance
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from hm_tui.ui.app import HmTuiApp
from hm_tui.ui.screens.journal import JournalScreen
from hm_tui.ui.screens.resume import ResumeScreen
from tests.helpers import wait_for
from tests.service.platform_helpers import Control
from tests.ui.app_support import notifications, open_palette, profile_for
from tests.ui.screens_support import plain

BATCH = [with_check_digit(f"WBA0000000088{n:04d}") for n in range(6)]
DONE, NOT_DONE = BATCH[:2], BATCH[2:]


def seed_interrupted_add(store: Store) -> int:
    """An add of BATCH whose app was killed after the platform answered DONE."""
    items = [NewClearance(vin, "bmw", {"fleet": "north"}) for vin in BATCH]
    action_id = store.journal.begin("add", BATCH, {"items": msgspec.to_builtins(items)})
    store.journal.record_items(action_id, [(vin, "pending", "") for vin in DONE])
    return action_id


@asynccontextmanager
async def dashboard(
    emulator: Any, store: Store, *, read_only: bool = False
) -> AsyncIterator[tuple[HmTuiApp, Any]]:
    profile = profile_for(emulator)
    app = HmTuiApp(
        lambda _name: Session(profile, store=store, read_only=read_only),
        read_only=read_only,
        profile="test",
        clock=emulator.clock.now_datetime,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        yield app, pilot


async def offered(app: HmTuiApp) -> ResumeScreen:
    def shown() -> ResumeScreen | None:
        screen = app.screen
        if isinstance(screen, ResumeScreen) and screen.query("#resume-later"):
            return screen if screen.query_one("#resume-later").region.area else None
        return None

    return await wait_for(shown, 10, message="the resume offer on screen")


def results(screen: ResumeScreen) -> str:
    return plain(screen.query_one("#resume-results", Static))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "test.db")
    yield store
    store.close()


async def posted(emulator: Any) -> dict[str, int]:
    return (await Control(emulator).stats())["applied"]["POST"]


async def test_resume_sends_only_what_the_killed_add_had_not_done(
    emulator: Any, store: Store
) -> None:
    action_id = seed_interrupted_add(store)
    async with dashboard(emulator, store) as (app, pilot):
        screen = await offered(app)
        entry = plain(screen.query_one(f"#resume-entry-{action_id}", Static))
        assert "Add of 6 VINs" in entry and "2 done" in entry and "4 not done" in entry
        assert NOT_DONE[0] in entry
        await pilot.click("#resume-go")
        await wait_for(lambda: "4 of 4 ok" in results(screen), 10)
        assert all(vin in results(screen) for vin in NOT_DONE)
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, ResumeScreen))
    assert set(await posted(emulator)) == set(NOT_DONE)  # the 2 done were not sent again
    assert all(emulator.state.clearances[vin].tags == {"fleet": "north"} for vin in NOT_DONE)
    assert store.journal.unfinished() == []


async def test_dismiss_stops_the_offer_and_keeps_what_was_not_done(
    emulator: Any, store: Store
) -> None:
    action_id = seed_interrupted_add(store)
    async with dashboard(emulator, store) as (app, pilot):
        await offered(app)
        await pilot.press("x")
        await wait_for(lambda: not isinstance(app.screen, ResumeScreen))
        assert any("abandoned" in n for n in notifications(app))
    [entry] = store.journal.entries()
    assert entry.id == action_id and entry.finished
    assert entry.outcomes == {"abandoned": 4, "pending": 2}
    async with dashboard(emulator, store) as (app, pilot):
        await wait_for(lambda: app.loaded, 10)
        await asyncio.wait_for(app.workers.wait_for_complete(), 10)
        await pilot.pause()
        assert not isinstance(app.screen, ResumeScreen)
    assert await posted(emulator) == {}


async def test_later_offers_it_again_and_read_only_only_shows_it(
    emulator: Any, store: Store
) -> None:
    seed_interrupted_add(store)
    async with dashboard(emulator, store, read_only=True) as (app, pilot):
        screen = await offered(app)
        assert "Read-only mode" in plain(screen.query_one("#resume-intro", Static))
        assert screen.query_one("#resume-go", Button).disabled
        assert screen.query_one("#resume-dismiss", Button).disabled
        await pilot.press("r")
        await wait_for(lambda: any("Read-only" in n for n in notifications(app)))
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, ResumeScreen))
    async with dashboard(emulator, store) as (app, _pilot):
        await offered(app)
    assert len(store.journal.unfinished()) == 1
    assert await posted(emulator) == {}


async def test_palette_shows_the_journal_with_the_interrupted_action(
    emulator: Any, store: Store
) -> None:
    action_id = seed_interrupted_add(store)
    store.journal.record("remove", [BATCH[0]], "revoking")
    async with dashboard(emulator, store) as (app, pilot):
        await offered(app)
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, ResumeScreen))
        await open_palette(app, pilot, "Show journal")
        await pilot.press("enter")
        screen = await wait_for(lambda: isinstance(app.screen, JournalScreen) and app.screen)
        lines = screen.query_one("#journal-lines", Static)
        await wait_for(lambda: f"#{action_id}" in plain(lines))
        text = plain(lines)
        assert "INTERRUPTED: 4 not done" in text and "pending 2" in text
        assert "Cancel/revoke" in text and "revoking 1" in text and "finished" in text
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, JournalScreen))


def test_a_stopped_add_reads_as_stopped_in_the_journal_not_finished() -> None:
    from hm_tui.service.models import NO_ANSWER, NOT_SENT
    from hm_tui.service.store.db import Store
    from hm_tui.ui.screens.journal import journal_line

    journal = Store.memory().journal
    action = journal.begin("add", ["A" * 17, "B" * 17, "C" * 17])
    journal.finish_stopped(
        action,
        [("A" * 17, "pending", "")],
        [("B" * 17, NO_ANSWER, "sent, no answer"), ("C" * 17, NOT_SENT, "")],
    )
    [entry] = journal.entries(5)
    line = journal_line(entry).plain
    assert "stopped" in line and "finished" not in line
    assert "no answer 1" in line and "not sent 1" in line and "pending 1" in line
