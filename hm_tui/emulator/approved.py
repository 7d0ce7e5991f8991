"""The cars that report over MQTT (approved, no forced data error), followed change by change.

The publisher asks every second which cars report. Scanning the fleet for that costs O(fleet)
each time: with a million cars, most of a core. `ApprovedCars` scans once, then hears every
state change (and every edit, such as a forced data error) from `FleetState` and tells the
publisher only the VINs that changed since it last asked.
"""

from __future__ import annotations

from typing import Any


def reports(record: Any) -> bool:
    """Whether a clearance's car sends data: approved, and its data not forced to fail."""
    return bool(record.status == "approved" and record.data_error in (None, "ok"))


class ApprovedCars:
    """`(vin, brand)` of the cars that report; `changed()` tells what changed since last asked."""

    def __init__(self, state: Any) -> None:
        self._state = state
        self._dirty: set[str] | None = None  # None: nobody asked yet (the first ask scans)
        state.subscribe(lambda change: self._note(change.vin))
        state.subscribe_edits(lambda record: self._note(record.vin))

    def _note(self, vin: str) -> None:
        if self._dirty is not None:
            self._dirty.add(vin)

    def __call__(self) -> list[tuple[str, str]]:
        """Every reporting car (a scan of the fleet)."""
        return [(r.vin, r.brand) for r in self._state.clearances.values() if reports(r)]

    def changed(self) -> tuple[bool, dict[str, str | None]]:
        """`(everything, cars)`: on the first call every reporting car (`everything` True), then
        each VIN that changed since the last call, with its brand if it reports now, else None."""
        if self._dirty is None:
            self._dirty = set()
            return True, dict(self())
        vins, self._dirty = self._dirty, set()
        return False, {vin: self.brand_of(vin) for vin in vins}

    def brand_of(self, vin: str) -> str | None:
        """The car's brand if it reports, else None."""
        record = self._state.clearances.get(vin)
        return record.brand if record is not None and reports(record) else None
