"""The roster's machinery: the diff of a refresh, and the sorted index (`roster_view` filters it).

Cost follows the change and the screen, not the fleet (numbers for 100,000 VINs in the report of
the roster's author; see `Roster`):
- a refresh looks each item's JSON bytes up among the bytes the roster holds (C-level, in
  slices); only items it does not hold are decoded and reach Python code (~1% of a refresh);
- the whole roster is kept sorted by the current column, ties by VIN, with each row's search text
  in a list aligned to that order: a filter is one C-level pass over the texts giving an array of
  row numbers (`Shown`), and a refresh splices the few changed rows out and back in (bisect)
  instead of re-sorting;
- a full sort sorts row numbers by an aligned key list, then permutes the aligned lists.
Everything here builds new lists and never mutates old ones, so a state can be prepared in a
worker thread while the event loop keeps reading the current one. The C-level passes of a filter
or a sort go `PASS` rows at a time: between passes the worker thread hands the GIL back, so the
loop waits a few ms at most, never the whole pass over the fleet.
"""

from __future__ import annotations

import contextlib
import logging
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import compress, filterfalse, islice
from operator import attrgetter, itemgetter, methodcaller, not_
from typing import Any

import msgspec

from hm_tui.domain.clearance import STATUS_ORDER
from hm_tui.service.decode import WireClearances, collector_paused, decode_batches
from hm_tui.service.models import Clearance
from hm_tui.service.roster_entry import ENCODE_ONE, RosterEntry, make_entry

log = logging.getLogger("hm_tui.roster")

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


_STATUS_KEYS = {str(status): f"{rank:02d}{status}" for rank, status in enumerate(STATUS_ORDER)}
_TEXT = attrgetter("search_text")
_STATUS = attrgetter("status")
_VIN = attrgetter("vin")
_RAW = attrgetter("raw")
_SINCE_TS = attrgetter("since_ts")
_REASON = attrgetter("reason")
_SPLIT = methodcaller("split", "\t", 4)  # search text fields: status, vin, brand, reason, tags


def _status_keys(entries: list[RosterEntry], texts: list[str]) -> list[str]:
    statuses = list(map(_STATUS, entries))  # known statuses in STATUS_ORDER, unknown ones last
    keys: list[str | None] = list(map(_STATUS_KEYS.get, statuses))
    if None in keys:
        return [key or f"99{status}" for key, status in zip(keys, statuses, strict=True)]
    return keys  # type: ignore[return-value]  # no None in it


def _reason_keys(entries: list[RosterEntry], texts: list[str]) -> list[str]:
    reasons = list(map(_REASON, entries))  # a few distinct (interned) values: lower each once
    lowered = {reason: (reason or "").lower() for reason in set(reasons)}
    return list(map(lowered.__getitem__, reasons))


def _text_field(n: int) -> tuple[Callable[[RosterEntry], Any],
                                 Callable[[list[RosterEntry], list[str]], list[Any]]]:
    pick = itemgetter(n)
    return (lambda e: pick(_SPLIT(e.search_text)),
            lambda entries, texts: list(map(pick, map(_SPLIT, texts))))


# Sort keys per column, for one entry and (C-level) for aligned lists of entries and texts; the
# two must agree. Rows are ordered by (key, vin).
_KEY_PAIRS: dict[str, tuple[Callable[[RosterEntry], Any],
                            Callable[[list[RosterEntry], list[str]], list[Any]]]] = {
    "brand": (attrgetter("brand"),
              lambda entries, texts: list(map(attrgetter("brand"), entries))),
    "status": (lambda e: _status_keys([e], [])[0], _status_keys),
    "reason": (lambda e: (e.reason or "").lower(), _reason_keys),
    "tags": _text_field(4),
    "since": (_SINCE_TS, lambda entries, texts: list(map(_SINCE_TS, entries))),
    "changed": (attrgetter("changed_at"),
                lambda entries, texts: list(map(attrgetter("changed_at"), entries))),
}
KEYS: dict[str, Callable[[RosterEntry], Any]] = {c: pair[0] for c, pair in _KEY_PAIRS.items()}
KEY_LISTS = {column: pair[1] for column, pair in _KEY_PAIRS.items()}


