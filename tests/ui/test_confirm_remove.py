"""Confirm-and-revoke through the real Session and emulator: outcomes per VIN."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from hm_tui.ui.screens.confirm import ConfirmRemovalScreen
from tests.helpers import wait_for
from tests.ui.screens_support import ScreenHost, plain, started_session


async def test_y_revokes_the_named_vins_and_shows_outcomes(
    emulator: Any, credentials: dict
) -> None:
    async with started_session(credentials) as session:
        roster = session.roster
        approved = [v for v in roster.visible if roster.entry(v).status == "approved"][:2]
        rejected = [v for v in roster.visible if roster.entry(v).status == "rejected"][:1]
        vins = approved + rejected
        assert len(approved) == 2
        app = ScreenHost(lambda: ConfirmRemovalScreen(session, vins))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.screen.to_send == approved
            await pilot.press("y")
            lines = app.screen.query_one("#confirm-lines", Static)
            await wait_for(
                lambda: "Done: 2 of 2" in plain(app.screen.query_one("#confirm-warning", Static)),
                timeout=10,
            )
            shown = plain(lines)
            assert all(f"✓ {vin}" in shown for vin in approved)
            # done: nothing left to send, so neither the button nor `y` (in the footer) is there
            await wait_for(
                lambda: (
                    "confirm"
                    not in {b.action for _, b, _, _ in app.screen.active_bindings.values()}
                )
            )
            assert not app.screen.query_one("#confirm-yes").display
            await pilot.press("escape")
            await wait_for(lambda: app.results and len(app.results[0]) == 2)
        assert all(emulator.state.clearances[v].status in ("revoking", "revoked") for v in approved)
