"""A big roster's searchable fields as numpy columns aligned with one order (VIN order, or a sort
order): what a free word, a status and the brand, reason and tag terms are tested against, instead
of one Python call per clearance's search text (at 1,000,000 VINs a free word over the texts took
77-300 ms; here 10-30 ms).

- status, brand, reason and tag field: small codes into the distinct values of each field
  (`Table`, shared by the cells of one roster lineage and only ever appended to), so a term is
  tested once per distinct value and the rows picked by one gather over the codes;
- the VIN, lower case as the search text keeps it, in a fixed-width block of `WIDTH` bytes per
  row (shorter ones padded with a tab, which no cleaned VIN and no free word holds): a free word
  is looked for by numpy over the block, its first byte first; a row's bytes never run into the
  next row's (a match must start at most `WIDTH - len(word)` bytes into its row). VINs are
  untrusted: one that is not ASCII, longer than `WIDTH` or empty is marked "odd" (its row all
  tabs) and tested in Python on the order's VIN itself.

A free word cannot span two fields (it holds no tab: `filters.clean_field`), so "the word is in the
search text" is "it is in the status, the VIN, the brand, the reason or the tag field": what is
matched stays exactly what `filters.Term.accepts` matches on the text.

Cells follow their order through every change the index makes: gathered by a sort's row numbers
(`take`), spliced with the order after a refresh (`spliced`), built whole for a new roster
(`build`), a step at a time (`CHUNK` rows per numpy call, `PASS` per Python-level pass: a worker
thread hands the GIL back between them). Only a roster from `CELLS_FROM` rows has cells (numpy's
import stays off a small roster's start-up).
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress, count, repeat
from operator import attrgetter, contains
from typing import TYPE_CHECKING, Any

import numpy as np

from hm_tui.domain.filters import Term, clean_field
from hm_tui.service.roster.bounded_steps import distinct

if TYPE_CHECKING:
    from hm_tui.service.roster.entry import RosterEntry

WIDTH = 17  # bytes of VIN kept per row: a VIN's length (ISO 3779)
_PAD = 9  # tab
PASS = 8192  # rows per Python-level pass (codes looked up, VINs joined)
CHUNK = 65_536  # rows per numpy call over the fleet (a 1.1 MB block: its temporaries stay in
# cache; blocks of 262,144 or 1,048,576 rows took 1.5-2x as long at 1,000,000 VINs)
_ROW = np.uintc  # the dtype of `array("I")`, the roster's row numbers (`view.ROW_TYPE`)
_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[ord("A") : ord("Z") + 1] += 32
_LOWER[0x1F] = ord(" ")  # (filters.clean_field: the tag separator becomes a space; a tab too,
# but a VIN with a tab goes the slow way)
_STATUS, _BRAND, _REASON = attrgetter("status"), attrgetter("brand"), attrgetter("reason")
_TAG_FIELD = attrgetter("tag_field")  # (already clean)


def _clean_or_empty(value: str | None) -> str:
    return clean_field(value or "")


def _same(value: str) -> str:
    return value


class Table:
    """The distinct values of one field, in the order first seen: `values[code]` is the value as
    the search text has it. Append-only (a reader may list the values while a writer appends),
    shared by every `Cells` of one roster lineage; a full rebuild starts new tables."""

    def __init__(self, clean: Callable[[Any], str]) -> None:
        self.values: list[str] = []
        self._codes: dict[Any, int] = {}
        self._clean = clean
        self._lock = threading.Lock()

    def codes(self, keys: list[Any]) -> np.ndarray:
        """Each key's code (keys new to the table are added), `PASS` keys per C call."""
        codes = self._codes
        new = distinct(keys, len(keys)) - codes.keys()
        if new:
            with self._lock:
                for key in new:
                    if key not in codes:
                        self.values.append(self._clean(key))
                        codes[key] = len(self.values) - 1
        size = len(self.values)
        kind = np.uint8 if size <= 256 else np.uint16 if size <= 65536 else np.uint32
        out = np.empty(len(keys), dtype=kind)
        get = codes.__getitem__
        for at in range(0, len(keys), PASS):
            part = keys[at : at + PASS]
            out[at : at + len(part)] = np.fromiter(map(get, part), dtype=kind, count=len(part))
        return out

    def passing(self, test: Callable[[str], bool]) -> np.ndarray:
        """A lookup table by code: True where the value passes `test`."""
        values = self.values[:]  # (every code of a `Cells` made before now is below its length)
        lut = np.zeros(len(values), dtype=bool)
        lut[[n for n, value in enumerate(values) if test(value)]] = True
        return lut

    def containing(self, word: str) -> np.ndarray:
        """A lookup table by code: True where the value holds `word` (C-level, per value)."""
        values = self.values[:]
        lut = np.zeros(len(values), dtype=bool)
        hits = list(compress(count(), map(contains, values, repeat(word))))
        lut[hits] = True
        return lut


