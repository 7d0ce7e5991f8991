"""The roster's machinery: entries, the diff of a refresh, and the sorted, filterable index.

Cost follows the change and the screen, not the fleet (numbers for 100,000 VINs in the report of
the roster's author; see `Roster`):
- a refresh finds what changed with a C-level comparison of old and new clearances; only the
  changed ones reach Python code;
- the whole roster is kept sorted by the current column, ties by VIN, with each row's search text
  and sort key in lists aligned to that order: a filter is one C-level pass over a list, and a
  refresh splices the few changed rows out and back in (bisect) instead of re-sorting;
- a full sort sorts row numbers by an aligned key list, then permutes the aligned lists.
Everything here builds new lists and never mutates old ones, so a state can be prepared in a
worker thread while the event loop keeps reading the current one.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import compress, repeat
from operator import attrgetter, contains, itemgetter, methodcaller, ne
from typing import Any

import msgspec

from hm_tui.domain.clearance import STATUS_ORDER
from hm_tui.service.models import Clearance, parse_time

#: The columns the roster sorts by. "since": when the clearance entered its current status
#: (time in state = now - since); "changed": when this roster last saw it added or changed.
COLUMNS: tuple[str, ...] = ("vin", "brand", "status", "reason", "tags", "since", "changed")


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A clearance whose status (or reason) changed: `old` -> `new`, with the new reason."""

    vin: str
    old: str
    new: str
    reason: str | None


@dataclass(slots=True)
class RosterChanges:
    """What one `apply` changed. `updated`: same status and reason, other fields (tags) changed.
    `version` is the roster's version after the change."""

    added: list[str] = field(default_factory=list)
    changed: list[StatusChange] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    version: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.updated)


class RosterEntry(msgspec.Struct, frozen=True, gc=False):
    """One clearance as the roster keeps it (not tracked by the GC: 100k of them stay cheap)."""

    clearance: Clearance
    since: datetime  # entered the current status (latest changelog entry; else first seen)
    search_text: str  # lower case "status\tvin\tbrand\treason\tk=v k=v" (status first: filters)
    changed_at: float  # epoch seconds when this roster last saw it added or changed

    @property
    def vin(self) -> str:
        return self.clearance.vin

    @property
    def status(self) -> str:
        return self.clearance.status

    @property
    def brand(self) -> str:
        return self.clearance.brand

    @property
    def reason(self) -> str | None:
        return self.clearance.reason

    @property
    def tags_text(self) -> str:
        return tags_text(self.clearance.tags)

    def time_in_state(self, now: datetime | None = None) -> float:
        """Seconds since the clearance entered its current status."""
        return ((now or datetime.now(UTC)) - self.since).total_seconds()


def tags_text(tags: dict[str, str]) -> str:
    """Tags as the roster shows and searches them: `k=v k=v`."""
    return " ".join(map("=".join, tags.items())) if tags else ""


def make_entry(c: Clearance, previous: RosterEntry | None, now: float) -> RosterEntry:
    log = c.changelog
    last = log[-1] if log else None
    since = _parse_since(last.timestamp) if last is not None else None
    if since is None:  # no usable changelog: time in state counts from when we first saw it
        since = previous.since if previous else datetime.fromtimestamp(now, UTC)
    reason = (last.reason if last is not None else None) or ""
    tags = " ".join(map("=".join, c.tags.items())) if c.tags else ""
    return RosterEntry(c, since, f"{c.status}\t{c.vin}\t{c.brand}\t{reason}\t{tags}".lower(), now)


def _parse_since(timestamp: str) -> datetime | None:
    try:  # the common case, fast: Python 3.11 reads "Z" and offsets itself
        parsed = datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        return parse_time(timestamp)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_STATUS_KEYS = {str(status): f"{rank:02d}{status}" for rank, status in enumerate(STATUS_ORDER)}
_TEXT = attrgetter("search_text")
_STATUS = attrgetter("clearance.status")
_CLEARANCE = attrgetter("clearance")
_SINCE = attrgetter("since")
_SPLIT = methodcaller("split", "\t", 4)  # search text fields: status, vin, brand, reason, tags


