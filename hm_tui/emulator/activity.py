"""Fleet activity: colleagues at work on the emulated platform, so a demo keeps changing.

Every few real seconds one thing happens through the ordinary state machine, as if a colleague
had called the platform's API: a small batch of new VINs is added (pending, then approved or
rejected with a brand-appropriate reason as their fates say; a VW Group car now and then without
its customer-name tag), or an approved car is revoked. Off unless asked for (`hm-tui emulator
--activity`; on in `hm-tui --demo`), so tests and scripted runs stay deterministic.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from hm_tui.domain.brands import BRANDS
from hm_tui.domain.clearance import ClearanceStatus
from hm_tui.emulator.fleet_sim import BRAND_WEIGHTS, make_tags, make_vin
from hm_tui.emulator.state import FleetState

log = logging.getLogger(__name__)

EVERY_S = (2.0, 5.0)  # real seconds between two happenings
BATCH = (1, 4)  # VINs a colleague adds at once
REVOKE_SHARE = 0.2  # of happenings: an approved car revoked instead of a batch added
_BRANDS = tuple(b for b in BRAND_WEIGHTS if b != "sandbox" and b in BRANDS)
_WEIGHTS = tuple(BRAND_WEIGHTS[b] for b in _BRANDS)
_PICKS = 20  # random looks for an approved car before giving up on a revoke


@dataclass(frozen=True, slots=True)
class Happening:
    """What a colleague just did, and to which VINs."""

    kind: Literal["added", "revoked"]
    vins: tuple[str, ...]


class FleetActivity:
    """Deterministic for a seed: the same calls to `step` do the same things."""

    def __init__(
        self, state: FleetState, seed: int, every: tuple[float, float] | None = None
    ) -> None:
        self.state = state
        self.every = every or EVERY_S
        self._rng = random.Random(f"activity:{seed}")

    def step(self, now: float) -> Happening:
        """Do one thing at virtual time `now`."""
        if self._rng.random() < REVOKE_SHARE:
            revoked = self.revoke_one(now)
            if revoked is not None:
                return revoked
        return self.add_batch(now)

    def add_batch(self, now: float) -> Happening:
        """A colleague adds a few new VINs: they start pending, their fates decide the rest."""
        added: list[str] = []
        for _ in range(self._rng.randint(*BATCH)):
            brand = self._rng.choices(_BRANDS, _WEIGHTS)[0]
            vin = make_vin(brand, self._rng)
            if vin in self.state.clearances:
                continue
            self.state.add(vin, brand, make_tags(brand, self._rng), None, now)
            added.append(vin)
        return Happening("added", tuple(added))

    def revoke_one(self, now: float) -> Happening | None:
        """A colleague revokes an approved car (None: no approved car found)."""
        vins = list(self.state.clearances)
        for _ in range(min(_PICKS, len(vins))):
            record = self.state.clearances[self._rng.choice(vins)]
            if record.status == ClearanceStatus.APPROVED and record.brand != "sandbox":
                self.state.remove(record.vin, now)
                return Happening("revoked", (record.vin,))
        return None

    async def run(self, now: Callable[[], float]) -> None:
        """Forever: wait a few real seconds, then `step` at the virtual `now()`."""
        while True:
            await asyncio.sleep(self._rng.uniform(*self.every))
            try:
                happened = self.step(now())
            except Exception:  # one bad step must not end the demo's life
                log.exception("fleet activity step failed")
                continue
            log.info("activity: %s %s", happened.kind, ", ".join(happened.vins))
