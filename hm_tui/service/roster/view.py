"""What the roster shows: the rows of an index that pass a view (statuses, a query, the order).

A filter result (`Shown`) is an array of row numbers into the index's order, made by C-level
passes over the index's search texts, `PASS` rows at a time (between passes a worker thread
hands the GIL back), or for a big roster by numpy over the index's cells (`roster/cells.py`);
typing narrows the previous result, and `RecentResults` keeps the last few
so that a backspace needs no scan at all.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import compress, islice, repeat
from operator import contains, not_
from typing import Any, overload

from hm_tui.domain.filters import Filter, Term, parse_filter
from hm_tui.service.roster.columns import column_of
from hm_tui.service.roster.entry import RosterEntry
from hm_tui.service.roster.index import KEYS, PASS, Index, bisect_row


@dataclass(frozen=True, slots=True)
class View:
    query: str = ""  # in the filter language (domain/filters.py)
    prefixes: tuple[str, ...] | None = None  # "status\t" prefixes of the wanted statuses
    descending: bool = False

    @property
    def filter(self) -> Filter:
        return parse_filter(self.query)


class Shown(Sequence[str]):
    """The VINs a view shows, in display order: row numbers (ascending; None: every row) into
    the order of the index `base`, read backwards when `descending`. A filter result is one
    compact array made by one C-level pass over the texts: building it touches no VIN and no
    text object (copying 100,000 VIN references into new lists cost 10-16 ms a keystroke, most
    of it cache misses on VIN strings scattered in memory). Reading a row is two lookups."""

    __slots__ = ("base", "descending", "rows")

    def __init__(
        self, index: Index, rows: array[int] | None = None, descending: bool = False
    ) -> None:
        self.base, self.rows, self.descending = index, rows, descending

    def __len__(self) -> int:
        return len(self.base.order) if self.rows is None else len(self.rows)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[n] for n in range(*i.indices(len(self)))]
        size = len(self)
        if i < 0:
            i += size
        if not 0 <= i < size:
            raise IndexError("row out of range")
        if self.descending:
            i = size - 1 - i
        return self.base.order[i if self.rows is None else self.rows[i]]

    def __iter__(self) -> Iterator[str]:
        order, rows = self.base.order, self.rows
        if rows is None:
            return reversed(order) if self.descending else iter(order)
        return map(order.__getitem__, reversed(rows) if self.descending else rows)

    def __repr__(self) -> str:
        return f"Shown({len(self)} of {len(self.base.order)} rows by {self.base.column})"

    def reversed(self) -> Shown:
        return Shown(self.base, self.rows, not self.descending)

    def row_of(self, at: int) -> int:
        """The display row of the index's row `at`, or -1 if this view does not show it."""
        rows = self.rows
        if rows is None:
            row = at if 0 <= at < len(self.base.order) else -1
        else:
            row = bisect_left(rows, at)
            if row == len(rows) or rows[row] != at:
                return -1
        return len(self) - 1 - row if self.descending and row >= 0 else row


ROW_TYPE = "I"  # row numbers: 4 bytes each


