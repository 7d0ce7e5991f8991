"""The roster screen: summary, filter and the virtual table of every clearance.

It owns the view of the roster (filter, status filter, sort, marks, cursor). A big roster's new
view (filter or sort) is computed in a worker thread (`Roster.plan_view`) while the table keeps
showing the previous one; only the latest request is applied (`Roster.commit_view`), so the event
loop never waits for a scan or a sort. Anything that talks to the platform (add, remove, refresh)
is the app's: the screen asks (`OpenDetail`, `AddRequested`, `RemoveRequested`: ui/messages.py),
the app decides (read-only, not connected yet) and runs the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, ClassVar

from textual import getters, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen

from hm_tui.domain.clearance import STATUS_ORDER
from hm_tui.domain.filters import parse_filter
from hm_tui.domain.removal import plan_removal
from hm_tui.service.roster.model import COLUMNS, Roster, ViewPlan
from hm_tui.ui import messages as msg
from hm_tui.ui.keymap import ROSTER_KEYS, bindings
from hm_tui.ui.text import CLIP_MAX, copy_text, shown, was_cut
from hm_tui.ui.widgets.filter_bar import FilterBar
from hm_tui.ui.widgets.header import HeaderState, StatusHeader
from hm_tui.ui.widgets.key_footer import KeyFooter
from hm_tui.ui.widgets.roster_columns import NEWEST_FIRST, SORT_COLUMNS, VIN_SHOWN
from hm_tui.ui.widgets.roster_table import RosterTable
from hm_tui.ui.widgets.summary_bar import SummaryBar

if TYPE_CHECKING:
    from hm_tui.ui.widgets.feed_panel import FeedPanel

#: From this many clearances on, a new view is computed in a worker thread (below it a filter or
#: sort takes a few ms: the thread hop would only add latency).
THREAD_VIEW_ROWS = 20_000


class RosterScreen(Screen[None]):
    """Every clearance; `/` filters, 0-7 pick a status, `s`/`S` sort, space marks."""

    BINDINGS: ClassVar = bindings(ROSTER_KEYS)
    TOAST_ROOM: ClassVar = "#roster-body"  # toasts never cover it (ui/toasts.py, ToastRoom)

    def __init__(
        self, roster: Roster, *, clock: Callable[[], datetime], tz: tzinfo | None = None
    ) -> None:
        super().__init__(id="roster-screen")
        self.roster = roster
        self._clock = clock
        self._tz = tz
        self.status_filter: str | None = None
        self.query_text = ""
        self.ready = False  # set in on_mount (is_mounted only turns True after it)
        #: why the table is empty before the session's first answer (None once it answered):
        #: connecting, or why the roster could not be loaded (the app sets it)
        self.loading_note: str | None = "Connecting to the platform…"
        self.feed_panel: FeedPanel | None = None
        self.thread_view_rows = THREAD_VIEW_ROWS
        self._sort_wanted: tuple[str, bool] | None = None  # asked for, not yet shown
        self._view_wanted = 0  # bumps per request: a plan for an older one is dropped
        self._view_busy = False  # a plan is being computed in a worker thread

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status-header")
        yield SummaryBar(id="summary-bar")
        yield FilterBar(id="filter-bar")
        with Vertical(id="roster-body"):
            yield RosterTable(self.roster, clock=self._clock, tz=self._tz, id="roster-table")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.ready = True
        self.filter_bar.focus_after = self.table
        self.table.focus()
        self.table.set_source(self.roster)  # the session's, if it was attached before mount
        self.view_changed()
        self.post_message(msg.HeaderOutdated())

    def on_unmount(self) -> None:
        self.ready = False

    @property
    def live(self) -> bool:
        """Composed and not being torn down (the app's timers outlive the screen at exit)."""
        return self.ready and self.app.is_running and self.app.return_code is None

    # -- typed handles -----------------------------------------------------------------

    table = getters.query_one("#roster-table", RosterTable)
    header = getters.query_one("#status-header", StatusHeader)
    summary = getters.query_one("#summary-bar", SummaryBar)
    filter_bar = getters.query_one("#filter-bar", FilterBar)

    # -- what the app calls ------------------------------------------------------------

    def attach(self, roster: Roster) -> None:
        """Show this roster (the session's, once it exists), keeping the current view."""
        self.roster = roster
        roster.set_query(self.query_text)
        roster.set_statuses(self._statuses)
        self._sort_wanted = None
        if self.ready:
            self.table.set_source(roster)
            self.view_changed()

    def roster_changed(self, flash: Sequence[str] = ()) -> None:
        """The session applied changes: redraw, and highlight the rows that changed."""
        if not self.live:
            return
        self.view_changed()
        if flash:
            self.table.flash(flash)

    def view_changed(self) -> None:
        if not self.live:  # on_mount draws whatever arrived before
            return
        self.table.rows_changed()
        self.table.set_sort(*self.roster.sort)
        self.table.empty_message = self._empty_message()
        self._show_summary()
        self.refresh_bindings()  # the row under the cursor may have changed status

    def _show_summary(self) -> None:
        self.summary.show(
            self.roster.counts,
            self.status_filter,
            len(self.roster.visible),
            marked=len(self.table.marked),
        )

    def show_header(self, state: HeaderState) -> None:
        if self.live:
            self.header.show(state)

    def _empty_message(self) -> str:
        if self.loading_note is not None:
            return self.loading_note
        if len(self.roster) == 0:
            return "No clearances yet: press a to add VINs."
        return "No clearance matches: Escape clears the filter, 0 shows every status."

    # -- filter ------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.filter_bar.open()

    @on(FilterBar.Changed)
    def _filter_changed(self, event: FilterBar.Changed) -> None:
        self.query_text = event.text
        self.filter_bar.describe(parse_filter(event.text))
        # Every keystroke at once (no throttle: one held back for a frame's time cost 5-20 ms
        # of latency on a third of the keys): a small roster plans in a few ms, a big one in
        # a worker that takes only the latest query when it comes back (`request_view`).
        self.request_view()

    def apply_query(self, query: str) -> None:
        """Filter by `query` as if typed in the bar and applied (a saved filter)."""
        self.filter_bar.add_class("-active")
        self.filter_bar.input.value = query  # posts Changed: the view follows
        self.table.focus()

    @on(FilterBar.Applied)
    def _filter_applied(self) -> None:
        self.table.focus()

    @on(FilterBar.Cleared)
    def _filter_cleared(self) -> None:
        self.table.focus()

    def action_clear(self) -> None:
        """Escape on the table: first the notifications on screen, then the filter, then the
        status filter, then the marks."""
        if self.app._notifications:
            self.app.clear_notifications()
        elif self.query_text or self.filter_bar.has_class("-active"):
            self.filter_bar.clear()
        elif self.status_filter is not None:
            self.action_show_status(0)
        elif self.table.marked:
            self.table.clear_marks()
            self.notify("Marks cleared", markup=False, timeout=2)

    def action_show_status(self, number: int) -> None:
        """0: every status; 1-7: only that status (STATUS_ORDER)."""
        status = None if number == 0 else str(STATUS_ORDER[number - 1])
        self.status_filter = status
        self.request_view()

    # -- sort --------------------------------------------------------------------------

    def sort_by(self, column: str, descending: bool | None = None) -> None:
        """Sort by `column`; without a direction, its natural one (`NEWEST_FIRST`)."""
        if column not in COLUMNS:
            raise ValueError(f"unknown column {column!r}; choose one of {', '.join(COLUMNS)}")
        if descending is None:
            descending = column in NEWEST_FIRST
        self._sort_wanted = (column, descending)
        self.request_view()

    @property
    def wanted_sort(self) -> tuple[str, bool]:
        """The sort last asked for (shown, or being computed)."""
        return self._sort_wanted or self.roster.sort

    def action_sort_next(self) -> None:
        column, _ = self.wanted_sort
        position = SORT_COLUMNS.index(column) if column in SORT_COLUMNS else -1
        self.sort_by(SORT_COLUMNS[(position + 1) % len(SORT_COLUMNS)])

    def action_sort_reverse(self) -> None:
        column, descending = self.wanted_sort
        self.sort_by(column, not descending)

    # -- applying the view -------------------------------------------------------------

    @property
    def _statuses(self) -> set[str] | None:
        return None if self.status_filter is None else {self.status_filter}

    def request_view(self) -> None:
        """Show the wanted filter, statuses and sort: at once for a small roster, else from a
        worker thread (the table keeps the previous view until then; the latest request wins)."""
        self._view_wanted += 1
        if self._view_busy:
            return  # the running worker sees the newer request when its plan comes back
        if len(self.roster) < self.thread_view_rows:
            self._show(self.roster.plan_view(self.query_text, self._statuses, self._sort_wanted))
            return
        self._view_busy = True
        self.run_worker(self._plan_in_thread(), group="roster-view", exclusive=True)

    async def _plan_in_thread(self) -> None:
        try:
            while True:
                wanted, roster = self._view_wanted, self.roster
                plan = await asyncio.to_thread(
                    roster.plan_view,
                    self.query_text,
                    self._statuses,
                    self._sort_wanted,
                    snapshot=roster.snapshot(),
                )
                if wanted == self._view_wanted and roster is self.roster and self._show(plan):
                    return
                # else stale (a newer request, or the roster changed meanwhile): plan again
        finally:
            self._view_busy = False

    def _show(self, plan: ViewPlan) -> bool:
        if not self.roster.commit_view(plan):
            return False
        sorted_now = plan.index.column != plan.base.index.column or (
            plan.view.descending != plan.base.view.descending
        )
        if self._sort_wanted == self.roster.sort:
            self._sort_wanted = None
        self.view_changed()
        if sorted_now:
            self.post_message(msg.HeaderOutdated())
        return True

    # -- rows --------------------------------------------------------------------------

    def chosen_vins(self) -> list[str]:
        """The marked VINs (sorted), else the VIN under the cursor: actions address VINs."""
        if self.table.marked:
            return sorted(self.table.marked)
        return [self.table.cursor_vin] if self.table.cursor_vin else []

    @on(RosterTable.RowSelected)
    def _open(self, event: RosterTable.RowSelected) -> None:
        self.post_message(msg.OpenDetail(event.vin))

    @on(RosterTable.MarkToggled)
    @on(RosterTable.MarksCleared)
    def _marked(self) -> None:
        self._show_summary()
        self.refresh_bindings()  # `d` may have become possible, or not (check_action)

    @on(RosterTable.CursorMoved)
    def _cursor_moved(self) -> None:
        self.refresh_bindings()

    def action_summary(self) -> None:
        self.post_message(msg.SummaryRequested())

    def action_add(self, _refused: str = "") -> None:
        self.post_message(msg.AddRequested())  # (refused: the app says why)

    def action_remove(self, _refused: str = "") -> None:
        self.post_message(msg.RemoveRequested(self.chosen_vins()))  # (the same)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers `a` and `d` only where they would do something: not read-only,
        and for `d` something removable under the cursor or among the marks. Refused, the
        key still answers through its hidden twin (ui/keymap.py `Key.refusable`): it says why."""
        if parameters or action not in ("add", "remove"):
            return True
        if getattr(self.app, "read_only", False):
            return False
        return action == "add" or self._any_removable()

    def _any_removable(self) -> bool:
        """Whether cancel/revoke would act on any chosen clearance (domain/removal.py)."""
        now = self._clock()
        for vin in self.chosen_vins():
            entry = self.roster.entry(vin)
            if entry is None:
                continue
            created = entry.clearance.created_at if entry.status == "pending" else None
            if plan_removal(entry.brand, entry.status, created, now).possible:
                return True
        return False

    def bulk_targets(self) -> tuple[list[str], str]:
        """What a bulk fix acts on: the marked VINs if any, else every row shown; and in words."""
        if self.table.marked:
            return sorted(self.table.marked), f"the {len(self.table.marked)} marked"
        shown_now = list(self.roster.visible)
        filtered = self.query_text.strip() or self.status_filter is not None
        return shown_now, f"the {len(shown_now)} {'shown' if filtered else 'in the roster'}"

    def action_add_again(self) -> None:
        """`A`: add the marked (else the shown) clearances again, as they were."""
        self.post_message(msg.AddAgainRequested(*self.bulk_targets()))

    def action_add_again_tagged(self) -> None:
        """`T`: add them again with the VW Group customer name (asked for)."""
        self.post_message(msg.AddAgainRequested(*self.bulk_targets(), with_tag=True))

    def action_new_rejections(self) -> None:
        self.post_message(msg.NewRejectionsRequested())

    def mark_all_shown(self) -> None:
        """Mark every row the filter shows (marks on hidden rows stay)."""
        self.table.replace_marks(self.table.marked | set(self.roster.visible))

    def invert_marks(self) -> None:
        """Among the rows shown, marked ones unmarked and the others marked (hidden stay)."""
        shown_now = set(self.roster.visible)
        self.table.replace_marks((self.table.marked - shown_now) | (shown_now - self.table.marked))

    def action_copy_vin(self) -> None:
        """`c`: the marked VINs, one per line, if any; else the VIN under the cursor."""
        if self.table.marked:
            marked = sorted(self.table.marked)
            lines = (vin if len(vin) <= VIN_SHOWN else vin[: VIN_SHOWN - 1] + "…" for vin in marked)
            copy_text(self.app, "\n".join(lines), multiline=True, limit=None)
            self.notify(f"Copied {len(marked)} marked VINs", markup=False, timeout=2)
            return
        vin = self.table.cursor_vin
        if vin:
            copied = copy_text(self.app, vin, limit=VIN_SHOWN)
            cut = f" (cut: the VIN has {len(vin):,} characters)" if was_cut(vin, VIN_SHOWN) else ""
            self.notify(f"Copied {shown(copied, 40)}{cut}", markup=False, timeout=2)

    def action_copy_reason(self) -> None:
        vin = self.table.cursor_vin
        entry = self.roster.entry(vin) if vin else None
        reason = entry.reason if entry is not None else None
        if not reason:
            self.notify("This clearance has no reason to copy.", markup=False, timeout=3)
            return
        copy_text(self.app, reason)
        cut = (
            f" (cut to {CLIP_MAX:,} of {len(reason):,} characters)"
            if was_cut(reason, CLIP_MAX)
            else ""
        )
        self.notify(f"Copied the reason of {shown(vin, 40)}{cut}", markup=False, timeout=2)

    # -- the live feed panel (UI-SCREENS' widget, mounted on first use) ----------------

    def action_pause_feed(self) -> None:
        """`p`: pause or resume the live feed panel, as its own `p` does; without the panel
        shown, say how to show it (never nothing)."""
        panel = self.feed_panel
        if panel is None or not panel.display:
            self.notify(
                "p pauses the live feed panel: press f to show it first.", markup=False, timeout=4
            )
            return
        panel.action_toggle_pause()
        if panel.paused:
            self.notify("Live feed paused: p resumes it.", markup=False, timeout=3)
        else:
            self.notify("Live feed resumed.", markup=False, timeout=2)

    def toggle_feed(self, make_panel: Callable[[], FeedPanel]) -> bool:
        """Show or hide the feed panel below the table; True if it is now shown."""
        if self.feed_panel is None:
            self.feed_panel = make_panel()
            self.query_one("#roster-body").mount(self.feed_panel)
            return True
        self.feed_panel.display = not self.feed_panel.display
        if not self.feed_panel.display:
            self.table.focus()
        return bool(self.feed_panel.display)