@dataclass(frozen=True, slots=True)
class Tables:
    status: Table
    brand: Table
    reason: Table
    tag: Table

    @staticmethod
    def new() -> Tables:
        return Tables(
            Table(_clean_or_empty), Table(_clean_or_empty), Table(_clean_or_empty), Table(_same)
        )


_FIELDS = ("status", "brand", "reason", "tag")


@dataclass(frozen=True, slots=True)
class Cells:
    """The searchable fields of the rows of one order (see the module's docstring)."""

    tables: Tables
    status: np.ndarray
    brand: np.ndarray
    reason: np.ndarray
    tag: np.ndarray
    vins: np.ndarray  # (rows, WIDTH) uint8

    def __len__(self) -> int:
        return len(self.vins)

    # -- building ------------------------------------------------------------------------------
    @staticmethod
    def build(tables: Tables, vins: list[str], entries: list[RosterEntry]) -> Cells:
        """Cells for rows given as aligned lists (a step at a time)."""
        return Cells(
            tables,
            tables.status.codes(_picked(_STATUS, entries)),
            tables.brand.codes(_picked(_BRAND, entries)),
            tables.reason.codes(_picked(_REASON, entries)),
            tables.tag.codes(_picked(_TAG_FIELD, entries)),
            vin_block(vins),
        )

    def take(self, rows: Sequence[int]) -> Cells:
        """The cells of `rows` (row numbers into these cells), in that order."""
        size = len(rows)
        at_rows = np.empty(size, dtype=np.intp)
        for at in range(0, size, CHUNK):
            at_rows[at : at + CHUNK] = rows[at : at + CHUNK]
        return Cells(self.tables, *(_gathered(column, at_rows) for column in self._columns()))

    def spliced(self, layout: list[tuple[int, int, int]], new: Cells) -> Cells:
        """These cells rearranged as a splice did its order: for each (start, stop, inserted) of
        `layout`, rows start:stop of these, then the next `inserted` rows of `new`."""
        columns: list[list[np.ndarray]] = [[] for _ in range(len(_FIELDS) + 1)]
        taken = 0
        for start, stop, inserted in layout:
            for out, mine, theirs in zip(columns, self._columns(), new._columns(), strict=True):
                if stop > start:
                    out.append(mine[start:stop])
                if inserted:
                    out.append(theirs[taken : taken + inserted])
            taken += inserted
        return Cells(
            self.tables,
            *(
                np.concatenate(parts) if parts else empty[:0]
                for parts, empty in zip(columns, self._columns(), strict=True)
            ),
        )

    def _columns(self) -> tuple[np.ndarray, ...]:
        return (self.status, self.brand, self.reason, self.tag, self.vins)

    # -- filtering -----------------------------------------------------------------------------
    def with_word(
        self, word: str, rows: array[int] | None, order: list[str], *, negate: bool = False
    ) -> array[int] | None:
        """The rows among `rows` (None: all) whose search text holds the free word `word` (does
        not, if `negate`), as `view._rows_where` gives them. Rows that are most of the index
        are tested all at once (contiguous reads), then picked."""
        at = _selection(rows)
        if at is not None and len(at) > len(self) // 4:
            hits = self._word_hits(word, None, order)[at]
        else:
            hits = self._word_hits(word, at, order)
        if negate:
            np.logical_not(hits, out=hits)
        return _rows_out(hits, rows)

    def _word_hits(self, word: str, at: np.ndarray | None, order: list[str]) -> np.ndarray:
        """Per row of `at` (None: all rows), whether its search text holds `word`: its status,
        brand, reason or tag field (one test per distinct value), else its VIN."""
        hits = np.zeros(len(self) if at is None else len(at), dtype=bool)
        if not word:  # (in every text)
            hits[:] = True
            return hits
        for field in _FIELDS:
            lut = getattr(self.tables, field).containing(word)
            if lut.all():  # (every value holds it: "e" in every tag set, as "cost-centre=…")
                hits[:] = True
                return hits
            if lut.any():
                hits |= lut.take(_codes(getattr(self, field), at))
        pattern = word.encode() if word.isascii() and len(word) <= WIDTH else None
        for start in range(0, len(hits), CHUNK):
            part = hits[start : start + CHUNK]
            missing = np.flatnonzero(~part)
            if not len(missing):
                continue
            if at is None and len(missing) > len(part) // 4:  # scan the whole block
                rows = None
                block = self.vins[start : start + len(part)]
            else:  # only the rows not hit yet
                rows = missing + start if at is None else at[missing + start]
                block = self.vins[rows]
            found = np.zeros(len(block), dtype=bool) if pattern is None else _found(block, pattern)
            for odd in np.flatnonzero(block[:, 0] == _PAD).tolist():  # (rare: Python per row)
                row = start + odd if rows is None else int(rows[odd])
                found[odd] = word in clean_field(order[row])
            if rows is None:
                part |= found
            else:
                part[missing[found]] = True
        return hits

    def passing(self, term: Term, rows: array[int] | None) -> array[int] | None:
        """The rows among `rows` (None: all) that pass a status, brand, reason or tag term
        (`Term.test` once per distinct value)."""
        at = _selection(rows)
        lut = getattr(self.tables, term.field).passing(term.test)
        return _rows_out(lut.take(_codes(getattr(self, term.field), at)), rows)


