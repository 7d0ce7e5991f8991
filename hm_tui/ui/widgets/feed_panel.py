"""The live feed panel: a bounded ring of incoming data points, drained in batches by a timer.

The feed (paho in a process of its own) only fills a bounded buffer; every DRAIN_EVERY one timer
tick drains it, appends the batch to the ring and asks for one repaint: never a UI
call per message. The log is a virtual view (ring_view.py): a point is formatted only if it is
drawn.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, Protocol

from rich.style import Style
from textual import getters, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from hm_tui.service.models import DataPoint
from hm_tui.ui.keymap import FEED_FILTER_KEYS, FEED_KEYS, FEED_LOG_KEYS, bindings
from hm_tui.ui.screens.payload import PayloadScreen
from hm_tui.ui.widgets.feed_lines import feed_line, health_text, last_text, matches
from hm_tui.ui.widgets.filter_bar import LineInput
from hm_tui.ui.widgets.ring_view import RingView

if TYPE_CHECKING:
    from hm_tui.service.feed.client import FeedState
    from hm_tui.service.feed.health import FeedHealth

__all__ = ["FeedLog", "FeedPanel", "feed_line", "matches"]

DRAIN_EVERY = 0.04  # at most 25 drains/s, on data arrival or by the timer
AGE_EVERY = 1.0  # ages (lines, status) move on this often: the visible lines are re-formatted
DRAIN_MAX = 5000


class FeedSource(Protocol):
    """What the panel needs from the session's feed (`ProcessFeed`, or `FeedClient`)."""

    @property
    def state(self) -> FeedState: ...

    def drain(self, max_items: int = ...) -> list[DataPoint]: ...

    def health(self) -> FeedHealth: ...


class FeedFilter(LineInput):
    """The feed's filter: Enter returns to the log, Escape clears it (keys on the input itself,
    so that the footer shows them while it has the focus)."""

    BINDINGS: ClassVar = bindings(FEED_FILTER_KEYS)

    class Cleared(Message):
        pass

    def action_clear_filter(self) -> None:
        self.value = ""
        self.post_message(self.Cleared())


class FeedLog(RingView[DataPoint]):
    """The panel's lines: a virtual view of its bounded ring of points, formatted when drawn.

    up/down move a cursor line, Enter shows that point's payload, `o` opens its VIN, End goes
    back to following the tail.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"feed-log--cursor", "feed-log--replayed"}
    CURSOR_COMPONENT = "feed-log--cursor"
    DEFAULT_CSS = """
    FeedLog { height: 1fr; }
    FeedLog > .feed-log--cursor { background: $accent 40%; text-style: bold; }
    FeedLog > .feed-log--replayed { color: $text-muted; text-style: dim; }
    """
    BINDINGS: ClassVar = bindings(FEED_LOG_KEYS)

    class LineChosen(Message):
        def __init__(self, index: int, open_vin: bool) -> None:
            super().__init__()
            self.index = index
            self.open_vin = open_vin

    class Followed(Message):
        """The user went back to the tail (End)."""

    def __init__(self, ring: deque[DataPoint], *, id: str | None = None) -> None:
        super().__init__(ring, self.line_for, id=id)
        self.now = datetime.now(UTC)  # ages are counted to this; the panel moves it each second

    def line_for(self, point: DataPoint) -> str:
        return feed_line(point, self.now, self.scrollable_content_region.width)

    def line_style(self, item: DataPoint) -> Style | None:
        """Points from the persistent session's backlog are dimmed (their age reads "queued")."""
        if not item.replayed:
            return None
        return self.get_component_rich_style("feed-log--replayed", partial=True)

    def tick(self) -> None:
        """Ages move on: the visible lines are formatted again at the next frame (only them)."""
        self.now = datetime.now(UTC)
        self.reformat()

    def action_cursor_up(self) -> None:
        self.move_cursor(-1)

    def action_cursor_down(self) -> None:
        self.move_cursor(1)

    def action_follow(self) -> None:
        self.follow()
        self.post_message(self.Followed())

    def action_select(self) -> None:
        self._choose(open_vin=False)

    def action_open_vin(self) -> None:
        self._choose(open_vin=True)

    def _choose(self, *, open_vin: bool) -> None:
        if not self.ring:
            return
        if self.cursor is None:
            self.move_cursor(0)
        assert self.cursor is not None
        self.post_message(self.LineChosen(self.cursor, open_vin))


