"""Clearances as the campaign summary reads them (`domain/campaign.py`), and the campaign of one
journaled add. Pure but for `journal_vins` (the store)."""

from __future__ import annotations

from collections.abc import Iterable

from hm_tui.domain.campaign import Car
from hm_tui.domain.timestamps import parse_time
from hm_tui.service.models import Clearance
from hm_tui.service.store.db import Store


def car_of(c: Clearance, first_seen: float) -> Car:
    """One clearance; `first_seen` stands in for when it entered its state if no changelog
    entry says."""
    steps = tuple(
        (at.timestamp(), entry.status)
        for entry in c.changelog
        if (at := parse_time(entry.timestamp)) is not None
    )
    return Car(c.vin, c.brand, c.status, c.reason, steps[-1][0] if steps else first_seen, steps)


def cars_of(clearances: Iterable[Clearance], now: float) -> list[Car]:
    return [car_of(c, now) for c in clearances]


def journal_vins(store: Store, action_id: int) -> tuple[str, list[str]] | None:
    """(what the action was, its VINs) for a journaled action, or None if there is none."""
    entry = store.journal.entry(action_id)
    return None if entry is None else (entry.action, list(entry.vins))
