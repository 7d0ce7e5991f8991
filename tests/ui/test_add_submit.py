"""Adding through the real Session and emulator: per-VIN results, nothing lost on error."""

from __future__ import annotations

from typing import Any

from textual.widgets import Button, Input, Select, Static, TextArea

from hm_tui.domain.vin import with_check_digit
from hm_tui.ui.screens.add import AddScreen
from hm_tui.ui.widgets.add_results import AddResults
from tests.helpers import wait_for
from tests.ui.screens_support import ScreenHost, control, plain, started_session

NEW = [with_check_digit(f"WBA00000{n}00000{n}00") for n in range(1, 4)]


def results(app: ScreenHost) -> str:
    """The results' heading, then a line per VIN (failures first)."""
    lines = app.screen.query_one("#add-results", AddResults).lines
    return "\n".join([plain(app.screen.query_one("#add-status", Static)), *lines])


async def test_pasted_vins_are_added_with_per_vin_results(emulator: Any, credentials: dict) -> None:
    async with started_session(credentials) as session:
        app = ScreenHost(lambda: AddScreen(session, mode="paste"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.screen.query_one("#add-brand", Select).value = "bmw"
            app.screen.query_one("#add-lines", TextArea).text = "\n".join([*NEW, "BAD"])
            await wait_for(
                lambda: str(app.screen.query_one("#add-submit", Button).label) == "Add 3"
            )
            assert "1 line skipped (1 error)" in plain(app.screen.query_one("#add-preview", Static))
            await pilot.press("ctrl+s")
            await wait_for(lambda: "3 of 3 ok" in results(app), timeout=10)
            for vin in NEW:
                assert f"{vin}" in results(app) and "pending" in results(app)
            await pilot.press("escape")
            await wait_for(lambda: app.results and len(app.results[0]) == 3)
        assert all(emulator.state.clearances[vin].status == "pending" for vin in NEW)


async def test_a_failed_submit_keeps_what_was_typed(emulator: Any, credentials: dict) -> None:
    async with started_session(credentials) as session:
        await control(emulator, "faults", {"http_error_rate": 1.0, "statuses": [400]})
        app = ScreenHost(lambda: AddScreen(session))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.screen.query_one("#add-brand", Select).value = "bmw"
            app.screen.query_one("#add-vin", Input).value = NEW[0]
            app.screen.query_one("#add-tags", Input).value = "fleet=north"
            await wait_for(lambda: not app.screen.query_one("#add-submit", Button).disabled)
            await pilot.click("#add-submit")
            await wait_for(lambda: "0 of 1 ok" in results(app), timeout=10)
            assert f"✗ {NEW[0]}" in results(app) and "HTTP 400" in results(app)
            assert app.screen.query_one("#add-vin", Input).value == NEW[0]
            assert app.screen.query_one("#add-tags", Input).value == "fleet=north"
            assert not app.screen.query_one("#add-submit", Button).disabled
        await control(emulator, "faults", {})


async def test_a_sent_add_is_spent_and_a_second_ctrl_s_sends_nothing(
    emulator: Any, credentials: dict
) -> None:
    async with started_session(credentials) as session:
        app = ScreenHost(lambda: AddScreen(session, mode="paste"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.screen.query_one("#add-brand", Select).value = "bmw"
            app.screen.query_one("#add-lines", TextArea).text = "\n".join(NEW[:2])
            await wait_for(
                lambda: str(app.screen.query_one("#add-submit", Button).label) == "Add 2"
            )
            await pilot.press("ctrl+s")
            await wait_for(lambda: "2 of 2 ok" in results(app), timeout=10)
            submit = app.screen.query_one("#add-submit", Button)
            await wait_for(lambda: submit.disabled and str(submit.label) == "Sent")
            await pilot.press("ctrl+s")  # nothing happens: the same input was sent
            app.screen.action_submit()  # nor through the action itself
            await pilot.pause()
            applied = emulator.context.stats.applied["POST"]
            assert [applied.get(vin) for vin in NEW[:2]] == [1, 1]
            app.screen.query_one("#add-lines", TextArea).text = NEW[2]  # a new input: a new add
            await wait_for(lambda: not submit.disabled and str(submit.label) == "Add 1")
