"""The roster as a virtual table: draws only the rows on screen, whatever the size of the fleet.

Textual's `DataTable` measures every cell it holds (docs/decisions.md#measured-facts); this one
holds nothing. It reads the service's filtered, sorted index (`RowSource.visible`) and one entry per
drawn line, so the cost of a frame follows the height of the terminal, not the number of clearances.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input

from hm_tui.domain.clearance import ClearanceStatus
from hm_tui.service.platform.clock import elapsed_s
from hm_tui.service.redact import generation as secrets_generation
from hm_tui.ui.keymap import TABLE_KEYS, bindings
from hm_tui.ui.widgets.ring_view import set_virtual_size
from hm_tui.ui.widgets.roster_columns import (
    GUTTER,
    compact_age,
    fit,
    layout,
    row_cells,
    sort_arrow,
)

if TYPE_CHECKING:
    from hm_tui.service.roster.entry import RosterEntry

FLASH_SECONDS = 2.0
#: rows kept drawn: a few screens of the tallest terminal. Not more: a cached row is ~30 objects
#: the cyclic collector tracks (a Strip keeps seven caches of its own): 1,024 rows would be
#: ~30,000 more objects for every full collection on the UI thread to walk (the feed view's
#: 1,024 cached strips made those 50-110 ms instead of ~20-30: ring_view.py).
ROW_CACHE = 160


class RowSource(Protocol):
    """What the table reads: the service's `Roster` (hm_tui.service.roster.model) satisfies it."""

    @property
    def visible(self) -> Sequence[str]: ...

    @property
    def version(self) -> int: ...

    def entry(self, vin: str) -> RosterEntry | None: ...


