"""The per-VIN results of an add, failures first, to browse with the arrow keys.

A Line API view (the way toolong draws its logs): `render_line(y)` formats only the lines on screen,
so the results of a 30,000-row CSV cost a frame what eight lines do. Each line starts with a mark
that reads without colour (✓ added, ✗ refused, – not sent or no answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from hm_tui.service.models import NO_ANSWER, NOT_SENT
from hm_tui.ui.format import safe_text

#: Failures first (refused, then no answer, then never sent), the VINs added last.
_ORDER = {"error": 0, NO_ANSWER: 1, NOT_SENT: 2}
_ADDED = 3
_UNANSWERED = frozenset({NO_ANSWER, NOT_SENT})


def failures_first(results: Sequence[Any]) -> list[Any]:
    """The results, failures first; each kind in the order it was sent."""
    return sorted(results, key=lambda r: _ADDED if r.ok else _ORDER.get(r.status, 0))


def result_parts(result: Any) -> tuple[str, str]:
    """(mark, text): `✗ `, `WBA00000000000000  error: The brand is invalid`. Not sent or
    unanswered VINs say no more than that (the dialog's heading explains it once)."""
    mark = "✓ " if result.ok else "✗ " if result.status == "error" else "– "
    text = f"{safe_text(result.vin, 20):<18} {safe_text(result.status, 20)}"
    if result.description and result.status not in _UNANSWERED:
        text += ": " + safe_text(result.description, 200)
    return mark, text


class AddResults(ScrollView, can_focus=True):
    """One line per VIN of the last add, failures first."""

    COMPONENT_CLASSES: ClassVar = {"add-results--ok", "add-results--failed"}
    DEFAULT_CSS = """
    AddResults { height: auto; max-height: 8; overflow-x: auto; overflow-y: auto; }
    AddResults > .add-results--ok { color: $success; }
    AddResults > .add-results--failed { color: $error; text-style: bold; }
    AddResults:focus { background-tint: $foreground 5%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.results: list[Any] = []

    @property
    def lines(self) -> list[str]:
        """Every line as plain text (for tests and copying, not for drawing)."""
        return ["".join(result_parts(r)) for r in self.results]

    def show(self, results: Sequence[Any]) -> None:
        """Replace the lines with `results`, failures first, and go to the top."""
        self.results = failures_first(results)
        widest = max((cell_len("".join(result_parts(r))) for r in self.results), default=0)
        self.virtual_size = Size(widest, len(self.results))  # a layout: the height follows
        self.scroll_home(animate=False, immediate=True)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self.results):
            return Strip.blank(width, base)
        result = self.results[index]
        mark, text = result_parts(result)
        component = "add-results--ok" if result.ok else "add-results--failed"
        mark_style = base + self.get_component_rich_style(component, partial=True)
        strip = Strip([Segment(mark, mark_style), Segment(text, base)])
        return strip.crop_extend(scroll_x, scroll_x + width, base)