@dataclass(frozen=True, slots=True)
class Data:
    """Every entry, by VIN and as lists aligned in VIN order (the base of a full sort)."""

    entries: dict[str, RosterEntry]
    by_raw: dict[bytes, str]  # each entry's JSON bytes -> its VIN: the diff looks items up here
    by_vin: list[str]
    by_vin_entries: list[RosterEntry]
    by_vin_texts: list[str]
    counts: dict[str, int]
    latest: datetime | None  # newest changelog timestamp seen (a lower bound of platform time)


EMPTY = Data({}, {}, [], [], [], {}, None)


@dataclass(frozen=True, slots=True)
class Index:
    """Every VIN in ascending (key, vin) order, with aligned search texts. No key list: a splice
    finds positions by bisection, computing the keys of the ~17 rows it probes."""

    column: str
    order: list[str]
    texts: list[str]


EMPTY_INDEX = Index("vin", [], [])
_SLICE = 8192  # rows per C-level pass in a diff (each holds the GIL for a few ms at most)
#: From this many rows on, building a roster state or a sort order pauses the collector and
#: freezes the result (`collector_paused(settle=True)`).
SETTLE_FROM = _SLICE
#: A refresh touching more than 1/REBUILD_SHARE of the rows rebuilds instead of splicing.
REBUILD_SHARE = 8


@dataclass(slots=True)
class Diff:
    fresh: dict[str, RosterEntry]  # added or changed entries (and ones whose bytes alone changed)
    changes: RosterChanges


Incoming = Iterable[Clearance] | WireClearances


def diff(base: Data, incoming: Incoming, complete: bool, now: float,
         keep: Collection[str] = ()) -> Diff:
    """What `incoming` changes in `base` (removals only when `complete`). VINs in `keep` are left
    as they are (local knowledge newer than this list). Items whose bytes the roster already
    holds are unchanged: only the others are decoded and compared (C-level passes, in slices,
    so a worker thread lets the event loop run between them)."""
    raws, clearances = _raw_items(incoming)
    known = base.by_raw
    present: set[str | None] = set()  # VINs of the unchanged items (for removals)
    if known:
        unknown: list[bytes] = []
        for start in range(0, len(raws), _SLICE):
            part = list(map(bytes, raws[start:start + _SLICE]))  # copies of a slice at a time
            unknown += compress(part, map(not_, map(known.__contains__, part)))
            if complete:
                present.update(map(known.get, part))
    elif clearances is None and len(raws) > _SLICE:
        # A first list: decode it in (near) VIN order, so that the entries' search texts lie in
        # memory in the order of the default view. A filter's scan then reads memory in
        # sequence: 3-6x faster than hopping between texts allocated in the list's own order.
        # (Items are compact JSON that starts with the VIN; if one does not, only its place in
        # memory differs.)
        runs = []  # copied and sorted a slice at a time, then the sorted runs merged in pairs:
        for start in range(0, len(raws), _SLICE):  # no single C call holds the GIL for long
            part = list(map(bytes, raws[start:start + _SLICE]))
            part.sort()
            runs.append(part)
        unknown = _merged(runs)
    else:
        unknown = raws
    fresh: dict[str, RosterEntry] = {}
    changes = RosterChanges()
    if not base.entries and clearances is None and len(unknown) > _SLICE:
        first = _first_big_list(unknown, now, keep)
        if first is not None:
            return first
    vins: list[str] = []  # of every decoded item (removals are decided by them, too)
    with collector_paused() if len(unknown) > _SLICE else contextlib.nullcontext():
        for candidates, candidate_raws in _decoded(unknown, raws, clearances):
            vins += map(_VIN, candidates)
            for c, raw in zip(candidates, candidate_raws, strict=True):
                if c.vin not in keep:
                    _diff_one(base.entries, fresh, changes, c, raw, now, clearances is None)
    if complete and base.entries:
        present.update(vins, keep)
        changes.removed = list(filterfalse(present.__contains__, base.entries))
    return Diff(fresh, changes)