def _status_keys(entries: list[RosterEntry], texts: list[str]) -> list[str]:
    statuses = list(map(_STATUS, entries))  # known statuses in STATUS_ORDER, unknown ones last
    return list(map(_STATUS_KEYS.get, statuses, map("99".__add__, statuses)))


def _text_field(n: int) -> tuple[Callable[[RosterEntry], Any],
                                 Callable[[list[RosterEntry], list[str]], list[Any]]]:
    pick = itemgetter(n)
    return (lambda e: pick(_SPLIT(e.search_text)),
            lambda entries, texts: list(map(pick, map(_SPLIT, texts))))


# Sort keys per column, for one entry and (C-level) for aligned lists of entries and texts; the
# two must agree. Rows are ordered by (key, vin).
_KEY_PAIRS: dict[str, tuple[Callable[[RosterEntry], Any],
                            Callable[[list[RosterEntry], list[str]], list[Any]]]] = {
    "brand": (attrgetter("clearance.brand"),
              lambda entries, texts: list(map(attrgetter("clearance.brand"), entries))),
    "status": (lambda e: _status_keys([e], [])[0], _status_keys),
    "reason": _text_field(3),
    "tags": _text_field(4),
    "since": (lambda e: e.since.timestamp(),
              lambda entries, texts: list(map(datetime.timestamp, map(_SINCE, entries)))),
    "changed": (attrgetter("changed_at"),
                lambda entries, texts: list(map(attrgetter("changed_at"), entries))),
}
KEYS: dict[str, Callable[[RosterEntry], Any]] = {c: pair[0] for c, pair in _KEY_PAIRS.items()}
KEY_LISTS = {column: pair[1] for column, pair in _KEY_PAIRS.items()}


@dataclass(frozen=True, slots=True)
class Data:
    """Every entry, by VIN and as lists aligned in VIN order (the base of a full sort)."""

    entries: dict[str, RosterEntry]
    clearances: dict[str, Clearance]  # the same, flat: the C-level diff compares against it
    by_vin: list[str]
    by_vin_entries: list[RosterEntry]
    by_vin_texts: list[str]
    counts: dict[str, int]
    latest: datetime | None  # newest changelog timestamp seen (a lower bound of platform time)


EMPTY = Data({}, {}, [], [], [], {}, None)


@dataclass(frozen=True, slots=True)
class Index:
    """Every VIN in ascending (key, vin) order, with aligned search texts and keys."""

    column: str
    order: list[str]
    texts: list[str]
    keys: list[Any] | None  # None when sorting by VIN (the VIN is its own key)


EMPTY_INDEX = Index("vin", [], [], None)
_SLICE = 8192  # rows per C-level pass in a diff (each holds the GIL for a few ms at most)
#: A refresh touching more than 1/REBUILD_SHARE of the rows rebuilds instead of splicing.
REBUILD_SHARE = 8


@dataclass(frozen=True, slots=True)
class View:
    query: str = ""
    prefixes: tuple[str, ...] | None = None  # "status\t" prefixes of the wanted statuses
    descending: bool = False


@dataclass(slots=True)
class Diff:
    fresh: dict[str, RosterEntry]  # added or changed entries
    changes: RosterChanges


def diff(base: Data, clearances: Iterable[Clearance], complete: bool, now: float) -> Diff:
    """What `clearances` change in `base` (removals only when `complete`)."""
    incoming = clearances if isinstance(clearances, list) else list(clearances)
    vins = list(map(attrgetter("vin"), incoming))
    unique = len(set(vins)) == len(vins)
    if not base.entries and unique:  # first load: everything is new
        return Diff({c.vin: make_entry(c, None, now) for c in incoming}, RosterChanges(vins))
    # C-level passes, in slices so a worker thread lets the event loop run between them: only
    # clearances unequal to what we hold reach Python code.
    held = base.clearances.get
    candidates: list[Clearance] = []
    for start in range(0, len(incoming), _SLICE):
        part = incoming[start:start + _SLICE]
        candidates += compress(part, map(ne, map(held, vins[start:start + _SLICE]), part))
    fresh: dict[str, RosterEntry] = {}
    changes = RosterChanges()
    for c in candidates:
        _diff_one(base.entries, fresh, changes, c, now)
    if complete and (not unique or len(vins) != len(base.entries) + len(changes.added)):
        seen = set(vins)
        changes.removed = [vin for vin in base.entries if vin not in seen]
    return Diff(fresh, changes)


