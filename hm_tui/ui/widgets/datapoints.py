"""A car's latest data points, each with its age and where it came from (feed or pull)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from hm_tui.service.models import DataPoint, combined
from hm_tui.ui.format import format_age, format_point, safe_text
from hm_tui.ui.widgets.roster_columns import fit

#: Older than this, a value is flagged as old: it is what the car last said, not what it is now.
STALE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class SourcedPoint:
    point: DataPoint
    source: str  # "feed" or "pulled"


def merge_latest(feed: Mapping[str, DataPoint], pulled: Iterable[DataPoint]) -> list[SourcedPoint]:
    """Newest value per capability.property across the live feed and the last pull."""
    best: dict[str, SourcedPoint] = {key: SourcedPoint(p, "feed") for key, p in feed.items()}
    by_key: dict[str, list[DataPoint]] = {}
    for point in pulled:  # a `multiple` property comes as one point per item (door): one list
        by_key.setdefault(point.key, []).append(point)
    for point in map(combined, by_key.values()):
        have = best.get(point.key)
        if have is None or _newer(point, have.point):
            best[point.key] = SourcedPoint(point, "pulled")
    return [best[key] for key in sorted(best)]


def _newer(a: DataPoint, b: DataPoint) -> bool:
    if a.timestamp is None:
        return False
    return b.timestamp is None or a.timestamp > b.timestamp


def points_content(points: list[SourcedPoint], now: datetime) -> Content:
    """One line per point, within 76 cells (an 80-column detail): a long value is cut with "…"
    (the whole of it is in the raw JSON, `j`)."""
    lines: list[Content] = []
    for item in points:
        point = item.point
        old = point.timestamp is None or now - point.timestamp > STALE_AFTER
        age = ("old " if old else "") + format_age(point.timestamp, now)
        lines.append(
            Content.assemble(
                (fit(safe_text(point.key, 64), 28) + " ", "$text-muted"),
                (fit(format_point(point), 18) + " ", "$error" if point.failure else ""),
                (fit(age, 17), "$warning" if old else "$success"),
                (f" {item.source}", "$text-muted"),
            )
        )
    return Content("\n").join(lines)


class DataPointsView(Static):
    """Latest values: `show(points)` for data, `show_message(text)` for why there is none.
    Posts `Resized` when its height changes (the screen scrolls a pulled answer into view then:
    only after its new lines are laid out is their place known)."""

    class Resized(Message):
        pass

    DEFAULT_CSS = """
    DataPointsView { height: auto; padding: 0 1; }
    DataPointsView.-problem { color: $warning; }
    """

    def show(
        self,
        points: list[SourcedPoint],
        now: datetime | None = None,
        *,
        empty: str = "No data points yet.",
    ) -> None:
        self.remove_class("-problem")
        if not points:
            self.update(Content(empty))
            return
        self.update(points_content(points, now or datetime.now(UTC)))

    def on_resize(self) -> None:
        self.post_message(self.Resized())

    def show_message(self, text: str, *, problem: bool = False) -> None:
        self.set_class(problem, "-problem")
        self.update(Content(text))