def _first_big_list(unknown: list[bytes], now: float, keep: Collection[str]) -> Diff | None:
    """A first big list: built on two cores (`entry_helper`), nothing to compare it with. None
    when it is not big enough for that."""
    from hm_tui.service import entry_helper  # (only here: not on the start-up's import path)

    if len(unknown) < entry_helper.MIN_ITEMS:
        return None
    built, bad = entry_helper.entries_of(unknown, now)
    fresh = dict(zip(map(_VIN, built), built, strict=True))  # (a VIN listed twice: the last
    for vin in keep:                                          # one counts)
        fresh.pop(vin, None)
    if bad:
        log.warning("clearance list: skipped %d unreadable item(s)", bad)
    return Diff(fresh, RosterChanges(added=list(fresh)))


def _merged(runs: list[list[Any]]) -> list[Any]:
    """Sorted runs merged, two at a time: each merge is one C call over two runs (timsort finds
    them and merges), so none holds the GIL for long (one sort of all 13 runs of a 100,000-item
    list held it 49 ms; the last pair's merge takes ~13)."""
    while len(runs) > 1:
        runs = [runs[n] + runs[n + 1] if n + 1 < len(runs) else runs[n]
                for n in range(0, len(runs), 2)]
        for run in runs:
            run.sort()
    return runs[0] if runs else []


def _raw_items(incoming: Incoming) -> tuple[list[Any], list[Clearance] | None]:
    """The items' bytes, and the clearances they encode when the caller had them decoded."""
    if isinstance(incoming, WireClearances):
        return incoming.items, None
    clearances = incoming if isinstance(incoming, list) else list(incoming)
    return list(map(ENCODE_ONE, clearances)), clearances


def _decoded(unknown: list[Any], raws: list[Any], clearances: list[Clearance] | None
             ) -> Iterator[tuple[list[Clearance], list[bytes]]]:
    """The unknown items decoded, a batch at a time (with their bytes)."""
    if clearances is not None:
        if unknown is raws:
            yield clearances, raws
        else:
            wanted = set(unknown)
            pairs = [(c, r) for c, r in zip(clearances, raws, strict=True) if r in wanted]
            yield [c for c, _ in pairs], [r for _, r in pairs]
        return
    bad = 0
    for good, good_raws, skipped in decode_batches(unknown):
        bad += skipped
        yield good, good_raws
    if bad:
        log.warning("clearance list: skipped %d unreadable item(s)", bad)


def _diff_one(entries: dict[str, RosterEntry], fresh: dict[str, RosterEntry],
              changes: RosterChanges, c: Clearance, raw: bytes, now: float, wire: bool) -> None:
    vin = c.vin
    old = fresh.get(vin) or entries.get(vin)
    if old is not None:
        if old.raw == raw:
            return
        if old.clearance == c:  # the same clearance in other bytes
            if wire:  # hold the platform's bytes, so that the next list matches them
                fresh[vin] = msgspec.structs.replace(old, raw=raw)
            return
    fresh[vin] = make_entry(c, raw, old, now)
    if old is None:
        changes.added.append(vin)
    elif vin in entries:
        if old.status != c.status or old.reason != _reason(c):
            changes.changed.append(StatusChange(vin, old.status, c.status, _reason(c)))
        elif vin not in changes.updated:
            changes.updated.append(vin)


def _reason(c: Clearance) -> str | None:
    return c.changelog[-1].reason if c.changelog else None


