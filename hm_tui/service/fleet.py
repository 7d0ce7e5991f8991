"""`Fleet`: keeps the roster in step with the platform, as cheaply as the platform allows.

Polling (docs/decisions.md#polling: every call costs money and rate limit):
- often (`poll_interval`, default 5 s): only clearances in a transient state (pending, revoking,
  canceling), with the server-side filter `{"status": {"operator": "in", ...}}`;
- rarely (`full_interval`, default 60 s) and on `refresh_now()`: the whole list, which is also
  the only poll that may remove VINs from the roster;
- polls never overlap (one lock) and re-arm after the previous one ends; failures back off
  exponentially (up to `max_backoff`), honouring the platform's retry-after.

A VIN that leaves the transient set (pending -> approved) is missing from the next transient poll
without saying where it went. Rather than wait up to a minute for the full poll, or read each
one with GET-one (one billed call per VIN, 60/min), the poller asks for exactly those VINs with
one filtered list call per 100 VINs (`{"vin": {"operator": "in", ...}}`). When more than
`FOLLOW_UP_MAX` left at once, one full list is cheaper than that many calls and is done instead.

Local knowledge (an add or revoke just answered, a webhook) is applied at once with
`apply_local`; a poll that started before such an update does not undo it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from hm_tui import collector
from hm_tui.domain.clearance import TRANSIENT
from hm_tui.service.errors import AuthError, Forbidden, PlatformError, RateLimited, failure_of
from hm_tui.service.events import ApiState, Health, HealthChanged, ServiceEvent
from hm_tui.service.memory import give_back, keep_large_blocks_mapped
from hm_tui.service.models import Clearance
from hm_tui.service.platform.decode import WireClearances
from hm_tui.service.platform.explain import explain
from hm_tui.service.platform.retry import server_wait
from hm_tui.service.roster.model import Roster, RosterChanges

log = logging.getLogger("hm_tui.fleet")

TRANSIENT_FILTER: dict[str, Any] = {"status": {"operator": "in", "value": sorted(TRANSIENT)}}
VIN_BATCH = 100  # VINs per follow-up list call (keeps the URL far below common limits)
FOLLOW_UP_MAX = 500  # more VINs than this left the transient set: one full list instead
THREAD_APPLY = 2000  # longer lists are diffed in a worker thread, the loop keeps drawing
#: From this many clearances on, every column's sort order is built ahead, at idle (below it a
#: sort takes a few ms anyway).
ORDERS_FROM = 5_000
ORDERS_IDLE_S = 0.5  # ... once nobody has asked for a view (typed, sorted) for this long
ORDERS_CHECK_S = 0.25
GIVE_BACK_ITEMS = 10_000
GIVE_BACK_AFTER_S = 1.0  # after a full list this long, freed memory goes back to the system
DOWN_AFTER = 3  # consecutive failed polls before the API counts as down


def _left(expected: list[str], found: WireClearances) -> list[str]:
    """The VINs expected in a transient list that it does not hold."""
    seen = set(found.vins())
    return [vin for vin in expected if vin not in seen]


def _joined(parts: list[WireClearances]) -> WireClearances:
    """Several list answers as one."""
    if len(parts) == 1:
        return parts[0]
    return WireClearances([item for part in parts for item in part.items])


class ClearanceSource(Protocol):
    """What the poller needs of the platform (`PlatformClient`): the list call, each item left
    as the platform's JSON bytes (the roster decodes only the items that changed)."""

    async def fetch_clearances(self, filter: dict[str, Any] | None = None) -> WireClearances: ...