class RosterTable(ScrollView, can_focus=True):
    """Virtual roster table: sticky header, cursor row, marks, and a brief highlight on change."""

    BINDINGS: ClassVar = bindings(TABLE_KEYS)

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "roster-table--header",
        "roster-table--header-sorted",
        "roster-table--cursor",
        "roster-table--marked",
        "roster-table--changed",
        "roster-table--empty",
        *(f"roster-table--status-{status}" for status in ClearanceStatus),
        "roster-table--status-unknown",
    }

    DEFAULT_CSS = """
    RosterTable {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        background: $surface;
        & > .roster-table--header { background: $panel; color: $foreground; text-style: bold; }
        & > .roster-table--header-sorted { color: $accent; text-style: bold; }
        & > .roster-table--cursor { background: $block-cursor-blurred-background; }
        &:focus > .roster-table--cursor {
            background: $block-cursor-background; color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .roster-table--marked { text-style: bold; color: $text-accent; }
        & > .roster-table--changed { background: $warning 30%; }
        & > .roster-table--empty { color: $text-muted; text-style: italic; }
        & > .roster-table--status-pending { color: $text-warning; }
        & > .roster-table--status-approved { color: $text-success; }
        & > .roster-table--status-rejected { color: $text-error; text-style: bold; }
        & > .roster-table--status-revoking { color: $text-secondary; }
        & > .roster-table--status-revoked { color: $text-muted; }
        & > .roster-table--status-canceling { color: $text-secondary; }
        & > .roster-table--status-canceled { color: $text-muted; }
        & > .roster-table--status-error { color: $text-error; }
        & > .roster-table--status-unknown { color: $text-accent; }
    }
    """

    class RowSelected(Message):
        """Enter (or a double click) on a row: open the clearance."""

        def __init__(self, table: RosterTable, vin: str) -> None:
            super().__init__()
            self.table = table
            self.vin = vin

        @property
        def control(self) -> RosterTable:
            return self.table

    class MarkToggled(Message):
        """A VIN was marked or unmarked (space); `MarksCleared` when several were at once."""

        def __init__(self, table: RosterTable, vin: str, marked: bool) -> None:
            super().__init__()
            self.table = table
            self.vin = vin
            self.marked = marked

        @property
        def control(self) -> RosterTable:
            return self.table

    def __init__(
        self,
        source: RowSource,
        *,
        clock: Callable[[], datetime] | None = None,
        tz: tzinfo | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._source = source
        self._rows: Sequence[str] = source.visible
        self._clock = clock or (lambda: datetime.now(UTC))
        self._tz = tz
        self.cursor_row = 0
        self.cursor_vin: str | None = None
        self.marked: set[str] = set()
        self.sort: tuple[str, bool] | None = None  # (column, descending), shown in the header
        self.empty_message = "Loading clearances…"
        self._flashes: dict[str, float] = {}
        self._cache: LRUCache[tuple[Any, ...], Strip] = LRUCache(16)  # header lines
        # rows by (vin, width, state, age, the secrets known): the entry is checked by identity
        # (a changed clearance is a new entry), so a roster change redraws only the rows that
        # changed; a secret learnt (the token, at login) redraws them all (`redact.generation`)
        self._row_cache: LRUCache[tuple[Any, ...], tuple[Any, Strip]] = LRUCache(ROW_CACHE)

    # -- what the screen calls -------------------------------------------------------------

    def set_source(self, source: RowSource) -> None:
        self._source = source
        self.rows_changed()

    def rows_changed(self) -> None:
        """The index changed (data, filter or sort): keep the cursor on its VIN if still shown."""
        self._rows = rows = self._source.visible
        row, vin = self.cursor_row, self.cursor_vin
        if vin is not None and not (row < len(rows) and rows[row] == vin):  # O(1) if in place
            position = _position(self._source, rows, vin)
            if position is not None:
                self.cursor_row = position
        self.cursor_row = max(0, min(self.cursor_row, len(rows) - 1))
        self.cursor_vin = rows[self.cursor_row] if rows else None
        if self.cursor_vin != vin:
            self.post_message(self.CursorMoved())
        set_virtual_size(self, Size(self.size.width, len(rows) + 1))
        self._scroll_to_cursor()
        self.refresh()

    def flash(self, vins: Sequence[str]) -> None:
        """Highlight these rows briefly (their clearance just changed)."""
        until = time.monotonic() + FLASH_SECONDS
        for vin in vins:
            self._flashes[vin] = until
        self.refresh()

    def set_sort(self, column: str, descending: bool) -> None:
        self.sort = (column, descending)
        self.refresh()

    class CursorMoved(Message):
        """The cursor is on another VIN (what the footer offers may change)."""

    class MarksCleared(Message):
        """Marks were taken off or changed several at once (Escape, the palette, a removal)."""

    def replace_marks(self, vins: Iterable[str]) -> None:
        """Mark exactly these VINs (all shown, inverted: the palette)."""
        self.marked = set(vins)
        self.refresh()
        self.post_message(self.MarksCleared())

    def clear_marks(self) -> None:
        self.unmark(self.marked)

    def unmark(self, vins: Iterable[str]) -> None:
        self.marked -= set(vins)
        self.refresh()
        self.post_message(self.MarksCleared())

    @property
    def row_count(self) -> int:
        return len(self._rows)

    # -- Textual hooks ---------------------------------------------------------------------

    def on_mount(self) -> None:
        self.set_interval(0.5, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        set_virtual_size(self, Size(event.size.width, len(self._rows) + 1))
        self._scroll_to_cursor()

    def on_key(self, event: events.Key) -> None:
        """Keys the terminal queued before focus left the table (typed right after `/`, or
        pasted) belong to the input that has focus now, not to the table's bindings."""
        focused = self.screen.focused
        if focused is self:
            self._open_filter_now(event)
            return
        if isinstance(focused, Input) and event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            focused.insert_text_at_cursor(event.character)
        # anything else bubbles on: the app checks it against the focused input's bindings

    def _open_filter_now(self, event: events.Key) -> None:
        """The filter key, handled here rather than as a binding: bindings run only once the key
        has bubbled to the app, after the keys queued behind it reached this table."""
        active = self.screen.active_bindings.get(event.key)
        opener = getattr(self.screen, "action_filter", None)
        if active is None or active.binding.action != "filter" or not callable(opener):
            return
        event.stop()
        event.prevent_default()
        opener()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._row_cache.clear()
        self.refresh()

    def _tick(self) -> None:
        """Expire highlights and let "time in state" move on (only visible lines redraw)."""
        if self._flashes:
            now = time.monotonic()
            self._flashes = {vin: t for vin, t in self._flashes.items() if t > now}
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        row = offset.y - 1 + int(self.scroll_y)
        if row < len(self._rows):
            self._move_to(row)
            if event.chain >= 2:
                self.action_open_row()

    # -- actions ---------------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self._move_to(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._move_to(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self._move_to(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self._move_to(self.cursor_row + self._page())

    def action_first_row(self) -> None:
        self._move_to(0)

    def action_last_row(self) -> None:
        self._move_to(len(self._rows) - 1)

    def action_open_row(self) -> None:
        if self.cursor_vin is not None:
            self.post_message(self.RowSelected(self, self.cursor_vin))

    def action_toggle_mark(self) -> None:
        vin = self.cursor_vin
        if vin is None:
            return
        marked = vin not in self.marked
        if marked:
            self.marked.add(vin)
        else:
            self.marked.discard(vin)
        self.post_message(self.MarkToggled(self, vin, marked))
        self._move_to(self.cursor_row + 1)
        self.refresh()

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _move_to(self, row: int) -> None:
        if not self._rows:
            return
        row = max(0, min(row, len(self._rows) - 1))
        if row != self.cursor_row or self.cursor_vin != self._rows[row]:
            moved = self.cursor_vin != self._rows[row]
            self.cursor_row = row
            self.cursor_vin = self._rows[row]
            self.refresh()
            if moved:
                self.post_message(self.CursorMoved())
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        body = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, force=True)
        elif self.cursor_row >= top + body:
            self.scroll_to(y=self.cursor_row - body + 1, animate=False, force=True)

    # -- rendering -------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header_strip(width)
        row = int(self.scroll_y) + y - 1
        if row >= len(self._rows):
            return self._empty_strip(width, first=row == 0)
        return self._row_strip(row, width)

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True)

    def _header_strip(self, width: int) -> Strip:
        key = ("header", width, self.sort)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        base = self.rich_style + self._style("roster-table--header")
        segments = [Segment(" " * GUTTER, base)]
        for column in layout(width):
            title = column.title
            style = base
            if self.sort and self.sort[0] == column.sort_key:
                title += " " + sort_arrow(column.key, self.sort[1])
                style = base + self._style("roster-table--header-sorted")
            segments += [Segment(fit(title, column.width), style), Segment(" ", base)]
        strip = Strip(segments).adjust_cell_length(width, base)
        self._cache[key] = strip
        return strip

    def _empty_strip(self, width: int, *, first: bool) -> Strip:
        base = self.rich_style
        if not first:
            return Strip.blank(width, base)
        text = fit(" " * GUTTER + self.empty_message, width)
        return Strip([Segment(text, base + self._style("roster-table--empty"))], width)

    def _row_strip(self, row: int, width: int) -> Strip:
        vin = self._rows[row]
        entry = self._source.entry(vin)
        since = entry.since if entry is not None else None
        now = self._clock()
        seconds = elapsed_s(since, now)  # (unknown, or dated in the future: "?")
        age = "?" if seconds is None else compact_age(seconds)
        state = (row == self.cursor_row, vin in self.marked, vin in self._flashes, self.has_focus)
        key = (vin, width, state, age, secrets_generation())
        cached = self._row_cache.get(key)
        if cached is not None and cached[0] is entry:
            return cached[1]
        strip = self._draw_row(vin, entry, age, now, width, state)
        self._row_cache[key] = (entry, strip)
        return strip

    def _draw_row(
        self,
        vin: str,
        entry: RosterEntry | None,
        age: str,
        now: datetime,
        width: int,
        state: tuple[bool, bool, bool, bool],
    ) -> Strip:
        cursor, marked, changed, _focus = state
        base = self.rich_style
        if changed:
            base += self._style("roster-table--changed")
        if marked:
            base += self._style("roster-table--marked")
        if cursor:
            base += self._style("roster-table--cursor")
        cells = row_cells(vin, entry, age, self._tz, now)
        segments = [Segment("● " if marked else "  ", base)]
        for column in layout(width):
            style = base
            if column.key == "status" and not cursor:
                style = base + self._status_style(cells["status"])
            segments += [Segment(fit(cells[column.key], column.width), style), Segment(" ", base)]
        return Strip(segments).adjust_cell_length(width, base)

    def _status_style(self, status: str) -> Style:
        known = ClearanceStatus.parse(status)
        return self._style(f"roster-table--status-{known.value if known else 'unknown'}")


def _position(source: RowSource, rows: Sequence[str], vin: str) -> int | None:
    """Where `vin` is in the index: the source's own lookup if it has one, else a scan."""
    finder = getattr(source, "position", None)
    if callable(finder):
        found = finder(vin)
        return found if isinstance(found, int) and found >= 0 else None
    try:
        return rows.index(vin)
    except ValueError:
        return None
