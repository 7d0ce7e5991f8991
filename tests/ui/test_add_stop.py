"""Leaving the add dialog while the platform hangs (the emulator's latency fault): Escape or Close
offers to stop, a stopped add says per VIN what was not done and the journal records it, then the
dialog closes. Quitting the app (ctrl+q, a hang-up) is not the operator's stop: the add is
interrupted, and the journal keeps it unfinished, offered for resuming."""

from __future__ import annotations

from typing import Any

from textual.widgets import Button, Input, Select, Static

from hm_tui.domain.vin import with_check_digit
from hm_tui.emulator.server import Emulator
from hm_tui.ui.screens.add import AddScreen
from hm_tui.ui.screens.add_stop import StopAddingScreen
from hm_tui.ui.widgets.add_results import AddResults
from tests.helpers import wait_for
from tests.ui.app_support import loaded, make_app
from tests.ui.screens_support import ScreenHost, control, plain, started_session

VIN = with_check_digit("WBA00000700000700")
HANG = {"latency_ms": 30_000}  # longer than any test: the add hangs until it is stopped


def status(app: Any) -> str:
    return plain(app.screen.query_one("#add-status", Static))


async def type_one_vin(app: Any, pilot: Any) -> None:
    app.screen.query_one("#add-brand", Select).value = "bmw"
    app.screen.query_one("#add-vin", Input).value = VIN
    await wait_for(lambda: not app.screen.query_one("#add-submit", Button).disabled)


async def test_escape_or_close_while_adding_offers_to_stop_and_a_stop_is_journaled(
    emulator: Emulator, credentials: dict
) -> None:
    async with started_session(credentials) as session:
        app = ScreenHost(lambda: AddScreen(session))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await type_one_vin(app, pilot)
            await control(emulator, "faults", HANG)
            await pilot.press("ctrl+s")
            await wait_for(lambda: status(app) == "Adding 1 VIN… 0 of 1 answered · Esc: stop")
            await pilot.press("escape")
            await wait_for(lambda: isinstance(app.screen, StopAddingScreen))
            await pilot.press("escape")  # keep adding
            await wait_for(lambda: isinstance(app.screen, AddScreen))
            assert app.screen.busy
            await pilot.click("#add-close")  # the Close (now Stop) button asks the same
            await wait_for(lambda: isinstance(app.screen, StopAddingScreen))
            await pilot.press("y")
            await wait_for(lambda: status(app).startswith("Stopped: 0 of 1 ok · 1 no answer"))
            assert app.screen.query_one(AddResults).lines == [f"– {VIN}  no answer"]
            assert "may still have added it" in plain(app.screen.query_one("#add-note", Static))
            (entry,) = session.journal.entries(1)
            assert entry.finished and session.journal.unfinished() == []
            assert entry.results[VIN].result == "no answer"
            await pilot.press("escape")  # now it closes
            await wait_for(lambda: app.results)
        await control(emulator, "faults", {})
    assert [(r.vin, r.status, r.ok) for r in app.results[0]] == [(VIN, "no answer", False)]


async def test_quitting_while_adding_leaves_the_add_resumable(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, AddScreen))
        await type_one_vin(app, pilot)
        await control(emulator, "faults", HANG)
        await pilot.press("ctrl+s")
        await wait_for(lambda: status(app).startswith("Adding 1 VIN…"))
        assert app.screen.query_one("#add-close", Button).has_focus  # the form is locked
        await pilot.press("ctrl+q")  # (q is the app's: Textual keeps it from modal screens)
        await wait_for(lambda: not app.is_running, timeout=10)
    await control(emulator, "faults", {})
    (entry,) = app.sessions[0].journal.entries(1)  # type: ignore[attr-defined]
    assert not entry.finished and entry.not_done == [VIN]
