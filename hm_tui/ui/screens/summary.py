"""The campaign summary (`g` on the roster, or the palette): for what the roster shows (the whole
fleet or a filter) or one add from the journal: x of n decided, decisions over time as
sparklines, rejections by reason with what to do, time pending with an expected approval time,
and a brand × status table (what needs acting on first, the full table last). The arithmetic is
`domain/campaign.py`; the clearances are looked up and decoded in a worker thread (a fleet of
100,000 takes a second), started once the screen's first frame is drawn and stopped when the
screen closes or a newer computation replaces it (`_Run`); until its numbers are in the screen
says it is counting. A roster change recomputes it at most every `EVERY` seconds."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Label, Sparkline, Static

from hm_tui.domain.campaign import (
    Summary,
    decided_percent,
    duration_text,
    estimate_text,
    summarise,
)
from hm_tui.domain.values import count_text
from hm_tui.ui.keymap import SUMMARY_KEYS, bindings
from hm_tui.ui.text import literal
from hm_tui.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from hm_tui.service.session import Session

EVERY = 2.0  # seconds between recomputations while the roster changes
STEP = 500  # clearances decoded between two looks at whether the computation was stopped


class _Run:
    """One computation in its thread: `stop()` ends it at its next step (Python cannot stop a
    thread from outside; a stopped one no longer holds the GIL against the event loop).
    `running` counts the threads still at work (for tests)."""

    running = 0
    _counting = threading.Lock()

    def __init__(self) -> None:
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def summarise(self, roster: Any, vins: Sequence[str], now: float) -> Summary | None:
        """The summary of `vins`, or None if stopped on the way."""
        from hm_tui.service.campaign_data import car_of

        with _Run._counting:
            _Run.running += 1
        try:
            entries = roster.entries_of(vins)
            cars = []
            for start in range(0, len(entries), STEP):
                if self.stopped:
                    return None
                cars += [car_of(e.clearance, e.since_ts) for e in entries[start : start + STEP]]
            return None if self.stopped else summarise(cars, now)
        finally:
            with _Run._counting:
                _Run.running -= 1


class SummaryScreen(Screen[None]):
    """A campaign at a glance; Escape goes back."""

    BINDINGS: ClassVar = bindings(SUMMARY_KEYS)
    TOAST_ROOM: ClassVar = "#summary-body"  # toasts never cover it (ui/toasts.py, ToastRoom)

    class Computed(Message):
        def __init__(self, summary: Summary | None, error: str | None = None) -> None:
            super().__init__()
            self.summary, self.error = summary, error

    def __init__(
        self,
        session: Session,
        what: str,
        vins: Callable[[], Sequence[str]],
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(id="summary-screen")
        self.session, self.what, self._vins, self._clock = session, what, vins, clock
        self.summary: Summary | None = None
        self._last = 0.0
        self._again = False
        self._run = _Run()
        self._closed = False

    def compose(self) -> ComposeResult:
        yield Static(f"Summary: {self.what}", id="summary-title", markup=False)
        with VerticalScroll(id="summary-body"):
            yield Static("Counting…", id="summary-progress", markup=False)
            with Horizontal(classes="summary-spark"):
                yield Label("approved", classes="summary-spark-label")
                yield Sparkline([], id="summary-approved")
                yield Label("", id="summary-approved-n", classes="summary-spark-n")
            with Horizontal(classes="summary-spark"):
                yield Label("rejected", classes="summary-spark-label")
                yield Sparkline([], id="summary-rejected")
                yield Label("", id="summary-rejected-n", classes="summary-spark-n")
            yield Static(id="summary-timeline", markup=False)
            yield Static(id="summary-rejections")
            yield Static(id="summary-pending")
            yield Static(id="summary-table")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#summary-body"))
        self.call_after_refresh(self.recompute)  # the screen's first frame before the sums

    def on_unmount(self) -> None:
        """Closed: the computation under way stops (reopening does not stack them)."""
        self._closed = True
        self._run.stop()

    def roster_changed(self) -> None:
        """The app's hook: the roster changed (recompute, at most every EVERY seconds)."""
        if time.monotonic() - self._last >= EVERY:
            self.recompute()
        else:
            self._again = True

    def recompute(self) -> None:
        if self._closed:
            return
        self._last = time.monotonic()
        self._again = False
        self._run.stop()  # one computation at a time: the newest
        self._run = run = _Run()
        # the VINs as the roster shows them now (a sequence the roster replaces, never changes)
        self._compute(run, self._vins(), self._clock().timestamp())

    # `description`: else Textual names the worker by the repr of its arguments (every VIN)
    @work(exclusive=True, exit_on_error=False, group="summary", description="summary")
    async def _compute(self, run: _Run, vins: Sequence[str], now: float) -> None:
        roster = self.session.roster
        try:  # looking up and decoding each clearance: off the loop
            summary = await asyncio.to_thread(run.summarise, roster, vins, now)
        except Exception as error:  # a clearance that cannot be read: say so
            self.post_message(self.Computed(None, str(error)))
            return
        if summary is not None:
            self.post_message(self.Computed(summary))

    @on(Computed)
    def _computed(self, message: Computed) -> None:
        if message.summary is None:
            self.query_one("#summary-progress", Static).update(
                literal(f"Could not sum up: {message.error}", "bold red", 200)
            )
            return
        self.summary = s = message.summary
        self.query_one("#summary-progress", Static).update(progress_text(s))
        self.query_one("#summary-table", Static).update(brand_table(s))
        t = s.timeline
        self.query_one("#summary-approved", Sparkline).data = list(t.approved)
        self.query_one("#summary-rejected", Sparkline).data = list(t.rejected)
        self.query_one("#summary-approved-n", Label).update(count_text(sum(t.approved)))
        self.query_one("#summary-rejected-n", Label).update(count_text(sum(t.rejected)))
        self.query_one("#summary-timeline", Static).update(timeline_text(s))
        self.query_one("#summary-rejections", Static).update(rejections_table(s))
        self.query_one("#summary-pending", Static).update(pending_table(s))
        if self._again:
            self.set_timer(EVERY, self.recompute)

    def action_back(self) -> None:
        self.dismiss(None)


