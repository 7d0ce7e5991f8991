"""Roster columns: which fit a width, and each cell of a row as inert plain text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size

from hm_tui.domain.durations import compact
from hm_tui.service.roster.entry import shown_tags
from hm_tui.ui.text import shown

if TYPE_CHECKING:
    from hm_tui.service.roster.entry import RosterEntry

GUTTER = 2  # mark sign + space
VIN_SHOWN = (
    64  # characters of a "VIN" shown or copied at most (a VIN has 17; a platform may send more)
)


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the cell it shows
    title: str
    width: int

    @property
    def sort_key(self) -> str:
        """The Roster sort column that orders this one ("last change" is ordered by "since")."""
        return "since" if self.key == "last" else self.key


#: The Roster's sort columns, in the order `s` cycles through them, with their names.
COLUMN_TITLES: dict[str, str] = {
    "vin": "VIN",
    "brand": "Brand",
    "status": "Status",
    "reason": "Reason",
    "tags": "Tags",
    "since": "Time in state",
    "changed": "Recent changes",
}
SORT_COLUMNS: tuple[str, ...] = tuple(COLUMN_TITLES)
#: Columns a sort shows newest first until reversed: what changed lately is what one looks for.
NEWEST_FIRST: frozenset[str] = frozenset({"changed"})


def sort_arrow(key: str, descending: bool) -> str:
    """▲ smallest first, ▼ largest first, as the column shows its values. "In state" shows a
    duration, which grows as `since` (its sort key) gets older: its arrow is the other way."""
    return "▼" if descending != (key == "since") else "▲"


def layout(width: int) -> list[Column]:
    """Column widths for `width` cells: fixed columns first, reason and tags share the rest.
    Below 106 cells (a 108-column terminal, less the scrollbar) "Last change" goes first (time
    in state says the same), so tags fit. Each title has room for the sort arrow."""
    brand = 13 if width >= 100 else 10
    fixed = [
        Column("vin", "VIN", 17),
        Column("brand", "Brand", brand),
        Column("status", "Status", 9),
        Column("since", "In state", 10),
    ]
    if width >= 106:
        fixed.append(Column("last", "Last change", 13))
    spare = width - GUTTER - sum(c.width + 1 for c in fixed)
    while spare < 8 and len(fixed) > 3:  # very narrow: give up the least useful columns
        spare += fixed.pop().width + 1
    columns = fixed[:3]
    if spare >= 24:
        reason = spare * 11 // 20
        columns += [
            Column("reason", "Reason", reason - 1),
            Column("tags", "Tags", spare - reason - 1),
        ]
    elif spare >= 8:
        columns.append(Column("reason", "Reason", spare - 1))
    return columns + fixed[3:]


def compact_age(seconds: float) -> str:
    """Time in state, short enough for an 8-cell column (domain/durations.py, the one form)."""
    return compact(seconds)


def fit(text: str, width: int) -> str:
    """`text` padded or cut to exactly `width` cells, a cut marked with "…"."""
    if text.isascii():  # one cell per character (cells are inert: no control characters)
        if len(text) <= width:
            return text.ljust(width)
        return text[: width - 1] + "…" if width > 0 else ""
    if cell_len(text) > width:
        return set_cell_size(text, max(0, width - 1)) + "…" if width > 0 else ""
    return set_cell_size(text, width)


def row_cells(
    vin: str, entry: RosterEntry | None, age: str, tz: tzinfo | None, now: datetime | None = None
) -> dict[str, str]:
    """Every cell of one row from its entry's fields (the clearance is never decoded to draw a
    row), untrusted text made inert. "Last change" gives month, day and time in the year of
    `now`, the date with its year before."""
    if entry is None:
        return dict.fromkeys((*SORT_COLUMNS, "last"), "") | {
            "vin": shown(vin, VIN_SHOWN),
            "status": "?",
        }
    return {
        "vin": shown(vin, VIN_SHOWN),
        "brand": shown(entry.brand, 200),
        "status": shown(entry.status, 200),
        "reason": shown(entry.reason or "", 200),
        "tags": shown(shown_tags(entry.tags), 200),
        "since": age,
        "last": _when(entry.since.astimezone(tz), now),
    }


def _when(moment: datetime, now: datetime | None) -> str:
    if now is None or moment.year == now.astimezone(moment.tzinfo).year:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%Y-%m-%d")
