"""The emulator's clearance state machine: records, their changelogs, and due transitions.

Transitions are lazy: every future change sits in a heap keyed by its virtual due time, and
`tick(now)` applies the ones that are due (the server ticks on every request and on a timer).
A record's `generation` grows whenever its future is rewritten (re-POST, DELETE, forced status),
so stale heap entries are skipped instead of searched for.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from hm_tui.domain.clearance import ACTIVE, ClearanceStatus
from hm_tui.domain.removal import Removal, RemovalKind, plan_removal
from hm_tui.emulator.clock import iso, to_datetime
from hm_tui.emulator.fates import Step, decide_fate, fate_rng, removal_delay

_encoder = msgspec.json.Encoder()


@dataclass(slots=True)
class Record:
    """One clearance as the emulator keeps it; `changelog` holds (virtual ts, status, reason)."""

    vin: str
    brand: str
    tags: dict[str, str]
    changelog: list[tuple[float, str, str | None]]
    created_at: float
    generation: int = 0
    attempts: int = 1
    control_measures: dict[str, Any] | None = None
    data_error: str | None = None  # forced Vehicle Data answer: privacy, offline, unavailable
    _encoded: bytes | None = field(default=None, repr=False)

    @property
    def status(self) -> str:
        return self.changelog[-1][1]

    @property
    def reason(self) -> str | None:
        return self.changelog[-1][2]

    @property
    def approved_at(self) -> float | None:
        for ts, status, _ in reversed(self.changelog):
            if status == ClearanceStatus.APPROVED:
                return ts
        return None

    def to_wire(self) -> dict[str, Any]:
        changelog = []
        for ts, status, reason in self.changelog:
            entry = {"timestamp": iso(ts), "status": status}
            if reason:
                entry["reason"] = reason
            changelog.append(entry)
        return {
            "vin": self.vin,
            "status": self.status,
            "brand": self.brand,
            "tags": self.tags,
            "changelog": changelog,
        }

    def encoded(self) -> bytes:
        """The JSON of `to_wire()`, cached until the record changes."""
        if self._encoded is None:
            self._encoded = _encoder.encode(self.to_wire())
        return self._encoded


@dataclass(frozen=True, slots=True)
class Change:
    """One state change, as webhooks and the publisher hear about it."""

    vin: str
    brand: str
    old: str | None
    new: str
    reason: str | None
    at: float


Listener = Callable[[Change], None]


class FleetState:
    """All clearances of the emulated app, and the heap of their future transitions."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self.clearances: dict[str, Record] = {}
        self.version = 0
        self._heap: list[tuple[float, int, str, int, str, str | None]] = []
        self._seq = 0
        self._listeners: list[Listener] = []
        self._edit_listeners: list[Callable[[Record], None]] = []
        self._list_cache: tuple[int, bytes] | None = None

    # -- observers -------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def subscribe_edits(self, listener: Callable[[Record], None]) -> None:
        """Hear of edits that are not state changes (`touch`: tags, a forced data error)."""
        self._edit_listeners.append(listener)

    def _changed(self, record: Record, old: str | None, at: float) -> None:
        record._encoded = None
        self.version += 1
        change = Change(record.vin, record.brand, old, record.status, record.reason, at)
        for listener in self._listeners:
            listener(change)

    # -- scheduling ------------------------------------------------------------------------
    def schedule(self, record: Record, start: float, steps: Iterable[Step]) -> None:
        for step in steps:
            self._seq += 1
            heapq.heappush(
                self._heap,
                (
                    start + step.delay,
                    self._seq,
                    record.vin,
                    record.generation,
                    step.status,
                    step.reason,
                ),
            )

    def tick(self, now: float) -> int:
        """Apply every transition due by `now`; returns how many were applied."""
        applied = 0
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, _, vin, generation, status, reason = heapq.heappop(heap)
            record = self.clearances.get(vin)
            if record is None or record.generation != generation:
                continue
            old = record.status
            record.changelog.append((due, status, reason))
            self._changed(record, old, due)
            applied += 1
        return applied

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    # -- the platform's operations ---------------------------------------------------------
    def insert(self, record: Record, steps: Iterable[Step] = ()) -> None:
        """Put a record in place without announcing it (the simulated fleet's history)."""
        self.clearances[record.vin] = record
        self.schedule(record, record.created_at, steps)
        self.version += 1

    def add(
        self,
        vin: str,
        brand: str,
        tags: dict[str, str] | None,
        control_measures: dict[str, Any] | None,
        now: float,
    ) -> Record:
        """POST one item: new pending clearance, restart after an end, or unchanged if active."""
        record = self.clearances.get(vin)
        if record is not None and record.status in ACTIVE:
            return record
        if record is None:
            record = Record(vin, brand, dict(tags or {}), [], now, attempts=0)
            self.clearances[vin] = record
        else:
            record.brand, record.tags, record.created_at = brand, dict(tags or {}), now
        old = record.status if record.changelog else None
        record.attempts += 1
        record.generation += 1
        record.control_measures = control_measures
        record.changelog.append((now, ClearanceStatus.PENDING, None))
        rng = fate_rng(self.seed, vin, record.attempts)
        self.schedule(record, now, decide_fate(vin, brand, record.tags, control_measures, rng))
        self._changed(record, old, now)
        return record

    def remove(self, vin: str, now: float) -> Removal:
        """DELETE: start a revoke or cancel, or say why not (the caller checks existence)."""
        record = self.clearances[vin]
        plan = plan_removal(
            record.brand, record.status, to_datetime(record.created_at), to_datetime(now)
        )
        if not plan.possible:
            return plan
        target = "revoking" if plan.kind is RemovalKind.REVOKE else "canceling"
        final = "revoked" if plan.kind is RemovalKind.REVOKE else "canceled"
        self.force(vin, target, None, now)
        rng = fate_rng(self.seed, vin + target, record.attempts)
        self.schedule(record, now, [Step(removal_delay(rng), final)])
        return plan

    def force(self, vin: str, status: str, reason: str | None, now: float) -> Record:
        """Set a status now and forget the record's scheduled future (control endpoint)."""
        record = self.clearances[vin]
        old = record.status
        record.generation += 1
        if status == ClearanceStatus.PENDING:
            record.created_at = now
        record.changelog.append((now, status, reason))
        self._changed(record, old, now)
        return record

    def touch(self, record: Record) -> None:
        """Note an edit that is not a state change (tags, a forced data error): list caches must
        be rebuilt, and the publisher may have to start or stop the car."""
        record._encoded = None
        self.version += 1
        for listener in self._edit_listeners:
            listener(record)

    # -- reading ---------------------------------------------------------------------------
    def encoded_list(self, keep: Callable[[Record], bool] | None = None) -> bytes:
        """The list call's bare JSON array; the unfiltered one is cached until anything changes."""
        if keep is None:
            cached = self._list_cache
            if cached is not None and cached[0] == self.version:
                return cached[1]
        records = self.clearances.values()
        chosen = records if keep is None else (r for r in records if keep(r))
        body = b"[" + b",".join(r.encoded() for r in chosen) + b"]"
        if keep is None:
            self._list_cache = (self.version, body)
        return body

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.status for r in self.clearances.values()))

    def counts_by_brand(self) -> dict[str, dict[str, int]]:
        """brand -> status -> clearances (what a client's brand x status table must show)."""
        table: dict[str, Counter[str]] = {}
        for r in self.clearances.values():
            table.setdefault(r.brand, Counter())[r.status] += 1
        return {brand: dict(counts) for brand, counts in table.items()}

    def rejected_by_reason(self) -> dict[str, int]:
        return dict(
            Counter(r.reason or "" for r in self.clearances.values() if r.status == "rejected")
        )