def _picked(get: Callable[[Any], Any], entries: list[Any]) -> list[Any]:
    out: list[Any] = []
    for at in range(0, len(entries), PASS):
        out += map(get, entries[at : at + PASS])
    return out


def _gathered(column: np.ndarray, at_rows: np.ndarray) -> np.ndarray:
    out = np.empty((len(at_rows), *column.shape[1:]), dtype=column.dtype)
    for at in range(0, len(at_rows), CHUNK):
        out[at : at + CHUNK] = column[at_rows[at : at + CHUNK]]
    return out


def _selection(rows: array[int] | None) -> np.ndarray | None:
    return None if rows is None else np.frombuffer(rows, dtype=_ROW)


def _codes(column: np.ndarray, at: np.ndarray | None) -> np.ndarray:
    return column if at is None else column[at]


def _rows_out(hits: np.ndarray, rows: array[int] | None) -> array[int] | None:
    """`hits` (one per row of `rows`, None: all) as the row numbers that hit; None: every one of
    all rows."""
    out = array("I")
    if rows is None:
        if hits.all():
            return None
        out.frombytes(np.flatnonzero(hits).astype(_ROW).tobytes())
    else:
        out.frombytes(np.frombuffer(rows, dtype=_ROW)[hits].tobytes())
    return out


def _found(block: np.ndarray, pattern: bytes) -> np.ndarray:
    """Per row of `block` ((rows, WIDTH) bytes), whether `pattern` is in it: candidates where
    its first byte (and second) are, narrowed byte by byte; a match may not run past its row."""
    flat = block.reshape(-1)
    size = len(pattern)
    out = np.zeros(len(block), dtype=bool)
    if size == 1:
        out[np.flatnonzero(flat == pattern[0]) // WIDTH] = True
        return out
    pairs = flat[:-1] == pattern[0]
    pairs &= flat[1:] == pattern[1]
    at = np.flatnonzero(pairs)
    row = at // WIDTH
    inside = at - row * WIDTH <= WIDTH - size
    at, row = at[inside], row[inside]
    for n in range(2, size):
        if not len(at):
            break
        same = flat[at + n] == pattern[n]
        at, row = at[same], row[same]
    out[row] = True
    return out


def vin_block(vins: list[str]) -> np.ndarray:
    """The VINs as (len(vins), WIDTH) bytes, lower case, padded with tabs; a VIN that does not
    fit (not ASCII, longer than WIDTH, a tab in it, or empty) is a row of tabs ("odd")."""
    out = np.full((len(vins), WIDTH), _PAD, dtype=np.uint8)
    for at in range(0, len(vins), PASS):
        part = vins[at : at + PASS]
        joined = "\t".join(part) + "\t"
        size = len(part)
        if joined.isascii() and len(joined) == size * (WIDTH + 1) and joined.count("\t") == size:
            rows = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(size, WIDTH + 1)
            if (rows[:, WIDTH] == _PAD).all():  # every VIN exactly WIDTH long, no tab in one
                out[at : at + size] = _LOWER[rows[:, :WIDTH]]
                continue
        for n, vin in enumerate(part):
            cleaned = clean_field(vin)
            if cleaned and cleaned.isascii() and len(cleaned) <= WIDTH:
                encoded = np.frombuffer(cleaned.encode("ascii"), dtype=np.uint8)
                out[at + n, : len(encoded)] = encoded
    return out


def empty_cells(tables: Tables | None = None) -> Cells:
    none = np.zeros(0, dtype=np.uint8)
    return Cells(tables or Tables.new(), none, none, none, none, np.zeros((0, WIDTH), np.uint8))
