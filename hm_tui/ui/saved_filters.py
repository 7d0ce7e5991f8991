"""Saved filters in the dashboard: the palette saves the current filter, applies a saved one,
deletes one. The store is read and written in workers (no IO on the loop); the list the palette
offers is the app's copy, refreshed after each change."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from hm_tui.service.config.saved_filters import SavedFilters
from hm_tui.ui.text import describe_error, shown

if TYPE_CHECKING:
    from hm_tui.service.session import Session


class SavedFilterActions:
    """The app's saved filters for the current session's profile."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.queries: list[str] = []
        self._store: SavedFilters | None = None

    def session_opened(self, session: Session) -> None:
        """Load the profile's saved filters (a new session: a new profile, maybe)."""
        self.queries, self._store = [], None
        store = session.store
        self._run(lambda: SavedFilters(store), None, "Reading saved filters")

    def save_current(self) -> None:
        query = self.app.roster_screen.query_text.strip()
        if not query:
            self.app.notify("Nothing to save: type a filter with / first.", markup=False)
            return
        self._change(lambda saved: saved.save(query), f"Saved filter: {query}", query)

    def delete(self, query: str) -> None:
        self._change(lambda saved: saved.delete(query), f"Deleted saved filter: {query}", query)

    def apply(self, query: str) -> None:
        self.app.roster_screen.apply_query(query)

    def _change(self, change: Any, done: str, query: str) -> None:
        if self._store is None:
            self.app.notify("Saved filters are not available yet.", markup=False)
            return
        store = self._store

        def work() -> SavedFilters:
            if not change(store):
                raise ValueError(f"{query!r} is already saved or not there")
            return store

        self._run(work, done, "Saving filters")

    def _run(self, work: Any, done: str | None, what: str) -> None:
        async def run() -> None:
            try:
                store = await asyncio.to_thread(work)
                queries = await asyncio.to_thread(store.all)
            except Exception as error:  # a broken store must not stop the dashboard
                self.app.notify(f"{what}: {describe_error(error)}", markup=False)
                return
            self._store, self.queries = store, queries
            if done:
                self.app.notify(shown(done, 200), markup=False, timeout=3)

        self.app.run_worker(run(), group="saved-filters", exit_on_error=False)
