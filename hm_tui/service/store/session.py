"""The session's store, kept from ever taking the roster away.

The store file (roster cache and journal) can be corrupt, locked, read-only or on a full disk,
found at start-up (the session then runs on an in-memory store: `Store.open_or_memory`) or later
(a cache save or a journal write fails). Either way the problem is noted once, told to the
subscribers (`StoreTrouble`), and everything else goes on: the roster without its cache, actions
only with the operator's consent (`journal_for`): an action whose journal would die with the
process is sent only when the caller says the operator agreed, journaled in memory then.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from hm_tui.service.events import StoreTrouble
from hm_tui.service.store.db import Journal, Store
from hm_tui.service.store.health import JournalUnavailable, StoreProblem, diagnose

log = logging.getLogger("hm_tui.session")

#: What a store file that cannot be used raises (sqlite3's errors, the OS's, ours).
STORE_ERRORS = (sqlite3.Error, OSError, JournalUnavailable)


class SessionStore:
    """The store's trouble, if any, and the journal an action may use."""

    def __init__(
        self, store: Store, problem: StoreProblem | None, emit: Callable[[StoreTrouble], None]
    ) -> None:
        self.store = store
        self.problem = problem
        self._emit = emit
        self._scratch: Store | None = None  # journals unjournaled actions the operator agreed to
        if problem is not None:
            log.warning("store: %s", problem)

    def announce(self) -> None:
        """Tell the subscribers of a problem found before they subscribed."""
        if self.problem is not None:
            self._emit(StoreTrouble(self.problem))

    def failed(self, error: BaseException) -> StoreProblem:
        """Note a store failure (the first one is told to the subscribers); returns it."""
        problem = getattr(error, "problem", None) or diagnose(self.store.path, error)
        if self.problem is None:
            self.problem = problem
            log.warning("store: %s", problem)
            self._emit(StoreTrouble(problem))
        return problem

    def journal_for(self, unjournaled_ok: bool) -> Journal:
        """The journal for an action: the store's while it works; else, when the operator agreed
        to go without, one in memory; else `JournalUnavailable` (nothing is sent)."""
        if self.problem is None:
            return self.store.journal
        if not unjournaled_ok:
            raise JournalUnavailable(self.problem)
        if self._scratch is None:
            self._scratch = Store.memory()
        return self._scratch.journal

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None
