"""The hm-tui Textual app: opens the session, turns service events into messages, runs workers.

The invariant (Harlequin's): widgets never do IO; every service call runs in a
`@work(exclusive=True, exit_on_error=False, group=...)` worker that touches no widget and posts a
typed message (ui/messages.py); the `on_*` handlers below own the UI state. Service events arrive
through `Session.subscribe` in this loop and are accumulated, then announced by one coalescing
message, so a burst of changes costs one redraw.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from hm_tui import collector
from hm_tui.domain.values import count_text
from hm_tui.service.events import (
    ActionProgress,
    FeedDataArrived,
    HealthChanged,
    ServiceEvent,
    StoreTrouble,
    api_word,
)
from hm_tui.service.fleet import ORDERS_FROM
from hm_tui.service.roster.model import Roster, RosterChanges
from hm_tui.ui import messages as msg
from hm_tui.ui.clearance_actions import ClearanceActions
from hm_tui.ui.commands import DashboardCommands, dashboard_commands
from hm_tui.ui.kept_dialogs import KeptAddDialog, warm_up
from hm_tui.ui.keymap import (
    APP_KEYS,
    FOCUS_MOVING_IDS,
    SCREEN_CHANGING_IDS,
    bindings,
    resolve_keymap,
)
from hm_tui.ui.saved_filters import SavedFilterActions
from hm_tui.ui.screens.roster import RosterScreen
from hm_tui.ui.terminal import HangupWatch, default_theme
from hm_tui.ui.text import describe_error, shown
from hm_tui.ui.throttle import Throttle
from hm_tui.ui.toasts import NewRejections, RejectionToasts, StallToast, ToastRoom
from hm_tui.ui.typeahead import TypeAhead
from hm_tui.ui.widgets.header import HeaderState, feed_fields, platform_title, webhook_fields

if TYPE_CHECKING:
    from hm_tui.service.session import Session
    from hm_tui.ui.widgets.feed_panel import FeedPanel

#: profile name -> the (not yet started) session for it, or an awaitable of it (the demo waits
#: for its emulator's credentials)
SessionFactory = Callable[[str | None], "Session | Awaitable[Session]"]
FLASH_MAX = 2000  # a refresh changing more rows than this highlights none of them
#: Adding this many clearances at once moves every live object out of the GC's reach: a full
#: collection over 100k clearances stalls the loop ~0.4 s, mid-keystroke (measured).
FREEZE_AFTER = 10_000
FIRST_FRAME_ENV = "HM_TUI_BENCH_FIRST_FRAME_FILE"
ROSTER_EVERY = 0.1  # roster changes are drawn at most this often
#: The add dialog is built once the first frame with data is this old (its first moments are the
#: roster's: its sort orders, the feed starting), the roster is on top and no key came for as
#: long (building it takes the loop 100-300 ms: not while the operator types, e.g. a palette
#: search that Enter is about to choose from).
PREPARE_AFTER_S = 0.5
PREPARE_WAIT_MAX_S = 60.0  # ... and once the roster's sort orders are built, or after this


@runtime_checkable
class StopsWork(Protocol):
    """A screen with work under way (an add): `stop_work` stops it and journals where it got."""

    async def stop_work(self) -> None: ...


class HmTuiApp(ClearanceActions, App[int]):
    """Roster, detail, feed and actions over one service `Session`."""

    #: beside this module, in hm_tui/ui/styles (app.tcss first: the others refine it)
    CSS_PATH: ClassVar = ["styles/app.tcss", "styles/resume.tcss", "styles/screens.tcss"]
    BINDINGS: ClassVar = bindings(APP_KEYS)
    COMMANDS: ClassVar = App.COMMANDS | {DashboardCommands}
    TITLE = "hm-tui"

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        read_only: bool = False,
        demo: bool = False,
        profile: str | None = None,
        profiles: Callable[[], Sequence[str]] | None = None,
        clock: Callable[[], datetime] | None = None,
        wall_clock: Callable[[], datetime] | None = None,
        tz: tzinfo | None = None,
        theme: str | None = None,
    ) -> None:
        super().__init__()
        self._theme_name = theme
        self._session_factory = session_factory
        self.read_only = read_only
        self.demo = demo
        self.profile_name = profile
        self.profiles = profiles or (lambda: ())
        self.saved_filters = SavedFilterActions(self)
        self.toasts_muted = False  # the palette's "Mute notifications for this session"
        self.stall_toast = StallToast(self)
        self.toast_room = ToastRoom(self)  # toasts never cover the cursor row or pulled data
        self.clock = clock or self._platform_now  # platform time: time in state
        self.wall_clock = wall_clock or (lambda: datetime.now(UTC))  # "updated N s ago"
        self.new_rejections = NewRejections(self.wall_clock)  # what `n` lists
        self._rejections = RejectionToasts(self, self.new_rejections)
        self.tz = tz
        self.session: Session | None = None
        self.keymap: dict[str, str] = {}
        self._pending: list[RosterChanges] = []
        self._roster_throttle = Throttle(self, ROSTER_EVERY, self._apply_roster_changes)
        self._stopped = False
        self._has_data = False
        self._unreadable_said = 0  # the count of unreadable list items last notified
        self._api: str | None = None
        self._hangup: HangupWatch | None = None
        self.roster_screen = RosterScreen(Roster(), clock=self.clock, tz=tz)
        self.type_ahead = TypeAhead(  # keys typed ahead: ui/typeahead.py
            self, SCREEN_CHANGING_IDS, FOCUS_MOVING_IDS, super().on_event
        )
        self.kept_add = KeptAddDialog(self)  # built once, shown again: ui/kept_dialogs.py
        self._last_key_at = float("-inf")  # monotonic time of the last key read
        self._first_frame_at = float("-inf")  # monotonic: start-up over (`_started`)

    def _platform_now(self) -> datetime:
        """The session's estimate of the platform's clock (an emulator at --speed runs ahead of
        ours: see service/platform/clock.py), our clock until there is a session."""
        session = self.session
        return session.platform_now() if session is not None else datetime.now(UTC)

    @property
    def loaded(self) -> bool:
        """The session has answered: the roster shows its data (or an empty fleet)."""
        return self.roster_screen.loading_note is None

    def mute_toasts(self, muted: bool = True) -> None:
        """The palette's "Mute notifications": no more toasts this session but errors (the
        rejections' and the stall's too: the roster's counts and the header keep saying it);
        "Unmute notifications" lets them show again."""
        if muted:
            self.clear_notifications()
        self.toasts_muted = self._rejections.muted = self.stall_toast.muted = muted
        if not muted:
            self.notify("Notifications show again.", markup=False, timeout=3)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Textual's, except while muted (errors still show: they say something failed)."""
        if self.toasts_muted and severity != "error":
            return
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _refresh_notifications(self) -> None:
        """Textual's, then room for the toasts on the screen (`ToastRoom`)."""
        super()._refresh_notifications()
        self.toast_room.changed()

    def get_default_screen(self) -> RosterScreen:
        return self.roster_screen

    async def on_event(self, event: events.Event) -> None:
        """Textual's, except that a key read while a screen opens waits for it (typeahead.py)."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._last_key_at = time.monotonic()
            if self.type_ahead.take(event):
                return
        await super().on_event(event)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.type_ahead.focused(event.widget)

    def on_mount(self) -> None:
        self.type_ahead.start()
        self._rejections.start()  # a dialog opening takes the rejection toast away
        self.stall_toast.start()  # and the stall toast, until it closes
        self.theme = self._theme_name or default_theme(self.console.color_system)
        self._hangup = HangupWatch(self._terminate)
        self._hangup.install()
        self.set_interval(1.0, self.refresh_header)
        self.refresh_header()
        self._open_session(self.profile_name)

    # -- the session ---------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="session", description="session")
    async def _open_session(self, profile: str | None) -> None:
        try:
            made = self._session_factory(profile)
            session = await made if inspect.isawaitable(made) else made
        except Exception as error:  # a bad profile or a dead emulator: say so, keep running
            self.post_message(msg.SessionReady(describe_error(error)))
            return
        session.subscribe(self._service_event)
        self.post_message(msg.SessionOpened(session))
        try:
            await session.start()
        except Exception as error:
            self.post_message(msg.SessionReady(describe_error(error)))
            return
        self.post_message(msg.SessionReady())

    def _service_event(self, event: ServiceEvent) -> None:
        """Session callback: turn the event into a message; never touch widgets. Called in this
        loop, except `FeedDataArrived`, which comes from the feed's reader thread."""
        if isinstance(event, RosterChanges):
            self._pending.append(event)
            self.post_message(msg.RosterUpdated())
        elif isinstance(event, HealthChanged):
            self.post_message(msg.HealthUpdated(event.health))
        elif isinstance(event, FeedDataArrived):
            panel = self.roster_screen.feed_panel  # (set once, on the loop: a plain read here)
            if panel is not None:
                panel.data_arrived()  # thread-safe: at most posts the panel a message
        elif isinstance(event, StoreTrouble):
            self.post_message(msg.StoreTroubled(str(event.problem)))
        elif isinstance(event, ActionProgress):
            pass  # the screen that started the action follows it through its own callback

    @on(msg.StoreTroubled)
    def _store_troubled(self, message: msg.StoreTroubled) -> None:
        """Said once, in full, and kept on the journal screen: the roster, the feed and the
        webhook go on; an action asks before it is sent unjournaled."""
        problem = shown(message.problem, 600)
        self.notify(
            f"{problem[:1].upper()}{problem[1:]}. The roster and the feed go on without it; "
            "adding or removing VINs asks first (nothing could be resumed).",
            title="Journal unavailable",
            severity="error",
            markup=False,
            timeout=30,
        )

    @on(msg.SessionOpened)
    def _adopt(self, message: msg.SessionOpened) -> None:
        self.session = message.session
        self._apply_keymap(self.session.profile.keymap)
        self.roster_screen.attach(self.session.roster)
        self.saved_filters.session_opened(self.session)
        self.refresh_header()

    @on(msg.SessionReady)
    def _on_session_ready(self, message: msg.SessionReady) -> None:
        self.roster_screen.loading_note = None
        if message.error:
            error = shown(message.error, 300)
            self.roster_screen.loading_note = f"Could not load the roster: {error}"
            session = self.session
            failed = session is not None and session.health.failure != ""
            self.notify(
                error,
                # the header's word when the platform was asked; else nothing was asked yet
                title=platform_title(session.health) if session and failed else "Could not start",
                severity="error",
                markup=False,
                timeout=10,
            )
        self.roster_screen.view_changed()
        self.refresh_header()
        if not self._has_data:  # failed, or an empty fleet: start-up is over all the same
            self._started()
        if message.error is None:
            self._check_interrupted()

    def _started(self) -> None:
        """Start-up is over (the first frame with data, or the session's answer without any).
        What exists now (modules, widgets, styles, the roster) lives as long as the app: move it
        out of the collector's way so full GC passes stay short on the loop, then, once that
        frame is drawn, let the collector run again: the entry point pauses it for start-up
        (cli/dashboard.py). The few cycles start-up left (1-2 MB measured) are frozen with the
        rest, which costs less than a full collection (60-90 ms) on the loop."""
        collector.settle()
        self.call_after_refresh(collector.resume)
        self._first_frame_at = time.monotonic()
        self.set_timer(PREPARE_AFTER_S, self._prepare_dialogs)

    def _prepare_dialogs(self) -> None:
        """Build the add dialog now, while the operator reads the roster, so that `a` only
        shows it (ui/kept_dialogs.py); later if a key came a moment ago or a screen is open."""
        if self.session is None or self.read_only or self.kept_add.screen is not None:
            return
        quiet = time.monotonic() - self._last_key_at >= PREPARE_AFTER_S
        if quiet and self._roster_idle() and self.screen_stack[-1:] == [self.roster_screen]:
            # the other dialogs' modules and styles first: the add dialog, built next, then
            # keeps styles made from the stylesheet as it stays (AddScreen.on_screen_resume)
            warm_up(self)
            self.kept_add.prepare(self.session)
        else:
            self.set_timer(PREPARE_AFTER_S, self._prepare_dialogs)

    def _roster_idle(self) -> bool:
        """A big roster has no sort order left to build ahead and no poll under way (both run
        in threads for seconds at 1,000,000 VINs: a dialog composed meanwhile shares the GIL
        with them, and held the loop 150-240 ms instead of ~60); waited for at most
        PREPARE_WAIT_MAX_S after the first frame."""
        if self.session is None or time.monotonic() - self._first_frame_at >= PREPARE_WAIT_MAX_S:
            return True
        roster = self.session.roster  # (a small roster's orders are built on demand, never ahead)
        if len(roster) < ORDERS_FROM:
            return True
        return not roster.missing_orders() and not self.session.fleet.polling

    # -- interrupted actions and the journal (ui/screens/resume.py, journal.py) ----------

    @work(exclusive=True, exit_on_error=False, group="journal", description="journal")
    async def _check_interrupted(self) -> None:
        """Actions a killed app left unfinished in the session's journal: offer to resume."""
        if self.session is None:
            return
        try:
            entries = await asyncio.to_thread(self.session.journal.unfinished)
        except Exception as error:  # a broken journal must not stop the dashboard
            self.post_message(msg.ServiceFailed("Reading the journal", describe_error(error)))
            return
        if entries:
            self.post_message(msg.InterruptedActions(entries))

    @on(msg.InterruptedActions)
    def _offer_resume(self, message: msg.InterruptedActions) -> None:
        from hm_tui.ui.screens.resume import ResumeScreen

        if (
            self.session is not None
            and self.screen_stack
            and not isinstance(self.screen, ResumeScreen)
        ):
            self.push_screen(
                ResumeScreen(self.session, message.entries, read_only=self.read_only),
                self._resume_closed,
            )

    def _resume_closed(self, outcome: str | None) -> None:
        if outcome == "dismissed":
            self.notify("Dismissed: the journal keeps those VINs as abandoned.", markup=False)
        elif outcome is None:
            self.notify(
                "Interrupted actions are offered again at the next start (palette: Show journal).",
                markup=False,
                timeout=5,
            )

    async def stop_session(self) -> None:
        """Stop the session once (flushes its journal); safe to call from every exit path."""
        if self._stopped:
            return
        self._stopped = True
        session, self.session = self.session, None
        if session is not None:
            try:
                await session.stop()
            except Exception as error:  # exiting anyway: report on stderr after the app
                self.log.error(f"session.stop failed: {describe_error(error)}")

    async def on_unmount(self) -> None:
        if self._hangup is not None:
            self._hangup.uninstall()
        await self.stop_session()

    # -- service events ------------------------------------------------------------------

    @on(msg.RosterUpdated)
    def _roster_updated(self) -> None:
        self._roster_throttle.request()

    def roster_now(self) -> None:
        """Apply the roster changes still waiting for the throttle (or for their message): what
        reads the new rejections must not answer from before the latest refresh."""
        self._roster_throttle.flush()
        if self._pending:
            self._apply_roster_changes()

    def _apply_roster_changes(self) -> None:
        """Everything the service changed since the last call, as one redraw (≤ 1 per
        ROSTER_EVERY: a burst of poll results or actions costs one frame)."""
        batches, self._pending = self._pending, []
        if not batches:
            return
        first = not self._has_data  # the first load highlights nothing
        flash: list[str] = []
        rejected = []
        for changes in batches:
            if not first:
                flash += changes.added + changes.updated + [c.vin for c in changes.changed]
            rejected += [c for c in changes.changed if c.new == "rejected"]
        self.roster_screen.loading_note = None
        had_data = self._has_data
        self._has_data = self._has_data or bool(self.session and len(self.session.roster))
        if self._has_data and not had_data:
            self.call_after_refresh(note_first_frame)
            self._started()
        elif sum(len(c.added) for c in batches) >= FREEZE_AFTER:
            collector.settle()  # a big add lives as long as the app too: see _started
        self.roster_screen.roster_changed(flash if len(flash) <= FLASH_MAX else ())
        self._rejections.announce(rejected)
        self._say_unreadable()
        for screen in self.screen_stack:
            if screen is not self.roster_screen:
                screen.post_message(msg.RosterChanged())
        self.refresh_header()

    def _say_unreadable(self) -> None:
        """Say (once per new count) that items of the platform's list could not be read: they
        are not in the roster, which would otherwise look complete."""
        try:
            count = self.session.fleet.unreadable if self.session is not None else 0
        except RuntimeError:  # (not started)
            count = 0
        if count and count != self._unreadable_said:
            self.notify(
                f"{count_text(count)} clearance(s) in the platform's list could not be read "
                "(they do not fit its documented shape) and are not shown; `hm-tui vins list` "
                "counts them too.",
                title="Clearances not shown",
                severity="warning",
                markup=False,
                timeout=15,
            )
        self._unreadable_said = count

    @on(msg.HealthUpdated)
    def _health(self, message: msg.HealthUpdated) -> None:
        api = message.health.api
        if api == "down" and self._api != "down":
            error = message.health.last_error or "no answer"
            self.notify(
                shown(error, 300),
                title=platform_title(message.health),
                severity="error",
                markup=False,
                timeout=10,
            )
        self._api = api
        self.refresh_header()

    @on(msg.ServiceFailed)
    def _failed(self, message: msg.ServiceFailed) -> None:
        self.notify(
            f"{message.what}: {shown(message.error, 300)}",
            severity="error",
            markup=False,
            timeout=8,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Safety net: a worker that failed without posting its own message."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.notify(
                describe_error(event.worker.error),
                title="Something went wrong",
                severity="error",
                markup=False,
                timeout=8,
            )

    # -- the header ----------------------------------------------------------------------

    def header_state(self) -> HeaderState:
        session = self.session
        if session is None:  # opening, or between two profiles
            return HeaderState(
                profile=self.profile_name or "",
                demo=self.demo,
                sort=self.roster_screen.roster.sort,
                read_only=self.read_only,
            )
        health = session.health
        last = health.last_refresh
        return HeaderState(
            profile=session.profile.name or self.profile_name or "",
            environment=session.profile.environment,
            demo=self.demo,
            api=api_word(health),  # the notification's word too (platform_title)
            **feed_fields(session),
            **webhook_fields(session),
            token_age_s=health.token_age_s,
            updated_s=(self.wall_clock() - last).total_seconds() if last else None,
            stale=health.stale,
            sort=self.roster_screen.roster.sort,
            read_only=self.read_only,
        )

    def refresh_header(self) -> None:
        self.toast_room.update()
        self.stall_toast.update(self.session.feed_health() if self.session is not None else None)
        state = self.header_state()
        if self.roster_screen.live:
            self.roster_screen.show_header(state)
        for top in self.screen_stack[-1:]:  # none while the app shuts down
            if top is not self.roster_screen:
                top.post_message(msg.HeaderChanged(state))

    @on(msg.HeaderOutdated)
    def _header_outdated(self) -> None:
        self.refresh_header()

    # -- keys and the palette ------------------------------------------------------------

    def _apply_keymap(self, overrides: dict[str, str] | None) -> None:
        keymap, problems = resolve_keymap(overrides)
        self.keymap = keymap
        if keymap:
            self.set_keymap(keymap)
        for problem in problems:
            self.notify(problem, title="Config", severity="warning", markup=False)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own, but "Keys": `?` (and "Help: keys") lists every key with its id."""
        return (c for c in super().get_system_commands(screen) if c.title != "Keys")

    def palette_commands(self, screen: Any) -> list[Any]:
        return dashboard_commands(self, screen)

    def action_help(self) -> None:
        from hm_tui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.keymap))

    def _terminate(self) -> None:
        """The terminal went away or we were told to stop: exit through the clean path."""
        self.call_later(self.action_quit)

    async def action_quit(self) -> None:
        for screen in reversed(self.screen_stack):  # an add under way: stopped and journaled
            if isinstance(screen, StopsWork):
                await screen.stop_work()
        await self.stop_session()
        self.exit(0)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`f` only where the feed panel is (the roster): elsewhere it leaves the footer."""
        return action != "toggle_feed" or self.screen_stack[-1:] == [self.roster_screen]

    def action_toggle_feed(self) -> None:
        if self.screen is not self.roster_screen:
            self.notify(
                "The live feed panel is on the roster screen (Escape goes back).", markup=False
            )
            return
        from hm_tui.ui.widgets.feed_panel import FeedPanel  # not in the first frame: lazily

        feed = self.session.feed if self.session is not None else None
        self.roster_screen.toggle_feed(lambda: FeedPanel(feed, id="feed-panel"))

    def on_feed_panel_open_vin(self, message: FeedPanel.OpenVin) -> None:
        self.open_detail(message.vin)

    def switch_profile(self, name: str) -> None:
        self.notify(f"Switching to profile {shown(name, 40)}…", markup=False)
        self._switch(name)

    @work(exclusive=True, exit_on_error=False, group="switch", description="switch")
    async def _switch(self, name: str) -> None:
        try:
            if self.session is not None:
                await self.session.stop()
        except Exception as error:  # the old session is gone either way
            self.post_message(msg.ServiceFailed("Stopping the old session", describe_error(error)))
        self.post_message(msg.SessionClosed(name))

    @on(msg.SessionClosed)
    def _on_session_closed(self, message: msg.SessionClosed) -> None:
        self.session = None
        self.profile_name = message.profile
        self.kept_add.forget()  # it adds to the old session
        self.roster_screen.loading_note = f"Connecting with profile {shown(message.profile, 40)}…"
        self._has_data = False
        self.new_rejections.reset()
        self.roster_screen.attach(Roster())
        self._open_session(message.profile)


def note_first_frame() -> None:
    """Start-up benchmark hook: the epoch of the first roster frame with data and the CPU time
    this process had used by then (all its threads), written to `$HM_TUI_BENCH_FIRST_FRAME_FILE`
    if set (benchmarks/startup.py reads it)."""
    path = os.environ.get(FIRST_FRAME_ENV)
    if path:  # written whole, then renamed: a reader never sees the file empty
        with contextlib.suppress(OSError):
            partial = Path(f"{path}.partial")
            partial.write_text(f"{time.time():.6f} {time.process_time():.6f}\n")
            partial.replace(path)