def _rows_where(
    test: Callable[[str, Any], bool],
    arg: Any,
    texts: list[str],
    rows: array[int] | None = None,
    *,
    within: bool = False,
    negate: bool = False,
) -> array[int] | None:
    """The row numbers (ascending) among `rows` (None: all of them) whose text passes
    `test(text, arg)` (fails it, if `negate`), `PASS` rows per C-level pass; None when every
    row of all passes. `within`: every row that passes is among `rows` anyway (a longer query),
    so when `rows` are most of the index, all texts are read in memory order instead of looked
    up."""
    out = array(ROW_TYPE)
    if rows is None or (within and len(rows) > len(texts) // 2):
        size, reader = len(texts), iter(texts)
        for start in range(0, size, PASS):
            passed = map(test, islice(reader, PASS), repeat(arg))
            out.extend(
                compress(
                    range(start, min(start + PASS, size)), map(not_, passed) if negate else passed
                )
            )
        return None if len(out) == size else out
    get = texts.__getitem__
    for start in range(0, len(rows), PASS):
        part = rows[start : start + PASS]
        passed = map(test, map(get, part), repeat(arg))
        out.extend(compress(part, map(not_, passed) if negate else passed))
    return out


def _rows_passing(
    values: Sequence[Any], keep: Callable[[Any], bool], rows: array[int] | None
) -> array[int] | None:
    """The row numbers among `rows` (None: all) whose value in the aligned column `values`
    passes `keep` (a C-level callable: a set's `__contains__`, a float's `__gt__`)."""
    out = array(ROW_TYPE)
    if rows is None:
        size, reader = len(values), iter(values)
        for start in range(0, size, PASS):
            out.extend(
                compress(range(start, min(start + PASS, size)), map(keep, islice(reader, PASS)))
            )
        return None if len(out) == size else out
    get = values.__getitem__
    for start in range(0, len(rows), PASS):
        part = rows[start : start + PASS]
        out.extend(compress(part, map(keep, map(get, part))))
    return out


_COST = {"status": 0, "brand": 1, "reason": 1, "tag": 2, "age": 2, "text": 3}


def filter_rows(
    index: Index,
    entries: dict[str, RosterEntry],
    flt: Filter,
    rows: array[int] | None,
    now: float,
    *,
    within: bool = False,
) -> array[int] | None:
    """The rows among `rows` (None: all) that pass every term of `flt`, cheapest terms first.
    A big roster's index has cells (`roster/cells.py`): every term but age is tested there, once
    per distinct value (a free word also on the VINs' bytes). Otherwise statuses by prefix and
    free words by substring over the texts, the other fields on a column per field
    (`roster/columns.py`), each term tested once per distinct value. `within`: as `_rows_where`
    (the whole filter narrows the one that gave `rows`)."""
    texts, cells = index.texts, index.cells
    for term in sorted(flt.terms, key=lambda t: _COST[t.field]):
        if rows is not None and not rows:
            break
        if cells is not None and term.field == "text":
            rows = cells.with_word(term.values[0], rows, index.order, negate=term.negated)
        elif cells is not None and term.field != "age":
            rows = cells.passing(term, rows)
        elif term.field == "status":
            prefixes = tuple(f"{v}\t" for v in term.values)
            rows = _rows_where(_starts, prefixes, texts, rows, within=within, negate=term.negated)
        elif term.field == "text":
            rows = _rows_where(
                contains, term.values[0], texts, rows, within=within, negate=term.negated
            )
        else:
            rows = _rows_passing(*_column_test(index, entries, term, now), rows)
        within = False  # `rows` now holds this term's result only
    return rows


def _column_test(
    index: Index, entries: dict[str, RosterEntry], term: Term, now: float
) -> tuple[Sequence[Any], Callable[[Any], bool]]:
    column = column_of(index, entries, term.field)
    if term.field == "age":
        test = term.since_test(now)
        return column.values, (lambda v: not test(v)) if term.negated else test
    passing = frozenset(n for n, value in enumerate(column.distinct) if term.test(value))
    return column.values, passing.__contains__


_starts = str.startswith  # (text, prefixes): C-level, no Python frame per row


def _with_prefixes(index: Index, prefixes: tuple[str, ...]) -> array[int] | None:
    """The rows whose search text starts with one of `prefixes` ("status\t"): whose status is
    one of those."""
    if index.cells is None:
        return _rows_where(_starts, prefixes, index.texts)
    statuses = tuple(p[:-1] for p in prefixes if p.endswith("\t") and "\t" not in p[:-1])
    return index.cells.passing(Term("status", statuses), None)


def visible(index: Index, view: View, entries: dict[str, RosterEntry], now: float) -> Shown:
    """The rows that pass the view's statuses and filter, in display order (`now`: the
    platform's clock in epoch seconds, for time in state)."""
    rows = None if view.prefixes is None else _with_prefixes(index, view.prefixes)
    rows = filter_rows(index, entries, view.filter, rows, now)
    return Shown(index, rows, view.descending)


def narrow(
    shown: Shown,
    flt: Filter,
    entries: dict[str, RosterEntry],
    now: float,
    *,
    by_query_alone: bool,
) -> Shown:
    """Filter an already filtered result by a filter that implies the one that made it (a longer
    query). `by_query_alone`: the result was filtered by the shorter query only (no statuses),
    so every match of the longer one is in it and a scan may read every text instead of
    looking the rows up."""
    rows = filter_rows(shown.base, entries, flt, shown.rows, now, within=by_query_alone)
    return Shown(shown.base, rows, shown.descending)


def locate(index: Index, entries: dict[str, RosterEntry], vin: str) -> int:
    """The row of `vin` in the index's order (bisection: the order is by (key, VIN)), or -1."""
    order, entry, key = index.order, entries.get(vin), KEYS.get(index.column)
    if entry is None:
        return -1
    if key is None:
        at = bisect_row(order, None, None, vin)
    else:
        at = bisect_row(order, lambda v: key(entries[v]), key(entry), vin)
    return at if at < len(order) and order[at] == vin else -1


class RecentResults:
    """The filter results of the last few queries over one index, statuses and order: typing
    narrows each result from the previous one, and a backspace finds its answer here instead of
    scanning every row again. Bounded (`MAX_ROWS` row numbers in all: 4 bytes each, 32 MB at
    most). At 1,000,000 VINs a broad query's result is ~4 MB: a bound of 1,000,000 rows kept one
    such result at a time, and every backspace to a short query scanned the fleet again
    (150-240 ms each)."""

    MAX_ROWS = 8_000_000
    MAX_QUERIES = 24

    def __init__(self, index: Index, view: Any) -> None:
        self.index, self.view = index, view
        self._results: dict[str, Shown] = {}
        self._rows = 0

    def get(self, query: str) -> Shown | None:
        return self._results.get(query)

    def items(self) -> list[tuple[str, Shown]]:
        """(query, result) pairs, oldest first (a copy: safe while the loop adds one)."""
        return list(self._results.items())

    def remember(self, query: str, shown: Shown) -> None:
        size = 0 if shown.rows is None else len(shown.rows)
        if query in self._results or size > self.MAX_ROWS:
            return
        self._results[query] = shown
        self._rows += size
        while self._rows > self.MAX_ROWS or len(self._results) > self.MAX_QUERIES:
            dropped = self._results.pop(next(iter(self._results)))
            self._rows -= 0 if dropped.rows is None else len(dropped.rows)


def with_status(index: Index, statuses: Iterable[str]) -> list[str]:
    """Every VIN of the index whose status is one of `statuses` (C-level passes, `PASS` rows
    at a time: safe in a worker thread over a big roster)."""
    rows = _with_prefixes(index, tuple(f"{status}\t".lower() for status in statuses))
    return list(index.order) if rows is None else list(map(index.order.__getitem__, rows))