def _diff_one(entries: dict[str, RosterEntry], fresh: dict[str, RosterEntry],
              changes: RosterChanges, c: Clearance, now: float) -> None:
    vin = c.vin
    old = fresh.get(vin) or entries.get(vin)
    if old is not None and old.clearance == c:
        return
    fresh[vin] = make_entry(c, old, now)
    if old is None:
        changes.added.append(vin)
    elif vin in entries:
        o = old.clearance
        if o.status != c.status or o.reason != c.reason:
            changes.changed.append(StatusChange(vin, o.status, c.status, c.reason))
        elif vin not in changes.updated:
            changes.updated.append(vin)


def next_data(base: Data, d: Diff) -> Data:
    fresh, removed = d.fresh, d.changes.removed
    if base.entries:
        entries, clearances = dict(base.entries), dict(base.clearances)
        entries.update(fresh)
    else:
        entries, clearances = dict(fresh), {}
    clearances.update(zip(fresh, map(_CLEARANCE, fresh.values()), strict=True))
    for vin in removed:
        del entries[vin], clearances[vin]
    latest = max(map(attrgetter("since"), fresh.values()), default=None)
    if base.latest is not None and (latest is None or base.latest > latest):
        latest = base.latest
    by_vin, by_vin_entries, by_vin_texts = base.by_vin, base.by_vin_entries, base.by_vin_texts
    if len(fresh) + len(removed) > len(by_vin) // REBUILD_SHARE:
        by_vin = sorted(entries)
        by_vin_entries = list(map(entries.__getitem__, by_vin))
        by_vin_texts = list(map(_TEXT, by_vin_entries))
    elif fresh or removed:
        gone = [(vin, vin) for vin in fresh if vin in base.entries] + [(v, v) for v in removed]
        rows = [(vin, vin, (entry, entry.search_text)) for vin, entry in fresh.items()]
        by_vin, (by_vin_entries, by_vin_texts), _ = splice(
            by_vin, [by_vin_entries, by_vin_texts], None, gone, rows)
    return Data(entries, clearances, by_vin, by_vin_entries, by_vin_texts,
                _next_counts(base, fresh, removed), latest)


def _next_counts(base: Data, fresh: dict[str, RosterEntry], removed: list[str]) -> dict[str, int]:
    if not base.entries:
        return dict(Counter(map(_STATUS, fresh.values())))
    counts = Counter(base.counts)
    counts.subtract(base.clearances[vin].status for vin in removed)
    counts.subtract(base.clearances[vin].status for vin in fresh if vin in base.clearances)
    counts.update(map(_STATUS, fresh.values()))
    return {status: n for status, n in counts.items() if n > 0}


