"""Counts per status over the whole roster, with the number key that shows only that status."""

from __future__ import annotations

from collections.abc import Mapping

from textual.content import Content
from textual.widget import Widget

from hm_tui.domain.clearance import STATUS_ORDER

_SHORT = {
    "pending": "pend",
    "approved": "appr",
    "rejected": "rej",
    "revoking": "rvkg",
    "revoked": "rvkd",
    "canceling": "cncg",
    "canceled": "cncd",
}
_STYLE = {
    "pending": "$text-warning",
    "approved": "$text-success",
    "rejected": "$text-error",
    "revoking": "$text-secondary",
    "canceling": "$text-secondary",
}


class SummaryBar(Widget):
    """`1 pending 12  2 approved 250 … 0 all 300`, how many rows the filter shows and how many
    VINs are marked (marks stay when the filter hides their rows: `d` acts on them all).

    Shortens itself to fit: full names, then without empty statuses, then abbreviations.
    """

    DEFAULT_CSS = """
    SummaryBar { height: 1; padding: 0 1; background: $boost; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.counts: dict[str, int] = {}
        self.active: str | None = None
        self.shown = 0
        self.marked = 0

    def show(
        self, counts: Mapping[str, int], active: str | None, shown: int, *, marked: int = 0
    ) -> None:
        counts = dict(counts)
        if (counts, active, shown, marked) != (self.counts, self.active, self.shown, self.marked):
            self.counts, self.active, self.shown, self.marked = counts, active, shown, marked
            self.refresh()

    def render(self) -> Content:
        width = self.scrollable_content_region.width or 80
        for short, skip_empty, gap in (
            (False, False, "  "),
            (False, True, "  "),
            (True, True, "  "),
            (True, True, " "),
        ):
            content = summary_content(
                self.counts,
                self.active,
                self.shown,
                short=short,
                skip_empty=skip_empty,
                marked=self.marked,
                gap=gap,
            )
            if content.cell_length <= width:
                return content
        return content


def summary_content(
    counts: Mapping[str, int],
    active: str | None,
    shown: int,
    *,
    short: bool = False,
    skip_empty: bool = False,
    marked: int = 0,
    gap: str = "  ",
) -> Content:
    total = sum(counts.values())
    parts: list[str | tuple[str, str]] = []
    for number, status in enumerate(STATUS_ORDER, start=1):
        n = counts.get(status, 0)
        if skip_empty and not n and status != active:
            continue
        label = _SHORT[status] if short else status
        parts += _item(str(number), label, n, _STYLE.get(status, ""), status == active, gap)
    parts += _item("0", "all", total, "", active is None, gap)
    others = total - sum(counts.get(status, 0) for status in STATUS_ORDER)
    if others:  # statuses this version does not know: counted, shown verbatim in the table
        parts.append((f"other {others}{gap}", "$text-accent"))
    if marked:  # before "shown": what `d` will act on must not be the part cut off
        parts.append((f"● {marked} marked{gap}", "bold $text-accent"))
    if shown != total or active is not None:
        parts.append((f"{shown} shown" if short else f"showing {shown}", "bold"))
    return Content.assemble(*parts).rstrip()


def _item(
    key: str, label: str, n: int, style: str, active: bool, gap: str
) -> list[str | tuple[str, str]]:
    if active:
        return [(f"{key} {label} {n}", "reverse bold"), gap]
    return [(key, "bold $text-accent"), " ", (label, style), f" {n}{gap}"]
