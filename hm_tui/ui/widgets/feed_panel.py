"""The live feed panel: a bounded log of incoming data points, drained in batches by a timer.

The MQTT thread only fills the FeedClient's buffer; every ~100 ms one timer tick drains it and
writes the batch with ONE `Log.write_lines` call (design.md §5): never a UI call per message.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rich.style import Style
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Input, Log, Static

from hm_tui.service.models import DataPoint
from hm_tui.ui.format import format_duration, format_point, point_as_dict, pretty_json, safe_text
from hm_tui.ui.keymap import Key, bindings

if TYPE_CHECKING:
    from hm_tui.service.feed import FeedState

DRAIN_EVERY = 0.1
DRAIN_MAX = 5000


FEED_KEYS: tuple[Key, ...] = (
    Key("feed-pause", "p", "toggle_pause", "Pause", "feed"),
    Key("feed-filter", "slash", "focus_filter", "Filter feed", "feed", display="/"),
)
FEED_LOG_KEYS: tuple[Key, ...] = (
    Key("feed-up", "up", "cursor_up", "Up", "feed", show=False),
    Key("feed-down", "down", "cursor_down", "Down", "feed", show=False),
    Key("feed-follow", "end", "follow", "Follow tail", "feed"),
    Key("feed-payload", "enter", "select", "Payload", "feed", display="⏎"),
    Key("feed-open-vin", "o", "open_vin", "Open VIN", "feed"),
)
PAYLOAD_KEYS: tuple[Key, ...] = (
    Key("payload-close", "escape", "close", "Close", "payload", display="esc"),
    Key("payload-open-vin", "o", "open_vin", "Open VIN", "payload"),
    Key("payload-copy", "c", "copy", "Copy JSON", "payload"),
)


class FeedSource(Protocol):
    """What the panel needs from hm_tui.service.feed.FeedClient."""

    @property
    def state(self) -> FeedState: ...

    def drain(self, max_items: int = ...) -> list[DataPoint]: ...


def feed_line(point: DataPoint) -> str:
    """One log line: received time, VIN, capability.property, value with unit, age on arrival."""
    age = ""
    if point.timestamp is not None:
        seconds = (point.received_at - point.timestamp).total_seconds()
        age = f"{format_duration(seconds)} old" if seconds >= 1 else "fresh"
    return (f"{point.received_at.astimezone(UTC):%H:%M:%S} {safe_text(point.vin, 17):<17} "
            f"{safe_text(point.key, 48):<28} {format_point(point):<12} {age}")


def matches(point: DataPoint, needle: str) -> bool:
    """Filter: every word must occur in the VIN or in capability.property (case-insensitive)."""
    if not needle:
        return True
    hay = f"{point.vin} {point.capability}.{point.property}".lower()
    return all(word in hay for word in needle.split())


class PayloadScreen(ModalScreen[str | None]):
    """One data point, pretty-printed; dismisses with its VIN when `o` opens the detail."""

    BINDINGS: ClassVar = bindings(PAYLOAD_KEYS)

    def __init__(self, point: DataPoint) -> None:
        super().__init__(classes="payload-screen")
        self.point = point
        self.text = pretty_json(point_as_dict(point))

    def compose(self) -> ComposeResult:
        with Vertical(id="payload-dialog"):
            yield Static(f"{safe_text(self.point.vin, 20)}  {safe_text(self.point.key, 60)}",
                         id="payload-title", markup=False)
            with VerticalScroll(id="payload-body"):
                yield Static(self.text, id="payload-json", markup=False)
            yield Static("o open this VIN · c copy · Esc close", id="payload-keys", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_open_vin(self) -> None:
        self.dismiss(self.point.vin)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("Copied the payload", markup=False)


class FeedLog(Log):
    """A Log with a cursor line: up/down move it, Enter shows the payload, `o` opens the VIN."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"feed-log--cursor"}
    DEFAULT_CSS = """
    FeedLog { height: 1fr; }
    FeedLog > .feed-log--cursor { background: $accent 40%; text-style: bold; }
    """
    BINDINGS: ClassVar = bindings(FEED_LOG_KEYS)

    class LineChosen(Message):
        def __init__(self, index: int, open_vin: bool) -> None:
            super().__init__()
            self.index = index
            self.open_vin = open_vin

    class Followed(Message):
        """The user went back to the tail (End)."""

    def __init__(self, *, max_lines: int, id: str | None = None) -> None:
        super().__init__(max_lines=max_lines, auto_scroll=True, id=id)
        self.cursor: int | None = None

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if self.cursor is not None and self.scroll_offset.y + y == self.cursor:
            style = self.get_component_rich_style("feed-log--cursor", partial=True)
            strip = strip.apply_style(style if style else Style(reverse=True))
        return strip

    def shift_cursor(self, removed: int) -> None:
        """Lines were pruned from the top: keep the cursor (and the view) on the same lines."""
        if removed <= 0:
            return
        if self.cursor is not None:
            self.cursor = self.cursor - removed if self.cursor >= removed else None
        if not self.is_vertical_scroll_end:
            self.scroll_to(y=max(0, self.scroll_offset.y - removed), animate=False,
                           immediate=True)

    def _move_cursor(self, delta: int) -> None:
        if self.line_count == 0:
            return
        old = self.cursor
        bottom = self.scroll_offset.y + self.scrollable_content_region.height
        start = min(self.line_count, bottom) if old is None else old
        self.cursor = max(0, min(self.line_count - 1, start + delta))
        if old is not None:
            self.refresh_lines(old)
        self.refresh_lines(self.cursor)
        self.scroll_to_cursor()

    def scroll_to_cursor(self) -> None:
        if self.cursor is None:
            return
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self._move_cursor(-1)

    def action_cursor_down(self) -> None:
        self._move_cursor(1)

    def action_follow(self) -> None:
        if self.cursor is not None:
            self.refresh_lines(self.cursor)
        self.cursor = None
        self.scroll_end(animate=False, immediate=True)
        self.post_message(self.Followed())

    def action_select(self) -> None:
        self._choose(open_vin=False)

    def action_open_vin(self) -> None:
        self._choose(open_vin=True)

    def _choose(self, *, open_vin: bool) -> None:
        if self.line_count == 0:
            return
        if self.cursor is None:
            self._move_cursor(0)
        assert self.cursor is not None
        self.post_message(self.LineChosen(self.cursor, open_vin))