def splice(order: list[str], columns: list[list[Any]], keys: list[Any] | None,
           gone: Iterable[tuple[Any, str]], rows: Iterable[tuple[Any, str, tuple[Any, ...]]]
           ) -> tuple[list[str], list[list[Any]], list[Any] | None]:
    """`order` (ascending by (key, vin)) with its aligned `columns` and `keys`, minus the rows
    `gone` (their (key, vin) as they are in `order`), plus `rows` of (key, vin, column values).
    Positions come from bisection in C, the copying is slicing: no Python code per kept row."""
    def find(key: Any, vin: str) -> int:
        if keys is None:
            return bisect_left(order, vin)
        lo = bisect_left(keys, key)
        return bisect_left(order, vin, lo, bisect_right(keys, key, lo))

    events: list[tuple[int, int, Any, str, tuple[Any, ...]]] = []
    for key, vin in gone:
        at = find(key, vin)
        if at < len(order) and order[at] == vin:
            events.append((at, 1, key, vin, ()))
    events += [(find(key, vin), 0, key, vin, values) for key, vin, values in rows]
    events.sort(key=lambda event: event[:4])  # by position; drops after inserts; then (key, vin)
    out: list[str] = []
    out_columns: list[list[Any]] = [[] for _ in columns]
    out_keys: list[Any] = []
    start = 0
    for at, drop, key, vin, values in events:
        out += order[start:at]
        for out_column, column in zip(out_columns, columns, strict=True):
            out_column += column[start:at]
        if keys is not None:
            out_keys += keys[start:at]
        start = at + drop
        if not drop:
            out.append(vin)
            for out_column, value in zip(out_columns, values, strict=True):
                out_column.append(value)
            out_keys.append(key)
    out += order[start:]
    for out_column, column in zip(out_columns, columns, strict=True):
        out_column += column[start:]
    return out, out_columns, None if keys is None else out_keys + keys[start:]


def full_index(data: Data, column: str) -> Index:
    """Sort every row by `column` (stable over VIN order, so ties stay in VIN order): row
    numbers are sorted by an aligned key list, then the aligned lists permuted, all in C."""
    if column == "vin":
        return Index(column, data.by_vin, data.by_vin_texts, None)
    key_list = KEY_LISTS[column](data.by_vin_entries, data.by_vin_texts)
    rows = sorted(range(len(key_list)), key=key_list.__getitem__)
    return Index(column, list(map(data.by_vin.__getitem__, rows)),
                 list(map(data.by_vin_texts.__getitem__, rows)),
                 list(map(key_list.__getitem__, rows)))


def reindex(index: Index, base: Data, data: Data, d: Diff) -> Index:
    """The index after a diff: splice the added, changed and removed rows out, and the present
    ones back in by key (a changed row's text changes even when its key does not)."""
    fresh, removed = d.fresh, d.changes.removed
    if not base.entries or len(fresh) + len(removed) > len(index.order) // REBUILD_SHARE:
        return full_index(data, index.column)
    key = KEYS.get(index.column) or attrgetter("clearance.vin")
    old = base.entries
    gone = [(key(old[vin]), vin) for vin in (*fresh, *removed) if vin in old]
    rows = [(key(entry), vin, (entry.search_text,)) for vin, entry in fresh.items()]
    order, (texts,), keys = splice(index.order, [index.texts], index.keys, gone, rows)
    return Index(index.column, order, texts, keys)


def visible(index: Index, view: View) -> tuple[list[str], list[str]]:
    """The VINs that pass the view's filter and their texts, in display order."""
    order, texts, query, prefixes = index.order, index.texts, view.query, view.prefixes
    if prefixes is None and not query:
        shown, shown_texts = order, texts
    else:
        if prefixes is None:
            mask = list(map(contains, texts, repeat(query)))
        elif not query:
            mask = list(map(str.startswith, texts, repeat(prefixes)))
        else:
            mask = [t.startswith(prefixes) and query in t for t in texts]
        shown, shown_texts = list(compress(order, mask)), list(compress(texts, mask))
    if view.descending:
        return shown[::-1], shown_texts[::-1]
    return shown, shown_texts


def narrow(shown: list[str], texts: list[str], query: str) -> tuple[list[str], list[str]]:
    """Filter an already filtered result by a longer query (each match of it matched before)."""
    mask = list(map(contains, texts, repeat(query)))
    return list(compress(shown, mask)), list(compress(texts, mask))


def with_status(index: Index, statuses: Iterable[str]) -> list[str]:
    """Every VIN of the index whose status is one of `statuses` (C-level pass)."""
    prefixes = tuple(f"{status}\t".lower() for status in statuses)
    return list(compress(index.order, map(str.startswith, index.texts, repeat(prefixes))))