def progress_text(s: Summary) -> Text:
    """x of n decided, the share rounded down (as `vins summary`) and a 30-cell bar, full only
    when every one is decided."""
    if not s.total:
        return Text("No clearances here: nothing to sum up.", style="bold")
    filled = 30 * s.decided // s.total
    line = Text(no_wrap=True)
    line.append(f"{s.decided} of {s.total} decided ({decided_percent(s)}%)  ", style="bold")
    line.append("█" * filled, style="green")
    line.append("░" * (30 - filled), style="dim")
    return line


def timeline_text(s: Summary) -> str:
    """What the sparklines span: the chart stretches its steps over the screen's width, so it
    names the steps' length, not a number of columns."""
    t = s.timeline
    span = duration_text(t.bucket_s * len(t.approved))
    return (
        f"decisions over time: the last {span} (since these clearances were added; older "
        f"decisions in the first step), {len(t.approved)} steps of {duration_text(t.bucket_s)}"
    )


def brand_table(s: Summary) -> Table:
    table = Table(title="brand × status", title_justify="left", box=None, pad_edge=False)
    table.add_column("brand", no_wrap=True, max_width=14, overflow="ellipsis")
    for status in s.statuses:  # (a status the platform made up is its text, never markup)
        table.add_column(literal(status, limit=8), justify="right")
    table.add_column("total", justify="right", style="bold")
    for brand, counts in s.table.items():
        row: list[Text | str] = [literal(brand, limit=14)]
        row += [count_text(counts.get(st, 0)) for st in s.statuses]
        table.add_row(*row, count_text(sum(counts.values())))
    totals = [count_text(s.by_status.get(st, 0)) for st in s.statuses]
    table.add_row(Text("total", style="bold"), *totals, count_text(s.total))
    return table


def rejections_table(s: Summary) -> Table:
    table = Table(title="rejections by reason", title_justify="left", box=None, expand=True)
    table.add_column("n", justify="right", width=5)
    table.add_column("reason and what to do", ratio=1)
    for group in s.rejections:
        cell = Text()
        cell.append_text(literal(group.reason, "bold", 80))
        cell.append("\n" + group.action, style="dim")
        table.add_row(count_text(group.count), cell)
    if not s.rejections:
        table.add_row("", "none")
    return table


def pending_table(s: Summary) -> Table:
    table = Table(
        title="pending: time pending, and the approval time seen (pending → approved in the "
        "changelogs)",
        title_justify="left",
        box=None,
        expand=True,
    )
    table.add_column("brand", no_wrap=True, max_width=12, overflow="ellipsis")
    table.add_column("n", justify="right")
    table.add_column("median", justify="right")
    table.add_column("p90", justify="right")
    table.add_column("expected approval", ratio=1)
    for row in s.pending:
        table.add_row(
            literal(row.brand, limit=12),
            str(row.pending.n),
            duration_text(row.pending.median),
            duration_text(row.pending.p90),
            estimate_text(row),
        )
    if not s.pending:
        table.add_row("none", "", "", "", "")
    return table
