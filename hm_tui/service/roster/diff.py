"""The diff of a refresh: what a clearance list changes in the roster's data.

A refresh looks each item's JSON bytes up among the bytes the roster holds (C-level, in slices);
only items it does not hold are decoded and reach Python code (~1% of a refresh of 100,000 VINs).
`roster.index` builds the next data and sort order from a `Diff`; `Roster` is the public face.
Nothing here mutates its inputs, so a diff can run in a worker thread while the event loop reads
the current state.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress, filterfalse, islice
from operator import attrgetter, not_
from typing import TYPE_CHECKING, Any

import msgspec

from hm_tui import collector
from hm_tui.service.models import Clearance
from hm_tui.service.platform.decode import WireClearances, decode_batches
from hm_tui.service.roster.bounded_steps import dict_of, merge_runs
from hm_tui.service.roster.entry import ENCODE_ONE, RosterEntry, make_entry

if TYPE_CHECKING:
    from hm_tui.service.roster.cells import Cells

log = logging.getLogger("hm_tui.roster")

SLICE = 8192  # rows per C-level pass in a diff (each holds the GIL for a few ms at most)
_VIN = attrgetter("vin")


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
    #: items of the list applied that did not fit the model (skipped, not shown; not a change)
    unreadable: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.updated)


@dataclass(frozen=True, slots=True)
class Data:
    """Every entry, by VIN and as lists aligned in VIN order (the base of a full sort)."""

    entries: dict[str, RosterEntry]
    by_raw: dict[bytes, str]  # each entry's JSON bytes -> its VIN: the diff looks items up here
    by_vin: list[str]
    by_vin_entries: list[RosterEntry]
    by_vin_texts: list[str]
    by_vin_cells: Cells | None  # from `index.CELLS_FROM` rows: the searchable fields (`cells`)
    counts: dict[str, int]
    latest: datetime | None  # newest changelog timestamp seen (a lower bound of platform time)


EMPTY = Data({}, {}, [], [], [], None, {}, None)


@dataclass(slots=True)
class Diff:
    fresh: dict[str, RosterEntry]  # added or changed entries (and ones whose bytes alone changed)
    changes: RosterChanges


Incoming = Iterable[Clearance] | WireClearances


def diff(
    base: Data, incoming: Incoming, complete: bool, now: float, keep: Collection[str] = ()
) -> Diff:
    """What `incoming` changes in `base` (removals only when `complete`). VINs in `keep` are left
    as they are (local knowledge newer than this list). Items whose bytes the roster already
    holds are unchanged: only the others are decoded and compared (C-level passes, in slices,
    so a worker thread lets the event loop run between them)."""
    raws, clearances = _raw_items(incoming)
    known = base.by_raw
    present: set[str | None] = set()  # VINs of the unchanged items (for removals)
    if known:
        unknown: list[bytes] = []
        for start in range(0, len(raws), SLICE):
            part = list(map(bytes, raws[start : start + SLICE]))  # copies of a slice at a time
            unknown += compress(part, map(not_, map(known.__contains__, part)))
            if complete:
                present.update(map(known.get, part))
    elif clearances is None and len(raws) > SLICE:
        # A first list: decode it in (near) VIN order, so that the entries lie in memory in the
        # order of the default view. A (small roster's) filter's scan then reads memory in
        # sequence: 3-6x faster than hopping between texts allocated in the list's own order.
        # (Items are compact JSON that starts with the VIN; if one does not, only its place in
        # memory differs.)
        runs = []  # copied and sorted a slice at a time, then the sorted runs merged a step at a
        for start in range(0, len(raws), SLICE):  # time: no C call holds the GIL for long
            part = list(map(bytes, raws[start : start + SLICE]))
            part.sort()
            runs.append(part)
        unknown = merge_runs(runs)
    else:
        unknown = raws
    fresh: dict[str, RosterEntry] = {}
    changes = RosterChanges()
    if not base.entries and clearances is None and len(unknown) > SLICE:
        first = _first_big_list(unknown, now, keep)
        if first is not None:
            return first
    vins: list[str] = []  # of every decoded item (removals are decided by them, too)
    with collector.paused() if len(unknown) > SLICE else contextlib.nullcontext():
        for candidates, candidate_raws in _decoded(unknown, raws, clearances, changes):
            vins += map(_VIN, candidates)
            for c, raw in zip(candidates, candidate_raws, strict=True):
                if c.vin not in keep:
                    _diff_one(base.entries, fresh, changes, c, raw, now, clearances is None)
    if complete and base.entries:
        present.update(vins, keep)
        vins_held = iter(base.entries)  # (a step at a time: one pass over a million VINs held
        for _ in range(0, len(base.entries), SLICE):  # the GIL ~0.1-0.2 s)
            changes.removed += filterfalse(present.__contains__, islice(vins_held, SLICE))
    return Diff(fresh, changes)


def _first_big_list(unknown: list[bytes], now: float, keep: Collection[str]) -> Diff | None:
    """A first big list: built on two cores (`entry_helper`), nothing to compare it with. None
    when it is not big enough for that."""
    from hm_tui.service.roster import entry_helper  # (only here: not on the start-up's import path)

    if len(unknown) < entry_helper.MIN_ITEMS:
        return None
    built, bad = entry_helper.entries_of(unknown, now)
    fresh = dict_of(zip(map(_VIN, built), built, strict=True), len(built))  # (a VIN listed
    for vin in keep:  # twice: the last one counts)
        fresh.pop(vin, None)
    if bad:
        log.warning("clearance list: skipped %d unreadable item(s)", bad)
    return Diff(fresh, RosterChanges(added=list(fresh), unreadable=bad))


def _raw_items(incoming: Incoming) -> tuple[list[Any], list[Clearance] | None]:
    """The items' bytes, and the clearances they encode when the caller had them decoded."""
    if isinstance(incoming, WireClearances):
        return incoming.items, None
    clearances = incoming if isinstance(incoming, list) else list(incoming)
    return list(map(ENCODE_ONE, clearances)), clearances


def _decoded(
    unknown: list[Any], raws: list[Any], clearances: list[Clearance] | None, changes: RosterChanges
) -> Iterator[tuple[list[Clearance], list[bytes]]]:
    """The unknown items decoded, a batch at a time (with their bytes); the ones that do not
    fit the model are counted in `changes.unreadable`."""
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
        changes.unreadable += skipped
        yield good, good_raws
    if bad:
        log.warning("clearance list: skipped %d unreadable item(s)", bad)


def _diff_one(
    entries: dict[str, RosterEntry],
    fresh: dict[str, RosterEntry],
    changes: RosterChanges,
    c: Clearance,
    raw: bytes,
    now: float,
    wire: bool,
) -> None:
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