class Fleet:
    """The poller: fetches, diffs into the roster, emits `RosterChanges` and `HealthChanged`."""

    def __init__(
        self,
        client: ClearanceSource,
        roster: Roster,
        emit: Callable[[ServiceEvent], None],
        *,
        poll_interval: float = 5.0,
        full_interval: float = 60.0,
        max_backoff: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        on_full_poll: Callable[[], None] | None = None,
        orders_from: int = ORDERS_FROM,
    ) -> None:
        self.client = client
        self.roster = roster
        self.poll_interval = poll_interval
        self.full_interval = full_interval
        self.max_backoff = max_backoff
        self.health = Health()
        self.stats = {"full": 0, "transient": 0, "follow_up": 0, "failed": 0}
        self._emit = emit
        self._clock = clock
        self._on_full_poll = on_full_poll
        self._orders_from = orders_from
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._orders_task: asyncio.Task[None] | None = None
        self._trim: asyncio.Task[None] | None = None
        self._last_full: float | None = None
        self._retry_after = 0.0
        self._touched: dict[str, float] = {}  # VIN -> when local knowledge was applied
        #: items of the last whole list that could not be read (not shown): the app says so
        self.unreadable = 0

    # -- running -------------------------------------------------------------------------------
    def start(self) -> None:
        """Poll in the background until `stop()`."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hm-fleet-poller")
            self._orders_task = asyncio.create_task(self._build_orders(), name="hm-roster-orders")

    async def stop(self) -> None:
        for task in (self._task, self._orders_task, self._trim):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._orders_task = None

    @property
    def polling(self) -> bool:
        """A poll is under way (its fetch, diff or commit)."""
        return self._lock.locked()

    async def refresh_now(self) -> RosterChanges:
        """A full poll now (after the one in flight, if any); raises if it fails."""
        return await self.poll(full=True)

    def mark_stale(self, last_refresh: datetime | None) -> None:
        """The roster came from the local cache: say how old it is, and that it is stale."""
        self._set_health(replace(self.health, last_refresh=last_refresh, stale=True))

    async def _run(self) -> None:
        while True:
            await self._pause(self._next_delay())
            with contextlib.suppress(PlatformError):
                await self.poll(full=self._full_due())

    async def _give_back_later(self) -> None:
        await asyncio.sleep(GIVE_BACK_AFTER_S)  # (trimming holds malloc's lock: allocation waits)
        await asyncio.to_thread(give_back)

    async def _build_orders(self) -> None:
        """Every column's sort order for the roster as it is, one column at a time in a worker
        thread, while nobody is typing or sorting: a sort change then shows an order that is
        ready instead of sorting the fleet (a refresh keeps them by splicing; a big one drops
        them, and they are built again here)."""
        roster = self.roster
        while True:
            await asyncio.sleep(ORDERS_CHECK_S)
            if len(roster) < self._orders_from or roster.view_idle_s() < ORDERS_IDLE_S:
                continue
            missing = roster.missing_orders()
            if missing:
                roster.add_order(await asyncio.to_thread(roster.build_order, missing[0]))
                if not roster.missing_orders():
                    collector.settle()

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _full_due(self) -> bool:
        return self._last_full is None or self._clock() - self._last_full >= self.full_interval

    def _next_delay(self) -> float:
        failures = self.health.consecutive_failures
        delay = self.poll_interval
        if failures:
            delay = min(self.poll_interval * 2**failures, max(self.max_backoff, delay))
        return max(delay, self._retry_after)

    # -- polling -------------------------------------------------------------------------------
    async def poll(self, *, full: bool) -> RosterChanges:
        """One poll (full or transient); never overlaps another. Raises PlatformError."""
        async with self._lock:
            started = self._clock()
            try:
                changes = await (
                    self._poll_full(started) if full else self._poll_transient(started)
                )
            except PlatformError as exc:
                self._failed(exc)
                raise
            except Exception as exc:  # a bug or an unexpected answer: still a failed poll
                log.exception("poll failed")
                self._failed(PlatformError("Poll failed", str(exc) or type(exc).__name__))
                raise
            self._succeeded()
            return changes

    async def _fetch(self, filter: dict[str, Any] | None) -> WireClearances:
        """One list call, as the platform's bytes (the roster then decodes only what changed)."""
        return await self.client.fetch_clearances(filter)

    async def _poll_full(self, started: float) -> RosterChanges:
        keep_large_blocks_mapped()
        clearances = await self._fetch(None)
        self.stats["full"] += 1
        size = len(clearances)
        changes = await self._apply(clearances, complete=True, since=started, own=True)
        if size >= GIVE_BACK_ITEMS:  # its body and the old roster are garbage now:
            self._trim = asyncio.create_task(self._give_back_later())  # not while it is drawn
        self._last_full = self._clock()
        if self._on_full_poll is not None:
            self._on_full_poll()
        return changes

    async def _poll_transient(self, started: float) -> RosterChanges:
        if len(self.roster) > THREAD_APPLY:  # a scan of every row: 0.1-0.2 s at 1,000,000 VINs
            expected = await asyncio.to_thread(self.roster.vins_in, TRANSIENT)
        else:
            expected = self.roster.vins_in(TRANSIENT)
        found = [await self._fetch(TRANSIENT_FILTER)]
        self.stats["transient"] += 1
        if len(found[0]) > THREAD_APPLY or len(expected) > THREAD_APPLY:
            # (the list's VINs read and compared: ~0.1 s on the loop at 1,000,000 VINs)
            left = await asyncio.to_thread(_left, expected, found[0])
        else:
            left = _left(expected, found[0])
        if len(left) > FOLLOW_UP_MAX:
            return await self._poll_full(started)
        for start in range(0, len(left), VIN_BATCH):
            batch = left[start : start + VIN_BATCH]
            found.append(await self._fetch({"vin": {"operator": "in", "value": batch}}))
            self.stats["follow_up"] += 1
        return await self._apply(_joined(found), complete=False, since=started)

    async def fetch_vins(self, vins: Sequence[str]) -> RosterChanges:
        """Read these VINs now (filtered list calls, 100 VINs each) and apply them."""
        async with self._lock:
            started = self._clock()
            found: list[WireClearances] = []
            for start in range(0, len(vins), VIN_BATCH):
                batch = list(vins[start : start + VIN_BATCH])
                found.append(await self._fetch({"vin": {"operator": "in", "value": batch}}))
            return await self._apply(_joined(found), complete=False, since=started)

    async def _apply(
        self, clearances: WireClearances, *, complete: bool, since: float, own: bool = False
    ) -> RosterChanges:
        """Apply a list. `own`: nothing else uses `clearances`: once the plan is committed, its
        items and body are let go (a full list at 1,000,000 VINs: 262 MB and a million views,
        otherwise held beside the new state while the other sort orders are spliced)."""
        # local updates newer than this poll's start win over what the poll fetched
        self._touched = {vin: at for vin, at in self._touched.items() if at >= since}
        keep = frozenset(self._touched)
        changes: RosterChanges | None = None
        # a big list, or a small one into a big roster (its view and sort orders are rebuilt or
        # spliced over every row): in a worker thread, the loop keeps drawing
        if len(clearances) > THREAD_APPLY or len(self.roster) > THREAD_APPLY:
            for _ in range(3):  # the loop may change the roster meanwhile: prepare again
                plan = await asyncio.to_thread(
                    self.roster.prepare, clearances, complete=complete, keep=keep
                )
                if self.roster.view_moved(plan):  # typed or sorted meanwhile: not on the loop
                    plan = await asyncio.to_thread(self.roster.refit, plan, *self.roster.view_now())
                if self.roster.commit(plan):
                    changes = plan.changes
                    if self._told(changes, complete):
                        self._emit(changes)  # on screen now; the other sort orders follow
                    if own and len(clearances) >= GIVE_BACK_ITEMS:
                        await asyncio.to_thread(clearances.let_go)
                    self.roster.add_orders(
                        plan.data, await asyncio.to_thread(self.roster.respliced, plan)
                    )
                    await asyncio.to_thread(self.roster.let_go, plan)  # (not on the loop)
                    if not changes.empty and len(self.roster) >= self._orders_from:
                        collector.settle()  # (new long-lived state only when something changed)
                    return changes
        if changes is None:
            changes = self.roster.apply(clearances, complete=complete, keep=keep)
        if self._told(changes, complete):
            self._emit(changes)
        return changes

    def _told(self, changes: RosterChanges, complete: bool) -> bool:
        """Whether `changes` is news: something changed, or (a whole list) the number of items
        that could not be read did. Without it a list whose every item was unreadable showed
        "No clearances yet" under "API ok", and a car whose item broke vanished unsaid."""
        if complete and changes.unreadable != self.unreadable:
            self.unreadable = changes.unreadable
            return True
        return not changes.empty

    def apply_local(self, clearances: Sequence[Clearance]) -> RosterChanges:
        """Apply what an action's answer or a webhook just told us, at once."""
        now = self._clock()
        for c in clearances:
            self._touched[c.vin] = now
        changes = self.roster.apply(clearances, complete=False)
        if not changes.empty:
            self._emit(changes)
        return changes

    # -- health --------------------------------------------------------------------------------
    def _succeeded(self) -> None:
        self._retry_after = 0.0
        self._set_health(Health("ok", None, None, datetime.now(UTC), False, 0))

    def _failed(self, exc: PlatformError) -> None:
        self.stats["failed"] += 1
        failures = self.health.consecutive_failures + 1
        refused = isinstance(exc, AuthError | Forbidden) or getattr(exc, "refused", False)
        api: ApiState = "down" if refused or failures >= DOWN_AFTER else "degraded"
        wait = server_wait(exc.retry_after) if isinstance(exc, RateLimited) else None
        self._retry_after = wait or 0.0  # (capped: one hostile Retry-After must not park it)
        why = explain(exc)  # the operator's words: a 403 is no access, not an outage
        health = Health(api, why, None, self.health.last_refresh, True, failures, failure_of(exc))
        self._set_health(health)
        log.warning("poll failed (%d in a row): %s", failures, exc.message())

    def _set_health(self, health: Health) -> None:
        if health != self.health:
            self.health = health
            self._emit(HealthChanged(health))