def next_data(base: Data, d: Diff) -> Data:
    fresh, removed = d.fresh, d.changes.removed
    if base.entries:
        entries, by_raw = dict(base.entries), dict(base.by_raw)
        old = base.entries
        for vin in fresh.keys() & old.keys():
            del by_raw[old[vin].raw]
        entries.update(fresh)
    else:
        entries, by_raw = dict(fresh), {}
    pairs = zip(map(_RAW, fresh.values()), fresh, strict=True)
    for _ in range(0, len(fresh), _SLICE):  # hashing each item's bytes: 45 ms for 100,000
        by_raw.update(islice(pairs, _SLICE))  # in one call; a slice at a time lets others run
    for vin in removed:
        del by_raw[entries.pop(vin).raw]
    newest = max(map(_SINCE_TS, fresh.values()), default=None)
    latest = None if newest is None else datetime.fromtimestamp(newest, UTC)
    if base.latest is not None and (latest is None or base.latest > latest):
        latest = base.latest
    by_vin, by_vin_entries, by_vin_texts = base.by_vin, base.by_vin_entries, base.by_vin_texts
    if len(fresh) + len(removed) > len(by_vin) // REBUILD_SHARE:
        by_vin = sorted(entries)
        by_vin_entries = list(map(entries.__getitem__, by_vin))
        by_vin_texts = list(map(_TEXT, by_vin_entries))
    elif fresh or removed:
        gone = [vin for vin in fresh if vin in base.entries] + list(removed)
        rows = [(None, vin, (entry, entry.search_text)) for vin, entry in fresh.items()]
        by_vin, (by_vin_entries, by_vin_texts) = splice(
            by_vin, [by_vin_entries, by_vin_texts], None, gone, rows)
    return Data(entries, by_raw, by_vin, by_vin_entries, by_vin_texts,
                _next_counts(base, fresh, removed), latest)


def _next_counts(base: Data, fresh: dict[str, RosterEntry], removed: list[str]) -> dict[str, int]:
    if not base.entries:
        return dict(Counter(map(_STATUS, fresh.values())))
    old = base.entries
    counts = Counter(base.counts)
    counts.subtract(old[vin].status for vin in removed)
    counts.subtract(old[vin].status for vin in fresh if vin in old)
    counts.update(map(_STATUS, fresh.values()))
    return {status: n for status, n in counts.items() if n > 0}


def bisect_row(order: list[str], key_of: Callable[[str], Any] | None, key: Any, vin: str) -> int:
    """Where (key, vin) belongs in `order` (ascending by (key_of(v), v); by VIN alone when
    `key_of` is None): bisection in C, computing the keys of the ~17 rows it probes."""
    if key_of is None:
        return bisect_left(order, vin)
    return bisect_left(order, (key, vin), key=lambda v: (key_of(v), v))


def splice(order: list[str], columns: list[list[Any]], key_of: Callable[[str], Any] | None,
           gone: Iterable[str], rows: Iterable[tuple[Any, str, tuple[Any, ...]]]
           ) -> tuple[list[str], list[list[Any]]]:
    """`order` (ascending by (key, vin); `key_of(vin)` gives the key of a VIN in it, None when
    the order is by VIN alone) with its aligned `columns`, minus the VINs `gone`, plus `rows` of
    (key, vin, column values). Positions come from bisection (C, computing the keys of the few
    rows probed), the copying is slicing: no Python code per kept row."""
    events: list[tuple[int, int, Any, str, tuple[Any, ...]]] = []
    for vin in gone:
        key = None if key_of is None else key_of(vin)
        at = bisect_row(order, key_of, key, vin)
        if at < len(order) and order[at] == vin:
            events.append((at, 1, key, vin, ()))
    events += [(bisect_row(order, key_of, key, vin), 0, key, vin, values)
               for key, vin, values in rows]
    # by position; drops after inserts; then (key, vin)
    events.sort(key=lambda event: event[:2] + ((event[2], event[3]) if key_of else (event[3],)))
    out: list[str] = []
    out_columns: list[list[Any]] = [[] for _ in columns]
    start = 0
    for at, drop, _key, vin, values in events:
        out += order[start:at]
        for out_column, column in zip(out_columns, columns, strict=True):
            out_column += column[start:at]
        start = at + drop
        if not drop:
            out.append(vin)
            for out_column, value in zip(out_columns, values, strict=True):
                out_column.append(value)
    out += order[start:]
    for out_column, column in zip(out_columns, columns, strict=True):
        out_column += column[start:]
    return out, out_columns


