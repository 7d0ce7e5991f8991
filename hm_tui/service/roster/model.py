"""The roster: every clearance by VIN, and the filtered, sorted view the table draws from.

Pure and synchronous: no IO, no asyncio. The machinery lives in `roster.diff` (the diff of a
refresh), `roster.index` (sorted orders) and `roster.view` (filters); this is its one public
face. `prepare()` builds the next state without touching the current one, so a big refresh can
run in a worker thread (`asyncio.to_thread`) while the event loop keeps drawing; `commit()` swaps
it in on the loop. `apply()` does both at once. The view (filter, statuses, sort) works the same
way: `plan_view()` computes the next view from an immutable `snapshot()` (any thread),
`commit_view()` swaps it in on the loop unless the roster changed since;
`set_query`/`set_statuses`/`set_sort` do both at once.
"""

from __future__ import annotations

import contextlib
import enum
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from sys import getrefcount

from hm_tui import collector
from hm_tui.domain.filters import parse_filter
from hm_tui.service.models import Clearance
from hm_tui.service.roster import diff as rd
from hm_tui.service.roster import index as ix
from hm_tui.service.roster import view as rv
from hm_tui.service.roster.bounded_steps import let_go_if_ours
from hm_tui.service.roster.diff import Incoming, RosterChanges, StatusChange
from hm_tui.service.roster.entry import RosterEntry
from hm_tui.service.roster.index import COLUMNS

_RAW = attrgetter("raw")


def _raws(entries: Iterable[RosterEntry]) -> list[bytes]:
    return list(map(_RAW, entries))


__all__ = [
    "COLUMNS",
    "Roster",
    "RosterChanges",
    "RosterEntry",
    "RosterPlan",
    "StatusChange",
    "ViewPlan",
    "ViewSnapshot",
]


class _Same(enum.Enum):
    SAME = "keep the current statuses"  # plan_view's default


_SAME = _Same.SAME


@dataclass(slots=True)
class RosterPlan:
    """The roster's next state, built by `prepare` (any thread), swapped in by `commit` (loop)."""

    base: rd.Data
    index_base: ix.Index
    data: rd.Data
    index: ix.Index
    changes: RosterChanges
    view: rv.View
    visible: rv.Shown | None = None
    orders: dict[str, ix.Index] | None = None  # the current column's order
    resplice: dict[str, ix.Index] | None = None  # the other columns' (of `base`): `respliced`
    diff: rd.Diff | None = None


@dataclass(frozen=True, slots=True)
class ViewSnapshot:
    """What a view plan starts from: the roster's state at one version (nothing in it mutates)."""

    version: int
    data: rd.Data
    index: ix.Index
    view: rv.View
    visible: rv.Shown
    recent: rv.RecentResults
    orders: dict[str, ix.Index]  # every column's sorted order built so far, for `data`


@dataclass(frozen=True, slots=True)
class ViewPlan:
    """A filter/sort result built by `plan_view` (any thread), applied by `commit_view` (loop)."""

    base: ViewSnapshot
    index: ix.Index
    view: rv.View
    visible: rv.Shown

    @property
    def changed(self) -> bool:
        return self.view != self.base.view or self.index is not self.base.index


