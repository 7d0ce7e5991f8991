"""A clearance's changelog drawn as a timeline: when, which status, for how long, and why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from textual.content import Content
from textual.widgets import Static

from hm_tui.service.models import ChangelogEntry
from hm_tui.ui.format import format_duration, format_time, safe_text, status_style
from hm_tui.ui.text import cut_note

REASON_SHOWN = 300  # characters of a reason shown; the rest cut, and said


def timeline_content(changelog: Sequence[ChangelogEntry], now: datetime) -> Content:
    """Oldest first, one line per entry, plus an indented line for a reason."""
    if not changelog:
        return Content("No changelog entries yet.")
    lines: list[Content] = []
    last = len(changelog) - 1
    for index, entry in enumerate(changelog):
        lines.append(_entry_line(entry, _until(changelog, index, now), current=index == last))
        if entry.reason:
            lines.append(
                Content.assemble(
                    "      │  reason: ",
                    (safe_text(entry.reason, REASON_SHOWN), "italic"),
                    (cut_note(entry.reason, REASON_SHOWN), "$warning"),
                )
            )
    return Content("\n").join(lines)


def _until(changelog: Sequence[ChangelogEntry], index: int, now: datetime) -> datetime:
    return changelog[index + 1].at or now if index + 1 < len(changelog) else now


def _entry_line(entry: ChangelogEntry, until: datetime, *, current: bool) -> Content:
    start = entry.at
    status = safe_text(entry.status, 24)
    lasted = format_duration((until - start).total_seconds()) if start else "?"
    tail = f"  {lasted} so far (current)" if current else f"  for {lasted}"
    when = format_time(start) if start else safe_text(entry.timestamp, 32)
    return Content.assemble(
        ("  ● " if current else "  ○ "),
        (when, "$text-muted"),
        "  ",
        (f"{status:<10}", status_style(entry.status)),
        (tail, "$text-muted"),
    )


class Timeline(Static):
    """The changelog of one clearance (read-only; call `show` when the clearance changes)."""

    DEFAULT_CSS = """
    Timeline { height: auto; padding: 0 1; }
    """

    def show(self, changelog: Sequence[ChangelogEntry], now: datetime | None = None) -> None:
        self.update(timeline_content(changelog, now or datetime.now(UTC)))
