"""`Session`: the one object the dashboard and the headless commands talk to.

It owns the platform client, the poller (`Fleet`) and its `Roster`, the MQTT feed (when the
profile has one), the local store and journal, and the webhook receiver (when configured).
Subscribers get `RosterChanges`, `HealthChanged` and `ActionProgress` events, called in the event
loop that runs the session, and `FeedDataArrived` from the feed's reader thread when new points
wait in `feed` (`ServiceEvent` names them all). Every operator action is journaled before it is
sent, per VIN as answers come, and finished last, so a killed bulk action can be resumed
(`Journal.unfinished`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import msgspec

from hm_tui.domain.removal import plan_removal
from hm_tui.service.add_run import AddRun, OperatorStop, settle_before_resending
from hm_tui.service.config.profiles import Profile
from hm_tui.service.eligibility_check import EligibilityAnswer, check_all
from hm_tui.service.errors import NotFound, PlatformError
from hm_tui.service.events import (
    ActionProgress,
    FeedDataArrived,
    Health,
    ReadOnlyError,
    RemovalOutcome,
    ServiceEvent,
)
from hm_tui.service.feed.health import FeedHealth
from hm_tui.service.feed.process import ProcessFeed
from hm_tui.service.fleet import Fleet
from hm_tui.service.models import (
    ChangelogEntry,
    Clearance,
    ItemResult,
    NewClearance,
    VehicleData,
)
from hm_tui.service.platform.client import PlatformClient
from hm_tui.service.platform.clock import platform_now
from hm_tui.service.platform.explain import explain_removal_failure
from hm_tui.service.roster.model import Roster, RosterChanges
from hm_tui.service.store.db import ROSTER_SLICE, Journal, JournalEntry, Store
from hm_tui.service.store.health import JournalUnavailable, StoreProblem
from hm_tui.service.store.session import STORE_ERRORS, SessionStore
from hm_tui.service.webhook.reads import VinReads
from hm_tui.service.webhook.receiver import ClearanceEvent, WebhookReceiver

log = logging.getLogger("hm_tui.session")

Progress = Callable[[int, int], None]
Subscriber = Callable[[ServiceEvent], None]
#: The live feed starts once the first list is in (starting its process, and the broker's TLS
#: handshake and backlog, cost CPU the roster's first frame is waiting for), or after this long
#: if the list takes longer. At 100,000 VINs the list takes ~1.5 s to fetch and build: at 1.0 s
#: the feed's start fell in the middle of the build, on both cores.
FEED_AFTER_S = 3.0
SAVE_AFTER_S = 1.0  # the roster cache is written this long after a full list is applied
_FEED_DATA = FeedDataArrived()
#: A call left without an answer this long makes the header say "waiting", not "ok" (a list of a
#: million clearances arrives in a few seconds; a trickle or an imposed wait takes longer).
WAITING_SHOWN_S = 10.0
_ACCEPTED = {
    "revoking": "revoke accepted: data access stops when it completes",
    "canceling": "cancel accepted: the pending activation stops",
}


class Session:
    """Service state for one profile. `store=None`: an in-memory store (nothing kept on disk);
    pass `Store.for_profile(name)` to keep the roster cache and journal. The session closes only
    a store it made itself."""

    def __init__(
        self,
        profile: Profile,
        *,
        store: Store | None = None,
        read_only: bool = False,
        client: PlatformClient | None = None,
        feed: bool = True,
        poll_interval: float = 5.0,
        full_interval: float = 60.0,
        remove_concurrency: int = 4,
        store_problem: StoreProblem | None = None,
    ) -> None:
        self.profile = profile
        self.read_only = read_only
        self._own_store = store is None
        self.store = store or Store.memory()
        self.journal: Journal = self.store.journal
        self._stores = SessionStore(self.store, store_problem, self._emit)
        self.roster = Roster()
        self.roster.now = self._platform_epoch  # time in state, for `age:` filters
        self.feed: ProcessFeed | None = None
        if feed and profile.mqtt is not None:  # paho in its own process: not on the UI's GIL
            self.feed = ProcessFeed(profile.mqtt, profile.environment, profile.app_id)
            self.feed.on_data = self._feed_data  # subscribers hear it as FeedDataArrived
        self.webhook: WebhookReceiver | None = None
        self.webhook_error: str | None = None
        self.webhook_reads = VinReads(self._read_again)
        self._client = client
        self._own_client = client is None
        self._intervals = (poll_interval, full_interval)
        self._remove_concurrency = remove_concurrency
        self._subscribers: list[Subscriber] = []
        self._fleet: Fleet | None = None
        self._saving: asyncio.Task[None] | None = None
        self._refreshed = False
        self._spare_started = False  # a roster helper started ahead of the first list
        self._feed_started = False

    def __repr__(self) -> str:
        return f"Session({self.profile.name!r}, read_only={self.read_only})"

    # -- what the UI reads ---------------------------------------------------------------------
    @property
    def client(self) -> PlatformClient:
        if self._client is None:
            raise RuntimeError("the session is not started")
        return self._client

    @property
    def fleet(self) -> Fleet:
        if self._fleet is None:
            raise RuntimeError("the session is not started")
        return self._fleet

    @property
    def health(self) -> Health:
        base = self._fleet.health if self._fleet is not None else Health()
        tokens = self._client.tokens if self._client is not None else None
        base = replace(base, token_age_s=tokens.token_age_s if tokens is not None else None)
        waiting_s = getattr(self._client, "waiting_s", None)  # (test doubles may lack it)
        waiting = waiting_s() if waiting_s is not None else 0.0
        if waiting >= WAITING_SHOWN_S and base.api in ("ok", "starting"):
            return replace(
                base,
                api="waiting",
                last_error=f"no answer from the platform for {waiting:.0f} s",
                stale=True,
            )
        return base

    @property
    def feed_status(self) -> str:
        """The live feed's state as the header shows it: "off" without a feed, "waiting" while
        the session holds it back for the first list (up to FEED_AFTER_S), else the feed's own
        ("connecting", "connected", "retrying", "stopped")."""
        if self.feed is None:
            return "off"
        return self.feed.state.status if self._feed_started else "waiting"

    def feed_health(self) -> FeedHealth | None:
        """The live feed judged now: connected, stalled or cut off, seconds since its last
        message, and its counters (service/feed/health.py). None without a feed, or while the
        session holds it back for the first list (`feed_status` says which)."""
        if self.feed is None or not self._feed_started:
            return None
        return self.feed.health()

    @property
    def store_problem(self) -> StoreProblem | None:
        """What is wrong with the profile's store file (None: nothing known): the session runs
        without it, and an action is sent only if the operator agrees (`unjournaled_ok`)."""
        return self._stores.problem

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(event)` for every event; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _feed_data(self) -> None:
        """The feed's reader thread buffered new points."""
        self._emit(_FEED_DATA)

    def _emit(self, event: ServiceEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # one broken subscriber must not stop the others
                log.exception("subscriber failed on %s", type(event).__name__)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Show the cached roster at once (marked stale), then poll, then start the feed.
        Raises the first poll's error if it fails; polling continues in the background either
        way."""
        if self._client is None:
            self._client = PlatformClient(self.profile, revoke_on_close=True)
        poll, full = self._intervals
        self._fleet = Fleet(
            self._client,
            self.roster,
            self._emit,
            poll_interval=poll,
            full_interval=full,
            on_full_poll=self._save_soon,
        )
        first_poll: asyncio.Future[RosterChanges] | None = None
        try:
            self._stores.announce()
            if not self._own_store:  # (our private in-memory store has no cache: no thread hops)
                await self._open_cache()
            await self._start_webhook()
            first_poll = asyncio.ensure_future(self._fleet.poll(full=True))
            if self.feed is not None:  # its start-up would compete with the first list's
                await asyncio.wait([first_poll], timeout=FEED_AFTER_S)
                self._feed_started = True
                self.feed.start()
            await first_poll
            self._refreshed = True
        finally:
            if self._spare_started:
                from hm_tui.service.roster import entry_helper

                entry_helper.drop_spare()
            if first_poll is not None and not first_poll.done():  # start() was cancelled
                first_poll.cancel()  # while the feed waited
            self._fleet.start()

    def _expect_first_list(self) -> None:
        """A big roster's first list (or cache) builds on both cores, with a helper process that
        takes ~0.15 s to start: start it now, while the list downloads, when the roster may be
        big: a cache on disk that is, or none yet (a profile's first start; never for the
        private in-memory store of a demo or a script: not called for it)."""
        from hm_tui.service.roster import entry_helper  # (only here: not on the demo's import path)

        count = self.store.cached_roster_count()
        if count is None or count >= entry_helper.MIN_ITEMS:
            entry_helper.start_spare()
            self._spare_started = True

    async def _open_cache(self) -> None:
        """The cached roster, if the store can give it: a broken store is noted, not fatal."""
        try:
            await asyncio.to_thread(self._expect_first_list)
            await self._load_cache()
        except STORE_ERRORS as error:
            self._stores.failed(error)

    async def _load_cache(self) -> None:
        cached, saved_at = await asyncio.to_thread(self.store.load_roster_wire)
        if not len(cached):
            return
        plan = await asyncio.to_thread(self.roster.prepare, cached, complete=True)
        if self.roster.commit(plan) and not plan.changes.empty:
            self._emit(plan.changes)
        self.fleet.mark_stale(saved_at)

    async def _start_webhook(self) -> None:
        listen, secret = self.profile.webhook_listen, self.profile.webhook_secret
        if not listen:
            return
        try:
            self.webhook = WebhookReceiver(listen, secret or "", self._on_webhook)
            await self.webhook.start()
        except (ValueError, OSError) as exc:  # polling still works: say so, do not fail
            self.webhook, self.webhook_error = None, f"webhook receiver not started: {exc}"
            log.warning(self.webhook_error)

    async def stop(self) -> None:
        """Stop polling, the feed and the receiver; keep the roster cache; close what we own."""
        if self._fleet is not None:
            await self._fleet.stop()
        if self.webhook is not None:
            await self.webhook.stop()
        await self.webhook_reads.stop()
        if self.feed is not None:
            await asyncio.to_thread(self.feed.stop)
        if self._saving is not None:
            self._saving.cancel()  # if still waiting to start: the save below does its work
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._saving
        if self._refreshed and len(self.roster) and not self._own_store:
            await self._save_cache()
        self._stores.close()
        if self._client is not None and self._own_client:
            await self._client.aclose()
        if self._own_store:
            self.store.close()

    def _save_soon(self) -> None:
        """After a full poll: write the roster cache in a thread (one write at a time)."""
        self._refreshed = True
        if self._own_store:  # our private in-memory store: nobody will ever read the cache
            return
        if self._saving is None or self._saving.done():
            self._saving = asyncio.create_task(self._save_later())

    async def _save_later(self) -> None:
        """Write the cache a moment after the list came in: not while the screen draws it, and
        in a thread (the roster's state is immutable: collecting 100,000 items there costs the
        event loop nothing)."""
        await asyncio.sleep(SAVE_AFTER_S)
        await self._save_cache()

    async def _save_cache(self) -> None:
        """The roster cache written in a thread; a store that refuses it is noted, not fatal."""
        roster, store = self.roster, self.store
        try:
            await asyncio.to_thread(
                lambda: store.save_roster_slices(*roster.wire_slices(ROSTER_SLICE))
            )
        except STORE_ERRORS as error:
            self._stores.failed(error)

    async def refresh_now(self) -> None:
        """Fetch the whole roster now; raises PlatformError if that fails."""
        await self.fleet.refresh_now()

    # -- actions -------------------------------------------------------------------------------
    def _check_writable(self, what: str) -> None:
        if self.read_only:
            raise ReadOnlyError(f"read-only session: {what} is disabled (started with --read-only)")

    async def add(
        self,
        items: Sequence[NewClearance],
        progress: Progress | None = None,
        on_stop: Callable[[list[ItemResult]], None] | None = None,
        stop: OperatorStop | None = None,
        *,
        resuming: int | None = None,
        unjournaled_ok: bool = False,
        fix: str | None = None,
    ) -> list[ItemResult]:
        """Add clearances: journaled first, results per VIN in the roster at once. Cancelled
        half-way, the journal keeps what was answered and `on_stop` hears every VIN's outcome;
        only when `stop` was requested (the operator's own stop) is the action finished as
        stopped, else it stays unfinished, to be resumed (`AddRun`). `resuming`: continue that
        unfinished action of the journal. A journal that cannot be written raises
        `JournalUnavailable` before anything is sent, unless `unjournaled_ok` (the operator
        agreed to go without: journaled in memory then). `fix`: the bulk fix this add is ("add
        again", "add again with tag …"), said in the journal."""
        self._check_writable("adding VINs")
        journal = self._stores.journal_for(unjournaled_ok)
        try:
            run = self._add_run(journal, items, progress, on_stop, stop, resuming, fix)
            return await run.run()
        except JournalUnavailable as error:
            self._stores.failed(error)
            if error.sent or not unjournaled_ok or resuming is not None:
                raise
        journal = self._stores.journal_for(True)  # begin failed: nothing sent, go without
        return await self._add_run(journal, items, progress, on_stop, stop, None, fix).run()

    def _add_run(
        self,
        journal: Journal,
        items: Sequence[NewClearance],
        progress: Progress | None,
        on_stop: Callable[[list[ItemResult]], None] | None,
        stop: OperatorStop | None,
        resuming: int | None,
        fix: str | None = None,
    ) -> AddRun:
        def report(action_id: int, done: int, total: int) -> None:
            self._progress(action_id, "add", done, total, progress)

        return AddRun(
            self.client,
            journal,
            items,
            apply=self._apply_added,
            progress=report,
            on_stop=on_stop,
            stop=stop,
            action_id=resuming,
            fix=fix,
        )

    def _progress(
        self, action_id: int, action: str, done: int, total: int, progress: Progress | None
    ) -> None:
        if progress is not None:
            progress(done, total)
        self._emit(ActionProgress(action_id, action, done, total))

    def _apply_added(self, items: list[NewClearance], answers: list[ItemResult]) -> None:
        brands = {item.vin: item for item in items}
        now = _iso_now()
        updates = []
        for answer in answers:
            item = brands.get(answer.vin)
            if not answer.ok or item is None:
                continue
            tags = answer.tags if answer.tags is not None else (item.tags or {})
            updates.append(self._moved(answer.vin, answer.status, None, now, item.brand, tags))
        self.fleet.apply_local([c for c in updates if c is not None])

    def _moved(
        self,
        vin: str,
        status: str,
        reason: str | None,
        at: str,
        brand: str = "",
        tags: dict[str, str] | None = None,
    ) -> Clearance | None:
        """The roster's clearance for `vin` moved to `status` (None: it already is there)."""
        entry = self.roster.entry(vin)
        if entry is None:
            return Clearance(vin, status, brand, tags or {}, [ChangelogEntry(at, status, reason)])
        old = entry.clearance
        if old.status == status and (reason is None or old.reason == reason):
            return None
        return msgspec.structs.replace(
            old,
            status=status,
            tags=old.tags if tags is None else tags,
            changelog=[*old.changelog, ChangelogEntry(at, status, reason)],
        )

    async def remove(
        self, vins: Iterable[str], *, unjournaled_ok: bool = False
    ) -> list[RemovalOutcome]:
        """Cancel or revoke each VIN; refusals the roster can predict are explained without a
        call; the others are sent (bounded concurrency) and the platform's answer explained.
        Journaled first: `JournalUnavailable` (nothing sent) as for `add`."""
        self._check_writable("cancel/revoke")
        vins = list(dict.fromkeys(vins))
        journal, action_id = await self._begin("remove", vins, unjournaled_ok)
        outcomes: dict[str, RemovalOutcome] = {}
        to_send = []
        for vin in vins:
            refusal = self._refusal(vin)
            if refusal is None:
                to_send.append(vin)
            else:
                outcomes[vin] = refusal
        refused = [(o.vin, "refused", o.message) for o in outcomes.values()]
        await self._journaled(journal.record_items, action_id, refused)
        slots = asyncio.Semaphore(self._remove_concurrency)

        async def one(vin: str) -> None:
            async with slots:
                outcome = await self._remove_one(vin)
            outcomes[vin] = outcome
            result = outcome.status if outcome.ok else "error"
            await self._journaled(journal.record_item, action_id, vin, result, outcome.message)
            self._progress(action_id, "remove", len(outcomes), len(vins), None)

        await asyncio.gather(*(one(vin) for vin in to_send))
        await self._journaled(journal.finish, action_id)
        return [outcomes[vin] for vin in vins]

    async def _begin(
        self, action: str, vins: list[str], unjournaled_ok: bool
    ) -> tuple[Journal, int]:
        """Journal an action before anything is sent; `JournalUnavailable` if the journal
        refuses and the operator did not agree to go without (then: journaled in memory)."""
        journal = self._stores.journal_for(unjournaled_ok)
        try:
            return journal, await asyncio.to_thread(journal.begin, action, vins, {})
        except STORE_ERRORS as error:
            problem = self._stores.failed(error)
            if not unjournaled_ok:
                raise JournalUnavailable(problem) from None
        journal = self._stores.journal_for(True)
        return journal, await asyncio.to_thread(journal.begin, action, vins, {})

    async def _journaled(self, write: Callable[..., None], *args: Any) -> None:
        """A journal write once sending has begun: a failure cannot unsend anything; noted."""
        try:
            await asyncio.to_thread(write, *args)
        except STORE_ERRORS as error:
            self._stores.failed(error)

    def _refusal(self, vin: str) -> RemovalOutcome | None:
        """The outcome when the roster already knows DELETE would be refused (None: send it)."""
        entry = self.roster.entry(vin)
        if entry is None:
            return None  # unknown here: the platform decides
        c = entry.clearance
        removal = plan_removal(c.brand, c.status, c.created_at, self.platform_now())
        return None if removal.possible else RemovalOutcome(vin, False, c.status, removal.why)

    def platform_now(self) -> datetime:
        """The platform's time (an emulator's virtual clock runs fast), platform/clock.py. Before
        `start()` (no answer seen yet) only the roster's newest change bounds it."""
        server = self._client.server_clock.now() if self._client is not None else None
        return platform_now(self.roster.latest_timestamp, server=server)

    def _platform_epoch(self) -> float:
        server = self._client.server_clock.now() if self._client is not None else None
        return platform_now(self.roster.latest_timestamp, server=server).timestamp()

    async def _remove_one(self, vin: str) -> RemovalOutcome:
        try:
            answer = await self.client.remove_clearance(vin)
        except PlatformError as exc:
            entry = self.roster.entry(vin)
            status = entry.status if entry is not None else "error"
            return RemovalOutcome(vin, False, status, explain_removal_failure(exc))
        moved = self._moved(vin, answer.status, None, _iso_now())
        if moved is not None:
            self.fleet.apply_local([moved])
        return RemovalOutcome(
            vin, True, answer.status, _ACCEPTED.get(answer.status, f"accepted: {answer.status}")
        )

    async def resume(self, action_id: int, progress: Progress | None = None) -> list[Any]:
        """Redo the VINs an unfinished action never got to, then close it in the journal."""
        self._check_writable("resuming")
        entries = await asyncio.to_thread(self.journal.unfinished)
        entry = next((e for e in entries if e.id == action_id), None)
        if entry is None:
            raise ValueError(f"no unfinished action {action_id} in the journal")
        result = await self._redo(entry, progress)
        await asyncio.to_thread(self.journal.finish, action_id)
        return result

    async def _redo(self, entry: JournalEntry, progress: Progress | None) -> list[Any]:
        left = set(entry.not_done)
        if entry.action == "add":
            items = msgspec.convert(entry.params.get("items", []), list[NewClearance])
            return await self._resume_add(entry.id, [i for i in items if i.vin in left], progress)
        if entry.action == "remove":
            return await self.remove([vin for vin in entry.vins if vin in left])
        raise ValueError(f"cannot resume a {entry.action!r} action")

    async def _resume_add(
        self, action_id: int, items: list[NewClearance], progress: Progress | None
    ) -> list[ItemResult]:
        """The rest of an interrupted add, into the same journal entry: VINs the platform
        already holds (their answer was lost) are recorded as such, the others sent."""
        held, to_send = await settle_before_resending(self.client, items)
        rows = [(r.vin, r.status, r.description or "") for r in held]
        await asyncio.to_thread(self.journal.record_items, action_id, rows)
        sent = await self.add(to_send, progress, resuming=action_id) if to_send else []
        return [*held, *sent]

    async def vehicle_data(self, vin: str) -> VehicleData:
        return await self.client.vehicle_data(vin)

    async def check_eligibility(
        self, cars: Sequence[tuple[str, str]], progress: Callable[[int, int], None] | None = None
    ) -> list[EligibilityAnswer]:
        """The platform's eligibility answer for each (vin, brand) before adding (nothing is
        added, nothing journaled: it only reads). Allowed read-only too."""
        return await check_all(self.client, cars, progress)

    # -- webhooks --------------------------------------------------------------------------------
    def _on_webhook(self, event: ClearanceEvent) -> None:
        """A delivery only names a VIN to read again (webhook/reads.py: a replayed delivery must
        not show a state the platform does not hold)."""
        self.webhook_reads.ask(event.vin)

    async def _read_again(self, vin: str) -> None:
        """One clearance read from the platform into the roster (404: none, left to polling)."""
        try:
            clearance = await self.client.get_clearance(vin)
        except NotFound:
            log.info("webhook: %s has no clearance on the platform", vin)
            return
        self.fleet.apply_local([clearance])


def _iso_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