class FeedPanel(Vertical):
    """Incoming data points: tail, filter, pause, counters; Enter shows a point's payload."""

    BINDINGS: ClassVar = bindings(FEED_KEYS)
    DEFAULT_CSS = """
    FeedPanel { height: 1fr; border-top: solid $primary; }
    FeedPanel #feed-status { height: 1; padding: 0 1; background: $boost; }
    FeedPanel #feed-filter { height: 1; border: none; padding: 0 1; }
    """

    class OpenVin(Message):
        """The operator asked to open this VIN's detail screen (the app handles it)."""

        def __init__(self, vin: str) -> None:
            super().__init__()
            self.vin = vin

    def __init__(self, feed: FeedSource | None, *, max_lines: int = 5000,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.feed = feed
        self.max_lines = max_lines
        self.recent: deque[tuple[DataPoint, str]] = deque(maxlen=max_lines)  # all, newest last
        self.shown: deque[DataPoint] = deque(maxlen=max_lines)  # parallel to the log's lines
        self.paused = False
        self.waiting = 0  # arrived while paused
        self.unseen = 0  # written while scrolled up ("+N new")
        self.needle = ""
        self._status_text = ""

    def compose(self) -> ComposeResult:
        yield Static(id="feed-status", markup=False)
        yield FeedLog(max_lines=self.max_lines, id="feed-log")
        yield Input(placeholder="/ filter by VIN or capability (Esc clears)", id="feed-filter")

    @property
    def log_widget(self) -> FeedLog:
        return self.query_one(FeedLog)

    def on_mount(self) -> None:
        self.set_interval(DRAIN_EVERY, self.drain_feed)
        self._render_status()

    # -- the batch path -------------------------------------------------------------------

    def drain_feed(self) -> None:
        """One tick: drain the service buffer and write what passes the filter in ONE call."""
        if self.feed is None:
            self._render_status()
            return
        points = self.feed.drain(DRAIN_MAX)
        if points:
            self.accept(points)
        elif self.log_widget.is_vertical_scroll_end:
            self.unseen = 0
        self._render_status()

    def accept(self, points: list[DataPoint]) -> None:
        """Take a batch of points (from the feed, or a test): record, then show unless paused."""
        lines = [(point, feed_line(point)) for point in points[-self.max_lines:]]
        self.recent.extend(lines)
        if self.paused:
            self.waiting += len(points)
            return
        self._write(lines)

    def _write(self, lines: Iterable[tuple[DataPoint, str]]) -> None:
        chosen = [(p, text) for p, text in lines if matches(p, self.needle)][-self.max_lines:]
        if not chosen:
            return
        log = self.log_widget
        following = log.is_vertical_scroll_end and log.cursor is None
        before = len(log.lines)
        self.shown.extend(p for p, _ in chosen)
        log.write_lines([text for _, text in chosen], scroll_end=following)
        log.shift_cursor(before + len(chosen) - len(log.lines))
        self.unseen = 0 if following else self.unseen + len(chosen)

    def _rewrite(self, lines: Iterable[tuple[DataPoint, str]]) -> None:
        log = self.log_widget
        log.clear()
        log.cursor = None
        self.shown.clear()
        self.unseen = 0
        self._write(lines)
        log.scroll_end(animate=False, immediate=True)

    # -- status line ----------------------------------------------------------------------

    def status_text(self) -> str:
        if self.feed is None:
            return "No live feed: this profile has no MQTT settings."
        state = self.feed.state
        parts = [f"● {safe_text(state.status, 20)}"]
        if self.paused:
            parts.append(f"PAUSED: {self.waiting:,} waiting (p resumes)")
        if self.unseen:
            parts.append(f"+{self.unseen:,} new (End)")
        parts += [f"{state.rate:,.0f} msg/s", f"received {state.received:,}",
                  f"duplicates {state.duplicates:,}", f"bad {state.bad_payloads:,}",
                  f"showing {len(self.shown):,}"]
        if state.last_error and state.status != "connected":
            parts.append(safe_text(state.last_error, 60))
        return " · ".join(parts)

    def _render_status(self) -> None:
        text = self.status_text()
        if text != self._status_text:
            self._status_text = text
            self.query_one("#feed-status", Static).update(text)

    # -- operator actions -----------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            backlog = list(self.recent)[-self.waiting:] if self.waiting else []
            self.waiting = 0
            self._write(backlog)
        self._render_status()

    def action_focus_filter(self) -> None:
        self.query_one("#feed-filter", Input).focus()

    @on(Input.Changed, "#feed-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.needle = event.value.strip().lower()
        self._rewrite(self._visible_recent())

    def _visible_recent(self) -> list[tuple[DataPoint, str]]:
        if self.paused and self.waiting:
            return list(self.recent)[: -self.waiting]
        return list(self.recent)

    def on_key(self, event: Any) -> None:
        if event.key == "escape" and self.query_one("#feed-filter", Input).has_focus:
            self.query_one("#feed-filter", Input).value = ""
            self.log_widget.focus()
            event.stop()

    @on(Input.Submitted, "#feed-filter")
    def _filter_submitted(self) -> None:
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
