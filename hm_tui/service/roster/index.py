"""The roster's sorted index, and the next data after a diff (`roster.diff` makes the diff,
`roster.view` filters the index).

Cost follows the change and the screen, not the fleet (numbers for 100,000 VINs in the report of
the roster's author; see `Roster`):
- the whole roster is kept sorted by the current column, ties by VIN, with each row's search text
  in a list aligned to that order (a big roster: its searchable fields as numpy columns,
  `roster.cells`, and no texts): a filter is one C-level pass over the texts giving an array of
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
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from hm_tui import collector
from hm_tui.domain.clearance import STATUS_ORDER
from hm_tui.service.roster.bounded_steps import (
    counted,
    dict_of,
    distinct,
    maximum,
    merge_runs,
    sorted_steps,
)
from hm_tui.service.roster.diff import SLICE, Data, Diff
from hm_tui.service.roster.entry import RosterEntry, search_text_of

if TYPE_CHECKING:
    from hm_tui.service.roster.cells import Cells

#: The columns the roster sorts by. "since": when the clearance entered its current status
#: (time in state = now - since); "changed": when this roster last saw it added or changed.
COLUMNS: tuple[str, ...] = ("vin", "brand", "status", "reason", "tags", "since", "changed")


_STATUS_KEYS = {str(status): f"{rank:02d}{status}" for rank, status in enumerate(STATUS_ORDER)}
_TAG_FIELD = attrgetter("tag_field")
_STATUS = attrgetter("status")
_RAW = attrgetter("raw")
_SINCE_TS = attrgetter("since_ts")
_REASON = attrgetter("reason")


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


# Sort keys per column, for one entry and (C-level) for aligned lists of entries and texts; the
# two must agree. Rows are ordered by (key, vin).
_KEY_PAIRS: dict[
    str, tuple[Callable[[RosterEntry], Any], Callable[[list[RosterEntry], list[str]], list[Any]]]
] = {
    "brand": (attrgetter("brand"), lambda entries, texts: list(map(attrgetter("brand"), entries))),
    "status": (lambda e: _status_keys([e], [])[0], _status_keys),
    "reason": (lambda e: (e.reason or "").lower(), _reason_keys),
    "tags": (_TAG_FIELD, lambda entries, texts: list(map(_TAG_FIELD, entries))),
    "since": (_SINCE_TS, lambda entries, texts: list(map(_SINCE_TS, entries))),
    "changed": (
        attrgetter("changed_at"),
        lambda entries, texts: list(map(attrgetter("changed_at"), entries)),
    ),
}
KEYS: dict[str, Callable[[RosterEntry], Any]] = {c: pair[0] for c, pair in _KEY_PAIRS.items()}
KEY_LISTS = {column: pair[1] for column, pair in _KEY_PAIRS.items()}


@dataclass(frozen=True, slots=True)
class Index:
    """Every VIN in ascending (key, vin) order, with aligned search texts, or from `CELLS_FROM`
    rows their searchable fields as aligned numpy columns (`roster.cells`) and no texts (`[]`).
    No key list: a splice finds positions by bisection, computing the keys of the ~17 rows it
    probes."""

    column: str
    order: list[str]
    texts: list[str]
    cells: Cells | None = None


EMPTY_INDEX = Index("vin", [], [])
#: From this many rows on, building a roster state or a sort order pauses the collector and
#: freezes the result (`collector.paused(settle=True)`).
SETTLE_FROM = SLICE
#: A refresh touching more than 1/REBUILD_SHARE of the rows rebuilds instead of splicing.
REBUILD_SHARE = 8


def next_data(base: Data, d: Diff) -> Data:
    fresh, removed = d.fresh, d.changes.removed
    if base.entries:
        # (.copy(): 67 ms for a million entries after deletions, where dict() took 455 ms in
        # one call)
        entries, by_raw = base.entries.copy(), base.by_raw.copy()
        old = base.entries
        for vin in fresh.keys() & old.keys():
            del by_raw[old[vin].raw]
        entries.update(fresh)
    else:
        entries, by_raw = dict_of(fresh.items(), len(fresh)), {}
    pairs = zip(map(_RAW, fresh.values()), fresh, strict=True)
    for _ in range(0, len(fresh), SLICE):  # hashing each item's bytes: 45 ms for 100,000
        by_raw.update(islice(pairs, SLICE))  # in one call; a slice at a time lets others run
    for vin in removed:
        del by_raw[entries.pop(vin).raw]
    newest = maximum(map(_SINCE_TS, fresh.values()), len(fresh))
    latest = None if newest is None else datetime.fromtimestamp(newest, UTC)
    if base.latest is not None and (latest is None or base.latest > latest):
        latest = base.latest
    by_vin, by_vin_entries, by_vin_texts = base.by_vin, base.by_vin_entries, base.by_vin_texts
    cells = base.by_vin_cells
    if len(fresh) + len(removed) > len(by_vin) // REBUILD_SHARE:
        by_vin = sorted_steps(list(entries))  # (in steps: a million VINs sorted in one call
        by_vin_entries = passes(lambda v: list(map(entries.__getitem__, v)), by_vin)  # held
        cells = _whole_cells(by_vin, by_vin_entries)  # the GIL ~1 s)
        by_vin_texts = [] if cells is not None else _texts(by_vin_entries)
    elif fresh or removed:
        gone = [vin for vin in fresh if vin in base.entries] + list(removed)
        log = SpliceLog()
        rows: list[tuple[Any, str, tuple[Any, ...]]]
        if cells is not None:
            rows = [(None, vin, (entry,)) for vin, entry in fresh.items()]
            by_vin, (by_vin_entries,) = splice(by_vin, [by_vin_entries], None, gone, rows, log)
        else:
            rows = [(None, vin, (entry, search_text_of(entry))) for vin, entry in fresh.items()]
            by_vin, (by_vin_entries, by_vin_texts) = splice(
                by_vin, [by_vin_entries, by_vin_texts], None, gone, rows, log
            )
        cells = _spliced_cells(cells, log, fresh, by_vin, entries.__getitem__)
        if cells is not None:
            by_vin_texts = []
    return Data(
        entries,
        by_raw,
        by_vin,
        by_vin_entries,
        by_vin_texts,
        cells,
        _next_counts(base, fresh, removed),
        latest,
    )


def _next_counts(base: Data, fresh: dict[str, RosterEntry], removed: list[str]) -> dict[str, int]:
    if not base.entries:
        return counted(map(_STATUS, fresh.values()), len(fresh))
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


@dataclass(slots=True)
class SpliceLog:
    """How a splice rearranged its order, for columns kept outside it (`Cells.spliced`): per
    step (start, stop, inserted): the old rows start:stop, then `inserted` new rows, whose VINs
    are the next ones of `inserted`."""

    layout: list[tuple[int, int, int]] = field(default_factory=list)
    inserted: list[str] = field(default_factory=list)


def splice(
    order: list[str],
    columns: list[list[Any]],
    key_of: Callable[[str], Any] | None,
    gone: Iterable[str],
    rows: Iterable[tuple[Any, str, tuple[Any, ...]]],
    log: SpliceLog | None = None,
) -> tuple[list[str], list[list[Any]]]:
    """`order` (ascending by (key, vin); `key_of(vin)` gives the key of a VIN in it, None when
    the order is by VIN alone) with its aligned `columns`, minus the VINs `gone`, plus `rows` of
    (key, vin, column values). Positions come from bisection (C, computing the keys of the few
    rows probed), the copying is slicing: no Python code per kept row. `log`, if given, is told
    the layout."""
    events: list[tuple[int, int, Any, str, tuple[Any, ...]]] = []
    for vin in gone:
        key = None if key_of is None else key_of(vin)
        at = bisect_row(order, key_of, key, vin)
        if at < len(order) and order[at] == vin:
            events.append((at, 1, key, vin, ()))
    events += [
        (bisect_row(order, key_of, key, vin), 0, key, vin, values) for key, vin, values in rows
    ]
    # by position; drops after inserts; then (key, vin)
    events.sort(key=lambda event: event[:2] + ((event[2], event[3]) if key_of else (event[3],)))
    out: list[str] = []
    out_columns: list[list[Any]] = [[] for _ in columns]
    start = 0
    for at, drop, _key, vin, values in events:
        out += order[start:at]
        for out_column, column in zip(out_columns, columns, strict=True):
            out_column += column[start:at]
        if log is not None:
            log.layout.append((start, at, 0 if drop else 1))
        start = at + drop
        if not drop:
            out.append(vin)
            for out_column, value in zip(out_columns, values, strict=True):
                out_column.append(value)
            if log is not None:
                log.inserted.append(vin)
    out += order[start:]
    for out_column, column in zip(out_columns, columns, strict=True):
        out_column += column[start:]
    if log is not None:
        log.layout.append((start, len(order), 0))
    return out, out_columns


#: From this many rows a roster keeps its searchable fields as numpy columns (`roster.cells`):
#: free words, statuses and field terms are tested there instead of on each search text.
CELLS_FROM = 131_072


def _texts(entries: list[RosterEntry]) -> list[str]:
    """Each entry's search text (a small roster's filter reads them)."""
    return passes(lambda e: list(map(search_text_of, e)), entries)


def _whole_cells(order: list[str], entries: list[RosterEntry]) -> Cells | None:
    if len(order) < CELLS_FROM:
        return None
    try:  # (numpy: imported only for a big roster; without it, filters read the texts)
        from hm_tui.service.roster.cells import Cells, Tables
    except ImportError:
        return None
    return Cells.build(Tables.new(), order, entries)


def _spliced_cells(
    cells: Cells | None,
    log: SpliceLog,
    fresh: dict[str, RosterEntry],
    order: list[str],
    entry_of: Callable[[str], RosterEntry],
) -> Cells | None:
    """The cells of an order after a splice (`log`): the old cells spliced the same way, or,
    when the order had none and is now big enough, built whole."""
    if cells is None:
        if len(order) < CELLS_FROM:
            return None
        return _whole_cells(order, passes(lambda v: list(map(entry_of, v)), order))
    new = [fresh[vin] for vin in log.inserted]
    made = type(cells).build(cells.tables, log.inserted, new)
    return cells.spliced(log.layout, made)


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
        return Index(column, data.by_vin, data.by_vin_texts, data.by_vin_cells)
    # The key and row lists live only while this runs: with the collector resting, no collection
    # walks them (two 100,000-item lists: ~16 ms of a young collection on a slow machine).
    with collector.paused(settle=True) if len(data.by_vin) > PASS else contextlib.nullcontext():
        rows = sorted_rows(passes(KEY_LISTS[column], data.by_vin_entries, data.by_vin_texts))
        by_vin, texts = data.by_vin.__getitem__, data.by_vin_texts.__getitem__
        order = passes(lambda r: list(map(by_vin, r)), rows)
        if data.by_vin_cells is not None:
            return Index(column, order, [], data.by_vin_cells.take(rows))
        return Index(column, order, passes(lambda r: list(map(texts, r)), rows))


def sorted_rows(keys: list[Any]) -> list[int]:
    """Row numbers in ascending key order; ties keep row order. Text keys are replaced by their
    rank among the distinct values first (a fleet has a few thousand distinct tag sets: sorting
    small ints is 4-5x faster than comparing long strings with common prefixes). No single C
    call holds the GIL for a whole fleet's sort: a big fleet's keys are sorted by numpy, which
    lets go of the GIL while it sorts (`_sorted_by_numpy`); otherwise rows are sorted `PASS` at
    a time and the runs merged a step at a time."""
    if keys and isinstance(keys[0], str):
        rank = {value: n for n, value in enumerate(sorted(distinct(keys, len(keys))))}
        keys = passes(lambda k: list(map(rank.__getitem__, k)), keys)
    get = keys.__getitem__
    size = len(keys)
    if size <= PASS:
        return sorted(range(size), key=get)
    if size >= NUMPY_FROM:
        rows = _sorted_by_numpy(keys)
        if rows is not None:
            return rows
    runs = [sorted(range(at, min(at + PASS, size)), key=get) for at in range(0, size, PASS)]
    return merge_runs(runs, get)  # (one sort of a million rows held the GIL ~0.5 s)


#: From this many rows a sort order is sorted by numpy (docs/decisions.md#a-million-clearances):
#: merging runs in Python reads keys scattered over the fleet at every level (5 s for a million
#: random times, against 0.8 s for one sort that holds the GIL throughout).
NUMPY_FROM = 131_072
_NUMPY_STEP = 65_536  # keys copied into numpy's array (and row numbers out) per C call


def _sorted_by_numpy(keys: list[Any]) -> list[int] | None:
    """Row numbers in ascending (key, row) order by numpy's stable sort, which runs without the
    GIL; the keys go in and the rows come out a step at a time. Keys are numbers (floats, or a
    text key's ranks). None without numpy, or when a key is not a number."""
    try:
        import numpy as np  # (imported only for a big roster: ~0.1-0.4 s, off the start-up path)
    except ImportError:
        return None
    size = len(keys)
    values = np.empty(size, dtype=np.float64)
    try:
        for at in range(0, size, _NUMPY_STEP):
            values[at : at + _NUMPY_STEP] = keys[at : at + _NUMPY_STEP]
    except (TypeError, ValueError, OverflowError):
        return None
    if np.isnan(values).any():  # (NaN does not sort as Python compares it)
        return None
    order = np.argsort(values, kind="stable")
    rows: list[int] = []
    for at in range(0, size, _NUMPY_STEP):
        rows += order[at : at + _NUMPY_STEP].tolist()
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
    key_of = None if key is None else (lambda vin: key(old[vin]))
    log = SpliceLog()
    rows: list[tuple[Any, str, tuple[Any, ...]]]
    if index.cells is not None:
        rows = [(key(entry) if key else None, vin, ()) for vin, entry in fresh.items()]
        order, _ = splice(index.order, [], key_of, gone, rows, log)
        texts: list[str] = []
    else:
        rows = [
            (key(entry) if key else None, vin, (search_text_of(entry),))
            for vin, entry in fresh.items()
        ]
        order, (texts,) = splice(index.order, [index.texts], key_of, gone, rows, log)
    entry_of = data.entries.__getitem__ if data is not base else lambda v: fresh.get(v) or old[v]
    cells = _spliced_cells(index.cells, log, fresh, order, entry_of)
    return Index(index.column, order, [] if cells is not None else texts, cells)
