"""Support for the app tests: the real app over a real Session against the real emulator."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from hm_tui.emulator.server import Emulator
from hm_tui.service.config.profiles import Profile, profile_from_credentials
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from hm_tui.ui.app import HmTuiApp
from tests.helpers import wait_for


def profile_for(emulator: Emulator, **changes: Any) -> Profile:
    """The emulator's credentials as a profile; MQTT off unless asked (keeps the header still)."""
    profile = profile_from_credentials(emulator.credentials, "test")
    return replace(profile, **({"mqtt": None} | changes))


def make_app(emulator: Emulator, *, read_only: bool = False, **profile_changes: Any) -> HmTuiApp:
    profile = profile_for(emulator, **profile_changes)
    sessions: list[Session] = []

    def session_for(_name: str | None) -> Session:
        sessions.append(Session(profile, store=Store.memory(), read_only=read_only))
        return sessions[-1]

    app = HmTuiApp(
        session_for, read_only=read_only, profile="test", clock=emulator.clock.now_datetime
    )
    app.sessions = sessions  # type: ignore[attr-defined]
    return app


async def loaded(app: HmTuiApp, emulator: Emulator, timeout: float = 10.0) -> None:
    """Wait until the roster shows every clearance of the emulator."""
    expected = len(emulator.state.clearances)
    await wait_for(
        lambda: (
            app.loaded and app.roster_screen.ready and app.roster_screen.table.row_count == expected
        ),
        timeout,
        message=f"the roster to show {expected} clearances",
    )


async def force(emulator: Emulator, vin: str, status: str, reason: str | None = None) -> None:
    """Move a clearance through the emulator's control endpoint (what the platform would do)."""
    body: dict[str, Any] = {"status": status}
    if reason is not None:
        body["reason"] = reason
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{emulator.url}/_emulator/vehicles/{vin}", json=body)
    assert response.status_code == 200, response.text


def notifications(app: HmTuiApp) -> list[str]:
    return [n.message for n in app._notifications]


def palette_has_results(app: HmTuiApp) -> bool:
    """The command palette is up and its search has results (it may not be pushed yet)."""
    lists = app.screen.query("CommandList")
    return bool(lists) and lists.first().option_count > 0


async def open_palette(app: HmTuiApp, pilot: Any, query: str) -> None:
    """ctrl+p, then `query` typed once the palette is up (typed earlier, the keys would reach
    the screen below: on a detail, c copies and d removes), then its results are there."""
    from textual.command import CommandPalette

    await pilot.press("ctrl+p")
    await wait_for(
        lambda: (
            isinstance(app.screen, CommandPalette)
            and bool(app.screen.query("CommandInput"))
            and app.screen.query_one("CommandInput").has_focus
        )
    )
    await pilot.press(*query)
    await wait_for(lambda: palette_has_results(app))
