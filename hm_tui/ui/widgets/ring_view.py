"""A virtual line view over a bounded ring of items: only the lines on screen are ever formatted.

toolong's way: a `ScrollView` whose `render_line(y)` formats the item under line y on
demand and keeps the text in a bounded cache keyed by the item's serial number, so the cost of a
frame follows the height of the view, not the number of items or the rate they arrive at. The
cache holds text, not `Strip`s: a strip is ~20 objects the cyclic collector tracks (seven caches
of its own); with a thousand strips cached, each full collection on the UI thread took 50-110 ms
during a 5,000 msg/s feed, ~20-30 ms without (benchmarks/RESULTS.md). A string is not tracked. The
owner appends to the ring (a `deque` with `maxlen`) and calls `appended()` once per batch; the view
follows the tail until the reader moves away from it (a resize does not count as moving away),
and keeps the reader's lines in place when the ring drops its oldest items. Lines whose text
changes with time (an age) are re-formatted when the owner calls `reformat()`: only the visible
ones, on the next frame.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

Item = TypeVar("Item")
CACHE_LINES = 1024


class RingView(ScrollView, Generic[Item], can_focus=True):
    """Lines of `ring` (oldest first), each `format_line(item)`, drawn only when visible."""

    DEFAULT_CSS = """
    RingView { height: 1fr; overflow-y: scroll; overflow-x: auto; background: $surface; }
    RingView:focus { background-tint: $foreground 5%; }
    """

    #: component class styling the cursor line (subclasses declare it in COMPONENT_CLASSES)
    CURSOR_COMPONENT = ""

    def __init__(
        self,
        ring: deque[Item],
        format_line: Callable[[Item], str],
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.ring = ring
        self.format_line = format_line
        self.cursor: int | None = None  # index into the ring, None: no cursor (following)
        self._first_serial = 0  # serial number of ring[0]: lines are cached by serial
        self._texts: dict[int, str] = {}  # serial → line, oldest first, at most CACHE_LINES
        self._widest = 0  # widest line formatted so far (the horizontal scroll range)

    # -- what the owner calls --------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self.ring)

    @property
    def lines(self) -> list[str]:
        """Every line as text (formats the whole ring: for tests and copying, not for drawing)."""
        return [self.format_line(item) for item in self.ring]

    @property
    def following(self) -> bool:
        """At the tail with no cursor: new lines scroll into view. Judged by where the view is
        going, not where it is: a page-up still animating away from the tail is not following."""
        return self.cursor is None and round(self.scroll_target_y) >= self.max_scroll_y

    def appended(self, pruned: int, *, follow: bool) -> None:
        """The owner appended a batch to the ring, which dropped its `pruned` oldest items.

        `follow` is `following` as it was before the append. One call per batch: it resizes,
        scrolls and asks for ONE repaint of the view (only visible lines are then formatted).
        """
        self._first_serial += pruned
        self._resize()
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif pruned:
            self._shift(pruned)
        self.refresh()

    def reset(self) -> None:
        """The owner replaced the ring's contents: forget the cursor, cache and place."""
        self._texts.clear()
        self.cursor = None
        self._resize()
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def sync_width(self) -> None:
        """Widen the horizontal scroll range if wider lines were drawn since the last call."""
        if self._widest > self.virtual_size.width:
            follow = self.following
            self._resize()  # may show the horizontal scrollbar, one line less for the tail
            if follow:
                self.scroll_end(animate=False, immediate=True, x_axis=False)

    def reformat(self) -> None:
        """Forget every formatted line and repaint: the visible ones are formatted again (their
        text depends on the time, or on the width)."""
        self._texts.clear()
        self.refresh()

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """A resize keeps a view that followed the tail on it: a shorter view has more lines
        above it, which would leave it short of the end and no longer following."""
        follow = self.following
        width = self.scrollable_content_region.width
        resized = super()._size_updated(size, virtual_size, container_size, layout)
        if self.scrollable_content_region.width != width:
            self._texts.clear()  # lines may be laid out for the width
        if follow and not self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        return resized

    def _shift(self, pruned: int) -> None:
        """Lines left the top: keep the cursor and the view on the same items."""
        if self.cursor is not None:
            self.cursor = self.cursor - pruned if self.cursor >= pruned else None
        self.scroll_to(y=max(0, self.scroll_offset.y - pruned), animate=False, immediate=True)

    def _resize(self) -> None:
        set_virtual_size(self, Size(self._widest, len(self.ring)))

    # -- drawing ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        style = self.rich_style
        if index >= len(self.ring):
            return Strip.blank(width, style)
        extra = self.line_style(self.ring[index])
        if extra is not None:
            style = style + extra
        strip = Strip([Segment(self._line_text(index), style)])
        strip = strip.crop_extend(scroll_x, scroll_x + width, style)
        if index == self.cursor:
            cursor = (
                self.get_component_rich_style(self.CURSOR_COMPONENT, partial=True)
                if self.CURSOR_COMPONENT
                else None
            )
            strip = strip.apply_style(cursor if cursor else Style(reverse=True))
        return strip

    def line_style(self, item: Item) -> Style | None:
        """A style for the whole line of `item` over the view's own (None: the view's)."""
        return None

    def _line_text(self, index: int) -> str:
        serial = self._first_serial + index
        texts = self._texts
        text = texts.get(serial)
        if text is None:
            text = self.format_line(self.ring[index])
            self._widest = max(self._widest, cell_len(text))
            if len(texts) >= CACHE_LINES:
                del texts[next(iter(texts))]  # the oldest formatted
            texts[serial] = text
        return text

    # -- the cursor ------------------------------------------------------------------------

    def move_cursor(self, delta: int) -> None:
        """Move the cursor (it appears on the last visible line first); stop following."""
        if not self.ring:
            return
        old = self.cursor
        bottom = self.scroll_offset.y + self.scrollable_content_region.height
        start = min(len(self.ring), bottom) if old is None else old
        self.cursor = max(0, min(len(self.ring) - 1, start + delta))
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

    def follow(self) -> None:
        """Drop the cursor and go back to the tail."""
        if self.cursor is not None:
            self.refresh_lines(self.cursor)
        self.cursor = None
        self.scroll_end(animate=False, immediate=True, x_axis=False)


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Set a scroll view's virtual size without the layout of the whole screen that assigning
    `virtual_size` (a layout reactive) asks for: a line view's box never depends on its
    content (height: 1fr), only its scrollbars do, and those are updated here."""
    if size == view.virtual_size:
        return
    view.set_reactive(Widget.virtual_size, size)
    if view.is_mounted and view.container_size:
        view._scroll_update(size)