PASS = 8192  # rows per C-level pass of a filter or sort (a few ms of GIL each)


def passes(make: Callable[..., list[Any]], *aligned: list[Any]) -> list[Any]:
    """`make(*aligned)` (a C-level pass building a list from iterables), `PASS` rows at a time.
    Each pass reads on from one iterator per list (slices would copy every row once more)."""
    size = len(aligned[0])
    if size <= PASS:
        return make(*aligned)
    readers = [iter(column) for column in aligned]
    out: list[Any] = []
    for _ in range(0, size, PASS):
        out += make(*(islice(reader, PASS) for reader in readers))
    return out


def full_index(data: Data, column: str) -> Index:
    """Sort every row by `column` (stable over VIN order, so ties stay in VIN order): row
    numbers are sorted by an aligned key list, then the aligned lists permuted, all in C."""
    if column == "vin":
        return Index(column, data.by_vin, data.by_vin_texts)
    # The key and row lists live only while this runs: with the collector resting, no collection
    # walks them (two 100,000-item lists: ~16 ms of a young collection on a slow machine).
    with collector_paused(settle=True) if len(data.by_vin) > PASS else contextlib.nullcontext():
        rows = sorted_rows(passes(KEY_LISTS[column], data.by_vin_entries, data.by_vin_texts))
        by_vin, texts = data.by_vin.__getitem__, data.by_vin_texts.__getitem__
        order = passes(lambda r: list(map(by_vin, r)), rows)
        return Index(column, order, passes(lambda r: list(map(texts, r)), rows))


def sorted_rows(keys: list[Any]) -> list[int]:
    """Row numbers in ascending key order; ties keep row order. Text keys are replaced by their
    rank among the distinct values first (a fleet has a few thousand distinct tag sets: sorting
    small ints is 4-5x faster than comparing long strings with common prefixes). Rows are
    sorted `PASS` at a time, then the runs merged by one more sort (timsort finds the runs), so
    no single C call holds the GIL for a whole fleet's sort."""
    if keys and isinstance(keys[0], str):
        rank = {value: n for n, value in enumerate(sorted(set(keys)))}
        keys = passes(lambda k: list(map(rank.__getitem__, k)), keys)
    get = keys.__getitem__
    size = len(keys)
    if size <= PASS:
        return sorted(range(size), key=get)
    rows: list[int] = []
    for start in range(0, size, PASS):
        rows += sorted(range(start, min(start + PASS, size)), key=get)
    rows.sort(key=get)
    return rows


def respliced(index: Index, base: Data, d: Diff) -> Index | None:
    """An order built ahead, after a diff: spliced as `reindex` does, or None when the diff is
    too big for that (the order is then built again, later, at idle)."""
    changed = len(d.fresh) + len(d.changes.removed)
    if not base.entries or changed > len(index.order) // REBUILD_SHARE:
        return None
    return reindex(index, base, base, d)  # (`data` only serves a rebuild, excluded above)


def reindex(index: Index, base: Data, data: Data, d: Diff) -> Index:
    """The index after a diff: splice the added, changed and removed rows out, and the present
    ones back in by key (a changed row's text changes even when its key does not)."""
    fresh, removed = d.fresh, d.changes.removed
    if not base.entries or len(fresh) + len(removed) > len(index.order) // REBUILD_SHARE:
        return full_index(data, index.column)
    old = base.entries
    key = KEYS.get(index.column)
    gone = [vin for vin in (*fresh, *removed) if vin in old]
    rows = [(key(entry) if key else None, vin, (entry.search_text,))
            for vin, entry in fresh.items()]
    key_of = None if key is None else (lambda vin: key(old[vin]))
    order, (texts,) = splice(index.order, [index.texts], key_of, gone, rows)
    return Index(index.column, order, texts)