class FeedPanel(Vertical):
    """Incoming data points: tail, filter, pause, counters; Enter shows a point's payload."""

    BINDINGS: ClassVar = bindings(FEED_KEYS)
    DEFAULT_CSS = """
    FeedPanel { height: 1fr; border-top: solid $primary; }
    FeedPanel #feed-status { height: 1; padding: 0 1; background: $boost; }
    FeedPanel #feed-status.-warning { background: $warning 35%; text-style: bold; }
    FeedPanel #feed-status.-error { background: $error 35%; text-style: bold; }
    FeedPanel #feed-filter { height: 1; border: none; padding: 0 1; }
    """

    class OpenVin(Message):
        """The operator asked to open this VIN's detail screen (the app handles it)."""

        def __init__(self, vin: str) -> None:
            super().__init__()
            self.vin = vin

    def __init__(
        self,
        feed: FeedSource | None,
        *,
        max_lines: int = 5000,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.feed = feed
        self.max_lines = max_lines
        self.recent: deque[DataPoint] = deque(maxlen=max_lines)  # every point, newest last
        self.shown: deque[DataPoint] = deque(maxlen=max_lines)  # the log's lines (filtered)
        self.paused = False
        self.waiting = 0  # arrived while paused
        self.unseen = 0  # written while scrolled up ("+N new")
        self._last_drain = float("-inf")  # monotonic time of the last drain
        self.needle = ""
        self._status_text = ""
        #: The service's drop count at the first drain: while the panel is closed nobody drains,
        #: so the buffer keeps the newest points and drops older ones by design; only drops
        #: while the panel is open mean points it could not show.
        self._dropped_before: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="feed-status", markup=False)
        yield FeedLog(self.shown, id="feed-log")
        yield FeedFilter(placeholder="/ filter by VIN or capability (Esc clears)", id="feed-filter")

    log_widget = getters.query_one(FeedLog)

    class DataArrived(Message):
        """New points are buffered (posted from the feed's thread)."""

    def on_mount(self) -> None:
        self.set_interval(DRAIN_EVERY, self.drain_feed)
        self.set_interval(AGE_EVERY, self._tick_ages)
        self._render_status()

    def _tick_ages(self) -> None:
        if self.display:  # hidden: nothing to draw (it ticks again when shown)
            self.log_widget.tick()

    def data_arrived(self) -> None:
        """New points wait in the feed (the app calls this from the feed's reader thread, on the
        session's `FeedDataArrived`): ask for a drain now if the last one is DRAIN_EVERY old (at
        most as many drains as the timer makes, but one arriving batch waits no tick for it)."""
        if time.monotonic() - self._last_drain >= DRAIN_EVERY:
            self.post_message(self.DataArrived())

    def on_feed_panel_data_arrived(self, _message: DataArrived) -> None:
        if time.monotonic() - self._last_drain >= DRAIN_EVERY * 0.8:
            self.drain_feed()

    # -- the batch path -------------------------------------------------------------------

    def drain_feed(self) -> None:
        """One tick: drain the service buffer (at most DRAIN_MAX: a burst cannot stall the
        loop; the rest waits in the service's bounded buffer, which counts what it drops) and
        append what passes the filter as ONE batch: one repaint per tick, whatever the rate."""
        log = self.log_widget
        self._last_drain = time.monotonic()
        if self.feed is not None:
            points = self.feed.drain(DRAIN_MAX)
            if points:  # new lines' ages count to now (the others move on at the next tick)
                log.now = datetime.now(UTC)
            if self._dropped_before is None:
                self._dropped_before = getattr(self.feed.state, "dropped", 0)
            if points:
                self.accept(points)
            elif log.is_vertical_scroll_end:
                self.unseen = 0
        log.sync_width()
        self._render_status()

    def accept(self, points: list[DataPoint]) -> None:
        """Take a batch of points (from the feed, or a test): record, then show unless paused."""
        self.recent.extend(points[-self.max_lines :])
        if self.paused:
            self.waiting += len(points)
            return
        self._write(points)

    def _write(self, points: list[DataPoint]) -> None:
        needle = self.needle
        chosen = [p for p in points if matches(p, needle)] if needle else points
        chosen = chosen[-self.max_lines :]
        if not chosen:
            return
        log = self.log_widget
        following = log.following
        pruned = max(0, len(self.shown) + len(chosen) - self.max_lines)
        self.shown.extend(chosen)  # the ring FeedLog draws from: nothing is formatted here
        log.appended(pruned, follow=following)
        self.unseen = 0 if following else self.unseen + len(chosen)

    def _rewrite(self, points: list[DataPoint]) -> None:
        self.shown.clear()
        self.unseen = 0
        self.log_widget.reset()
        self._write(points)

    # -- status line ----------------------------------------------------------------------

    def status_text(self, width: int = 0, health: FeedHealth | None = None) -> str:
        """What needs attention first, then the counters; at `width` (cells, 0: any) the least
        needed parts are left out whole (the counters, then the rate and the last message's
        age) rather than cut in half."""
        if self.feed is None:
            return "No live feed: this profile has no MQTT settings."
        health = health or self.feed.health()
        state = health.state
        before = self._dropped_before
        dropped = 0 if before is None else getattr(state, "dropped", 0) - before
        parts: list[tuple[str, int]] = [  # (text, how much it is needed)
            (health_text(health, age=False), 100),
            (f"DROPPED {dropped:,}", 90) if dropped > 0 else ("", 0),  # never lost silently
            (f"PAUSED: {self.waiting:,} waiting (p resumes)", 80) if self.paused else ("", 0),
            (f"+{self.unseen:,} new (End)", 70) if self.unseen else ("", 0),
            (last_text(health), 40) if health.level == "ok" else ("", 0),  # else in the first
            (f"{state.rate:,.0f} msg/s", 50),
            (f"{state.received:,} messages", 30),  # (a message carries points)
            (f"{getattr(state, 'replayed', 0):,} queued", 25)
            if getattr(state, "replayed", 0)
            else ("", 0),
            (f"bad {state.bad_payloads:,}", 20),
            (f"dup {state.duplicates:,}", 15),
            (f"{len(self.shown):,} points shown", 10),
        ]
        kept = [(text, need) for text, need in parts if text]
        while width and len(kept) > 1 and len(" · ".join(t for t, _ in kept)) > width:
            kept.remove(min(kept, key=lambda part: part[1]))
        return " · ".join(text for text, _ in kept)

    def _render_status(self) -> None:
        status = self.query_one("#feed-status", Static)
        health = self.feed.health() if self.feed is not None else None
        text = self.status_text(status.size.width, health)
        level = health.level if health is not None else "idle"
        for name in ("warning", "error"):
            status.set_class(level == name, f"-{name}")
        if text != self._status_text:
            self._status_text = text
            status.update(text, layout=False)  # 1 line: fixed

    # -- operator actions -----------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            backlog = list(self.recent)[-self.waiting :] if self.waiting else []  # bounded
            self.waiting = 0
            self._write(backlog)
        self._render_status()

    def action_focus_filter(self) -> None:
        self.query_one("#feed-filter", Input).focus()

    @on(Input.Changed, "#feed-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.needle = event.value.strip().lower()
        self._rewrite(self._visible_recent())

    def _visible_recent(self) -> list[DataPoint]:
        if self.paused and self.waiting:
            return list(self.recent)[: -self.waiting]
        return list(self.recent)

    @on(Input.Submitted, "#feed-filter")
    @on(FeedFilter.Cleared)
    def _filter_done(self) -> None:
        self.log_widget.focus()

    @on(FeedLog.Followed)
    def _followed(self) -> None:
        self.unseen = 0
        self._render_status()

    @on(FeedLog.LineChosen)
    def _line_chosen(self, event: FeedLog.LineChosen) -> None:
        if not 0 <= event.index < len(self.shown):
            return
        point = self.shown[event.index]
        if event.open_vin:
            self.post_message(self.OpenVin(point.vin))
            return
        self.app.push_screen(PayloadScreen(point), self._payload_closed)

    def _payload_closed(self, vin: str | None) -> None:
        if vin:
            self.post_message(self.OpenVin(vin))
