"""Saved filters: kept per profile in its local store, offered by the palette (save the current
filter, apply a saved one, delete one)."""

from __future__ import annotations

from pathlib import Path

from hm_tui.emulator.server import Emulator
from hm_tui.service.config.saved_filters import SavedFilters
from hm_tui.service.store.db import Store
from tests.helpers import wait_for
from tests.ui.app_support import loaded, make_app, open_palette


def test_saved_filters_outlive_the_store_and_refuse_empty_or_twice(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    saved = SavedFilters(store)
    assert saved.save("status:rejected   tag:fleet=north")
    assert not saved.save("status:rejected tag:fleet=north")  # the same, tidied
    assert not saved.save("   ")
    store.close()
    again = SavedFilters(Store(tmp_path / "p.db"))
    assert again.all() == ["status:rejected tag:fleet=north"]
    assert again.delete("status:rejected tag:fleet=north") and again.all() == []


async def _palette(app, pilot, query: str) -> None:
    await open_palette(app, pilot, query)
    await pilot.press("enter")
    await wait_for(lambda: app.screen is app.roster_screen, message="the palette to close")


async def test_the_palette_saves_applies_and_deletes_a_filter(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        roster = app.session.roster
        await pilot.press("slash", *"status:rejected", "enter")
        await _palette(app, pilot, "save current filter")
        await wait_for(
            lambda: app.saved_filters.queries == ["status:rejected"], message="the filter saved"
        )
        app.clear_notifications()  # Escape dismisses notifications first ("Saved filter …")
        await pilot.press("escape")  # clears the filter
        await wait_for(lambda: roster.query == "", message="the filter cleared")
        await _palette(app, pilot, "saved filter: status:rej")
        await wait_for(lambda: roster.query == "status:rejected", message="the saved filter")
        assert {roster.entry(v).status for v in roster.visible} == {"rejected"}
        assert app.roster_screen.filter_bar.value == "status:rejected"
        await _palette(app, pilot, "delete saved filter")
        await wait_for(lambda: app.saved_filters.queries == [], message="the filter deleted")
