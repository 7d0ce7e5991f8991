"""Saved filters: queries in the filter language an operator keeps per profile, in the profile's
local store (beside the roster cache and the journal), offered by the dashboard's palette.

Synchronous and small (a few rows): call it through `asyncio.to_thread` from the UI.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hm_tui.service.store.db import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS saved_filters (
    query TEXT PRIMARY KEY,
    saved_at TEXT NOT NULL
)
"""
MAX_LENGTH = 500  # a filter longer than this is not one anybody typed


class SavedFilters:
    """The saved filters of one profile's store, oldest first."""

    def __init__(self, store: Store) -> None:
        self._store = store
        with store.transaction() as db:
            db.execute(_SCHEMA)

    def all(self) -> list[str]:
        return [
            row[0]
            for row in self._store.query("SELECT query FROM saved_filters ORDER BY saved_at, query")
        ]

    def save(self, query: str) -> bool:
        """Keep `query` (whitespace tidied); False if it is empty, too long or already kept."""
        query = " ".join(query.split())
        if not query or len(query) > MAX_LENGTH:
            return False
        with self._store.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO saved_filters (query, saved_at) VALUES (?, ?)",
                (query, datetime.now(UTC).isoformat()),
            )
            return cursor.rowcount == 1

    def delete(self, query: str) -> bool:
        with self._store.transaction() as db:
            return db.execute("DELETE FROM saved_filters WHERE query = ?", (query,)).rowcount == 1