class Roster:
    """Every clearance by VIN, with a live filter and sort. Mutate it on one thread (the event
    loop); only `prepare` and `plan_view` may run elsewhere. Actions address clearances by VIN,
    never by row."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        #: The platform's clock in epoch seconds (time in state counts on it: `age:` filters);
        #: the session sets it, ours until then.
        self.now: Callable[[], float] = time.time
        self._data = rd.EMPTY
        self._index = ix.EMPTY_INDEX
        self._view = rv.View()
        self._visible = rv.Shown(self._index)
        self._recent = rv.RecentResults(self._index, None)
        self._version = 0
        # Each column's sorted order for `_data`: a sort change finds its order here instead of
        # sorting the fleet. Built by `build_order` (any thread, at idle) and kept through
        # refreshes by splicing; 1.6 MB per column at 100,000 VINs (VINs and texts).
        self._orders: dict[str, ix.Index] = {}
        self._last_view_request = float("-inf")  # monotonic time of the last `snapshot()`
        self._pending_orders: rd.Data | None = None  # data whose orders `respliced` will bring

    # -- reading -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._data.entries)

    def __contains__(self, vin: object) -> bool:
        return vin in self._data.entries

    def entry(self, vin: str) -> RosterEntry | None:
        return self._data.entries.get(vin)

    def entries_of(self, vins: Iterable[str]) -> list[RosterEntry]:
        """The entries of `vins` that the roster has, in their order, all from one state of the
        roster: may be called in any thread (its data is swapped whole, never changed in place;
        the campaign summary reads 100,000 of them in its thread, not on the event loop)."""
        entries = self._data.entries
        return [entry for vin in vins if (entry := entries.get(vin)) is not None]

    def clearances(self) -> list[Clearance]:
        """Every clearance, in VIN order (each decoded now: for the whole fleet, call this in a
        worker thread, or use `wire_slices` to keep them as bytes)."""
        return [entry.clearance for entry in self._data.by_vin_entries]

    def entries_now(self) -> Collection[RosterEntry]:
        """Every entry as of now. The roster swaps its data whole and never changes it in place,
        so this may be read in any thread (the metrics endpoint counts it there)."""
        return self._data.entries.values()

    def wire_slices(self, size: int) -> tuple[int, Iterator[list[bytes]]]:
        """How many clearances there are, and their JSON bytes in VIN order `size` at a time, as
        of now (for the cache: no list of every clearance's bytes is made, which each young
        collection on the event loop would walk while it lived: ~45 ms at 1,000,000)."""
        entries = self._data.by_vin_entries  # (the data is never changed in place)
        slices = (_raws(entries[at : at + size]) for at in range(0, len(entries), size))
        return len(entries), slices

    def vins_in(self, statuses: Iterable[str]) -> list[str]:
        """Every VIN whose status is one of these, over the whole roster (filters do not apply)."""
        return rv.with_status(self._index, statuses)

    @property
    def visible(self) -> Sequence[str]:
        """The VINs that pass the filter, in display order (do not mutate)."""
        return self._visible

    def position(self, vin: str) -> int:
        """The row of `vin` in `visible`, or -1 (bisections: no scan, no map of the rows)."""
        return self._visible.row_of(rv.locate(self._index, self._data.entries, vin))

    @property
    def counts(self) -> dict[str, int]:
        """Clearances per status over the whole roster (filters do not apply)."""
        return dict(self._data.counts)

    @property
    def version(self) -> int:
        """Bumps whenever anything shown changes: data, filter or sort."""
        return self._version

    @property
    def query(self) -> str:
        return self._view.query

    @property
    def statuses(self) -> frozenset[str] | None:
        prefixes = self._view.prefixes
        return None if prefixes is None else frozenset(p[:-1] for p in prefixes)

    @property
    def sort(self) -> tuple[str, bool]:
        """(column, descending)."""
        return self._index.column, self._view.descending

    @property
    def latest_timestamp(self) -> datetime | None:
        """The newest changelog timestamp seen: a lower bound of the platform's clock."""
        return self._data.latest

    # -- changing the data ---------------------------------------------------------------------
    def apply(
        self, clearances: Incoming, *, complete: bool, keep: Collection[str] = ()
    ) -> RosterChanges:
        """Merge clearances (decoded, or a list call's `WireClearances`) in; `complete=True`
        means they are the whole fleet, so VINs not in them are removed. VINs in `keep` stay as
        they are. Returns what changed (empty when nothing did)."""
        plan = self.prepare(clearances, complete=complete, keep=keep)
        if self.commit(plan):
            self.add_orders(plan.data, self.respliced(plan))
        return plan.changes

    def prepare(
        self, clearances: Incoming, *, complete: bool, keep: Collection[str] = ()
    ) -> RosterPlan:
        """Build the next state without changing this one (safe in a worker thread). A big one
        (diff, next data, index) builds with the collector resting and settles what it made."""
        base, index, view, orders = self._data, self._index, self._view, self._orders
        big = len(base.entries) > ix.SETTLE_FROM or (
            isinstance(clearances, Sized) and len(clearances) > ix.SETTLE_FROM
        )
        with collector.paused() if big else contextlib.nullcontext():
            plan = self._prepare(base, index, view, orders, clearances, complete, keep)
            if big and plan.data is not base:  # a poll that changed nothing built nothing big:
                collector.settle_on_resume()  # no freeze (each keeps whatever garbage exists then)
            return plan

    def _prepare(
        self,
        base: rd.Data,
        index: ix.Index,
        view: rv.View,
        orders: dict[str, ix.Index],
        clearances: Incoming,
        complete: bool,
        keep: Collection[str],
    ) -> RosterPlan:
        d = rd.diff(base, clearances, complete, self._clock(), keep)
        if not d.fresh and not d.changes.removed:
            return RosterPlan(base, index, base, index, d.changes, view)
        data = ix.next_data(base, d)
        new_index = ix.reindex(index, base, data, d)
        kept = {index.column: new_index} if index.column != "vin" else {}  # (by VIN: the data's
        others = {c: order for c, order in orders.items() if c not in kept}  # own order)
        return RosterPlan(
            base,
            index,
            data,
            new_index,
            d.changes,
            view,
            rv.visible(new_index, view, data.entries, self.now()),
            kept,
            others,
            d,
        )

    def respliced(self, plan: RosterPlan) -> dict[str, ix.Index]:
        """After `commit(plan)`: the other columns' orders spliced by the same diff (pure: run
        it in a worker thread, after the change is on screen), for `add_orders`. Orders the
        diff is too big to splice are left out: built again at idle."""
        if not plan.resplice or plan.diff is None:
            return {}
        with (
            collector.paused(settle=True)
            if len(plan.base.entries) > ix.SETTLE_FROM
            else contextlib.nullcontext()
        ):
            return {
                column: spliced
                for column, order in plan.resplice.items()
                if (spliced := ix.respliced(order, plan.base, plan.diff)) is not None
            }

    def add_orders(self, data: rd.Data, orders: dict[str, ix.Index]) -> None:
        """Keep orders built for `data`, if it is still the roster's data."""
        if self._pending_orders is data:
            self._pending_orders = None
        if data is self._data:
            self._orders = {**orders, **self._orders}

    def view_moved(self, plan: RosterPlan) -> bool:
        """The filter or sort changed while `plan` was prepared: `commit` would scan (and maybe
        sort) the whole roster on the loop. Call `refit` in a worker thread first."""
        return plan.data is not plan.base and (
            plan.index_base is not self._index or plan.view != self._view
        )

    def view_now(self) -> tuple[ix.Index, rv.View]:
        """The current index and view, for `refit` (take them on the loop)."""
        return self._index, self._view

    def refit(self, plan: RosterPlan, index_now: ix.Index, view_now: rv.View) -> RosterPlan:
        """`plan` made for the index and view of `view_now()` (pure: run it in a worker thread),
        so that `commit` finds its order and visible rows ready instead of building them on the
        loop (a full scan of 1,000,000 rows took 212 ms there)."""
        if plan.data is plan.base:
            return plan
        if plan.index_base is index_now:
            index = plan.index
        else:  # the sort changed: the new column's order for the new data
            index = ix.full_index(plan.data, index_now.column)
        visible = rv.visible(index, view_now, plan.data.entries, self.now())
        kept = dict(plan.orders or {})  # (orders of the new data)
        if index.column != "vin":
            kept[index.column] = index
        others = {c: order for c, order in (plan.resplice or {}).items() if c not in kept}
        return RosterPlan(
            plan.base,
            index_now,
            plan.data,
            index,
            plan.changes,
            view_now,
            visible,
            kept,
            others,
            plan.diff,
        )

    @staticmethod
    def let_go(plan: RosterPlan) -> None:
        """After `commit(plan)` and `add_orders`: free what the plan alone still holds of the
        roster's previous state (its data and sort orders: a dozen lists of 1,000,000 items
        at that size), a step at a time. Run it in a worker thread: freed at once, as the plan
        goes out of scope, they held the loop ~270 ms. A list anything else still refers to is
        left alone (`bounded_steps.let_go_if_ours`)."""
        olds: list[ix.Index] = list((plan.resplice or {}).values())
        plan.resplice = None
        if plan.index_base is not plan.index:
            olds.append(plan.index_base)
        plan.index_base = plan.index
        while olds:
            old = olds.pop()
            if getrefcount(old) == 2:  # (this name and getrefcount's argument: only ours)
                let_go_if_ours(old.order, owners=1)
                let_go_if_ours(old.texts, owners=1)
            del old
        base, plan.base = plan.base, plan.data
        if getrefcount(base) == 2:  # (each list: only if the data alone holds it)
            let_go_if_ours(base.by_vin, owners=1)
            let_go_if_ours(base.by_vin_entries, owners=1)
            let_go_if_ours(base.by_vin_texts, owners=1)

    def commit(self, plan: RosterPlan) -> bool:
        """Swap a prepared state in. False if the roster changed since `prepare` (prepare again)."""
        if plan.base is not self._data:
            return False
        if plan.data is plan.base:
            return True
        self._data = plan.data
        if not plan.changes.empty:  # not when only the bytes a clearance came in changed
            self._version += 1
        plan.changes.version = self._version
        orders = dict(plan.orders or {})
        if plan.index_base is self._index:
            self._index = plan.index
        else:  # the sort changed while the plan was built
            column = self._index.column
            self._index = orders.get(column) or ix.full_index(plan.data, column)
        if self._index.column != "vin":
            orders[self._index.column] = self._index
        self._orders = orders
        self._pending_orders = plan.data if plan.resplice else None
        if plan.visible is not None and plan.view == self._view and plan.index is self._index:
            self._visible = plan.visible
        else:  # the filter changed while the plan was built
            self._visible = rv.visible(self._index, self._view, self._data.entries, self.now())
        return True

    # -- the view ------------------------------------------------------------------------------
    def snapshot(self) -> ViewSnapshot:
        """The current state, for `plan_view` in another thread (take it on the loop)."""
        self._last_view_request = time.monotonic()
        return ViewSnapshot(
            self._version,
            self._data,
            self._index,
            self._view,
            self._visible,
            self._recent,
            self._orders,
        )

    # -- sorted orders, built ahead ----------------------------------------------------------
    def missing_orders(self) -> list[str]:
        """Columns whose sorted order is not built for the current data (the next ones of the
        sort cycle first)."""
        if len(self._data.entries) == 0 or self._pending_orders is self._data:
            return []  # (being spliced: `respliced`)
        at = COLUMNS.index(self._index.column)
        cycle = COLUMNS[at + 1 :] + COLUMNS[:at]
        return [c for c in cycle if c != "vin" and c not in self._orders]

    def view_idle_s(self) -> float:
        """Seconds since a view was last asked for (someone typing or sorting: wait)."""
        return time.monotonic() - self._last_view_request

    def build_order(self, column: str) -> tuple[rd.Data, ix.Index]:
        """`column`'s sorted order for the current data: pure, run it in a worker thread;
        `add_order` keeps it if the data is still the same."""
        data = self._data
        return data, ix.full_index(data, column)

    def add_order(self, built: tuple[rd.Data, ix.Index]) -> bool:
        data, index = built
        if data is not self._data or index.column in self._orders:
            return False
        self._orders = {**self._orders, index.column: index}
        return True

    def plan_view(
        self,
        query: str | None = None,
        statuses: Iterable[str] | _Same | None = _SAME,
        sort: tuple[str, bool] | None = None,
        *,
        snapshot: ViewSnapshot | None = None,
    ) -> ViewPlan:
        """The view for this query, statuses and (column, descending) sort (None/omitted: keep
        the current one), computed from `snapshot` (default: one taken now) without changing the
        roster: pure, so it may run in a worker thread while the loop keeps drawing. Raises
        ValueError for an unknown column."""
        base = snapshot if snapshot is not None else self.snapshot()
        old = base.view
        text = old.query if query is None else " ".join(query.lower().split())
        if statuses is _SAME:
            prefixes = old.prefixes
        else:
            prefixes = (
                None if statuses is None else tuple(sorted(f"{s}\t".lower() for s in statuses))
            )
        column, descending = (base.index.column, old.descending) if sort is None else sort
        if column not in COLUMNS:
            raise ValueError(f"unknown column {column!r}; choose one of {', '.join(COLUMNS)}")
        view = rv.View(text, prefixes, descending)
        index, entries, now = base.index, base.data.entries, self.now()
        shown: rv.Shown | None
        if view == old and column == index.column:
            shown = base.visible
        elif column != index.column:
            index = base.orders.get(column) or ix.full_index(base.data, column)
            shown = rv.visible(index, view, entries, now)
        elif (text, prefixes) == (old.query, old.prefixes):  # only the direction changed
            shown = base.visible.reversed()
        else:
            shown = self._from_recent(base, view, now)
            if shown is None:
                shown = rv.visible(index, view, entries, now)
        return ViewPlan(base, index, view, shown)

    @staticmethod
    def _from_recent(base: ViewSnapshot, view: rv.View, now: float) -> rv.Shown | None:
        """A new query's result from results already made under the same statuses and order:
        a backspace back to a query just shown, else the smallest result (the current one's or
        a recent one's) of a filter the new one implies, narrowed (typing on, or changing the
        last term of `status:rejected tag:fl` narrows what `status:rejected` found)."""
        old, flt = base.view, view.filter
        if (view.prefixes, view.descending) != (old.prefixes, old.descending) or flt.timed:
            return None
        recent = base.recent
        candidates = [(old.query, base.visible)]
        if recent.index is base.index and recent.view == (view.prefixes, view.descending):
            found = recent.get(view.query)
            if found is not None:
                return found
            candidates += recent.items()
        narrower = [
            shown
            for query, shown in candidates
            if query and (was := parse_filter(query)) and not was.timed and flt.implies(was)
        ]
        if not narrower:
            return None
        return rv.narrow(
            min(narrower, key=len),
            flt,
            base.data.entries,
            now,
            by_query_alone=view.prefixes is None,
        )

    def commit_view(self, plan: ViewPlan) -> bool:
        """Show a planned view (on the loop, O(1)). False, changing nothing, if the roster
        changed since the plan's snapshot (its data, index or view): plan again."""
        base = plan.base
        if (
            base.version != self._version
            or base.data is not self._data
            or base.index is not self._index
            or base.visible is not self._visible
            or base.view != self._view
        ):
            return False
        if not plan.changed:
            return True
        old = self._view
        if (
            plan.index is self._index
            and old.query != plan.view.query
            and (old.prefixes, old.descending) == (plan.view.prefixes, plan.view.descending)
            and not old.filter.timed
        ):
            self._recent_results(old).remember(old.query, self._visible)
        self._index, self._view = plan.index, plan.view
        if plan.index.column not in self._orders and plan.index.column != "vin":
            self._orders = {**self._orders, plan.index.column: plan.index}
        self._visible = plan.visible
        self._version += 1
        return True

    def _recent_results(self, view: rv.View) -> rv.RecentResults:
        """The results of recent queries, while the index, statuses and order stay the same."""
        recent = self._recent
        if recent.index is not self._index or recent.view != (view.prefixes, view.descending):
            recent = self._recent = rv.RecentResults(self._index, (view.prefixes, view.descending))
        return recent

    def set_query(self, text: str) -> None:
        """Filter by a query in the filter language (`domain/filters.py`): free words over VIN,
        brand, status, reason and tags, and field terms; case-insensitive."""
        self.commit_view(self.plan_view(text))

    def set_statuses(self, statuses: Iterable[str] | None) -> None:
        """Show only these statuses (None: all)."""
        self.commit_view(self.plan_view(statuses=statuses))

    def set_sort(self, column: str, descending: bool = False) -> None:
        """Sort by one of COLUMNS (ties by VIN); descending is the exact reverse."""
        self.commit_view(self.plan_view(sort=(column, descending)))
