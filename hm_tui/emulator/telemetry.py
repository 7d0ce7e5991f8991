"""Simulated cars: where each one is and what it reports, as a pure function of virtual time.

Every car loops a route around a European city on a repeating cycle: drive out, park, drive back,
park at home (electric cars charge there, combustion cars refuel every few cycles). Nothing is
stored between calls, so a snapshot of any car at any time costs a few microseconds and two
emulators with the same seed agree. Data is shaped as the Auto API sends it
(docs/platform.md#vehicle-data-pull):
measurements `{"value", "unit"}`, percentages as plain 0..1, enum strings, coordinates objects;
`multiple` properties (doors.locks) as a list of such values.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from typing import Any

Snapshot = dict[str, dict[str, Any]]

# Seconds since the epoch from which odometers count (2025-06-01T00:00:00Z).
ODOMETER_EPOCH = 1_748_736_000.0
EARTH_RADIUS_M = 6_371_000.0
ELECTRIC_BRANDS = frozenset({"tesla", "polestar"})
LOCATIONS = ("front_left", "front_right", "rear_right", "rear_left")
DOORS_OPEN_S = 120.0  # doors unlocked this long after arriving and before leaving

CITIES: tuple[tuple[str, float, float], ...] = (
    ("Berlin", 52.5200, 13.4050),
    ("Munich", 48.1351, 11.5820),
    ("Hamburg", 53.5511, 9.9937),
    ("Paris", 48.8566, 2.3522),
    ("Lyon", 45.7640, 4.8357),
    ("Amsterdam", 52.3676, 4.9041),
    ("Brussels", 50.8503, 4.3517),
    ("Vienna", 48.2082, 16.3738),
    ("Zurich", 47.3769, 8.5417),
    ("Milan", 45.4642, 9.1900),
    ("Madrid", 40.4168, -3.7038),
    ("Barcelona", 41.3874, 2.1686),
    ("Copenhagen", 55.6761, 12.5683),
    ("Stockholm", 59.3293, 18.0686),
    ("Prague", 50.0755, 14.4378),
    ("Warsaw", 52.2297, 21.0122),
    ("Lisbon", 38.7223, -9.1393),
    ("Dublin", 53.3498, -6.2603),
)


def _measure(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit}


class _Route:
    """A closed loop of waypoints around a city centre, walked by distance in metres."""

    __slots__ = ("cumulative", "length", "points")

    def __init__(self, rng: random.Random, lat: float, lon: float) -> None:
        count = rng.randint(6, 10)
        base = rng.uniform(0.0, 2 * math.pi)
        radius = rng.uniform(3_000.0, 7_000.0)
        self.points: list[tuple[float, float]] = []
        for i in range(count):
            angle = base + 2 * math.pi * i / count + rng.uniform(-0.2, 0.2)
            r = radius * rng.uniform(0.6, 1.3)
            dlat = math.degrees(r * math.cos(angle) / EARTH_RADIUS_M)
            across = EARTH_RADIUS_M * math.cos(math.radians(lat))
            dlon = math.degrees(r * math.sin(angle) / across)
            self.points.append((lat + dlat, lon + dlon))
        self.points.append(self.points[0])
        self.cumulative = [0.0]
        for a, b in zip(self.points, self.points[1:], strict=False):
            self.cumulative.append(self.cumulative[-1] + _distance(a, b))
        self.length = self.cumulative[-1]

    def locate(self, distance: float) -> tuple[float, float, float]:
        """(latitude, longitude, heading in degrees) `distance` metres along the loop."""
        distance %= self.length
        i = min(bisect_right(self.cumulative, distance) - 1, len(self.points) - 2)
        a, b = self.points[i], self.points[i + 1]
        span = self.cumulative[i + 1] - self.cumulative[i]
        f = (distance - self.cumulative[i]) / span if span else 0.0
        return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, _bearing(a, b)


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    mean_lat = math.radians((a[0] + b[0]) / 2)
    dx = math.radians(b[1] - a[1]) * math.cos(mean_lat)
    dy = math.radians(b[0] - a[0])
    return EARTH_RADIUS_M * math.hypot(dx, dy)


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (b[1] - a[1]) * math.cos(math.radians(a[0]))
    dy = b[0] - a[0]
    return math.degrees(math.atan2(dx, dy)) % 360.0


class CarSim:
    """One simulated car; `snapshot(t)` is what it would report at virtual time `t` (epoch s)."""

    __slots__ = (
        "brand",
        "city",
        "cycle",
        "drive_s",
        "electric",
        "home_s",
        "level0",
        "odometer0",
        "park_s",
        "phase",
        "range_km",
        "refuel_every",
        "route",
        "vin",
    )

    def __init__(self, vin: str, brand: str, seed: int = 1) -> None:
        rng = random.Random(f"{seed}:{vin}")
        self.vin = vin
        self.brand = brand
        self.city, lat, lon = rng.choice(CITIES)
        self.route = _Route(rng, lat, lon)
        self.electric = brand in ELECTRIC_BRANDS or rng.random() < 0.35
        speed_ms = rng.uniform(28.0, 45.0) / 3.6
        self.drive_s = self.route.length / 2 / speed_ms  # each of the two trips of a cycle
        self.cycle = rng.uniform(0.75, 2.5) * 3600 + 2 * self.drive_s
        self.park_s = rng.uniform(0.25, 0.45) * (self.cycle - 2 * self.drive_s)
        self.home_s = self.cycle - 2 * self.drive_s - self.park_s
        self.phase = rng.uniform(0.0, self.cycle)
        self.odometer0 = rng.uniform(8_000.0, 90_000.0)
        self.range_km = rng.uniform(330.0, 520.0) if self.electric else rng.uniform(550.0, 900.0)
        self.level0 = rng.uniform(0.6, 0.95)
        per_cycle = self.route.length / 1000 / self.range_km
        self.refuel_every = max(1, int((self.level0 - 0.1) / per_cycle))

    # --- where the car is in its cycle -------------------------------------------------------

    def _cycle_position(self, t: float) -> tuple[int, float]:
        elapsed = t - ODOMETER_EPOCH + self.phase
        n = math.floor(elapsed / self.cycle)
        return n, elapsed - n * self.cycle

    def _trip(self, tau: float) -> tuple[float, float, bool, float]:
        """(distance into the cycle m, speed m/s, driving?, seconds since arriving/parking)."""
        half, d = self.route.length / 2, self.drive_s
        if tau < d:
            return half * _progress(tau / d), half / d * _pace(tau / d), True, 0.0
        if tau < d + self.park_s:
            return half, 0.0, False, tau - d
        if tau < 2 * d + self.park_s:
            u = (tau - d - self.park_s) / d
            return half + half * _progress(u), half / d * _pace(u), True, 0.0
        return self.route.length, 0.0, False, tau - 2 * d - self.park_s

    def _parked_left(self, tau: float) -> float:
        """Seconds until the car leaves its parking spot (inf while driving)."""
        d = self.drive_s
        if d <= tau < d + self.park_s:
            return d + self.park_s - tau
        if tau >= 2 * d + self.park_s:
            return self.cycle - tau
        return math.inf

    # --- what it reports -----------------------------------------------------------------------

    def snapshot(self, t_virtual: float) -> Snapshot:
        """Every property the car reports at `t_virtual`, Auto API shaped."""
        n, tau = self._cycle_position(t_virtual)
        distance, speed, driving, parked_for = self._trip(tau)
        lat, lon, heading = self.route.locate(distance)
        odometer = self.odometer0 + (n * self.route.length + distance) / 1000
        near_move = parked_for < DOORS_OPEN_S or self._parked_left(tau) < DOORS_OPEN_S
        unlocked = not driving and near_move
        ignition = "on" if driving else ("off" if near_move else "lock")
        lock = "unlocked" if unlocked else "locked"
        snap: Snapshot = {
            "vehicle_location": {
                "coordinates": {"latitude": round(lat, 6), "longitude": round(lon, 6)},
                "heading": _measure(round(heading), "degrees"),
            },
            "diagnostics": {
                "speed": _measure(round(speed * 3.6), "kilometers_per_hour"),
                "odometer": _measure(round(odometer, 1), "kilometers"),
            },
            "ignition": {"state": ignition},
            "doors": {
                "locks": [{"location": where, "lock_state": lock} for where in LOCATIONS],
                "locks_state": lock,
            },
        }
        self._add_energy(snap, n, tau, distance)
        return snap

    def _add_energy(self, snap: Snapshot, n: int, tau: float, distance: float) -> None:
        used = distance / 1000 / self.range_km
        if not self.electric:
            start = self.level0 - (n % self.refuel_every) * self.route.length / 1000 / self.range_km
            level = round(max(start - used, 0.02), 2)
            snap["diagnostics"]["fuel_level"] = level
            snap["diagnostics"]["estimated_range"] = _measure(
                round(level * self.range_km), "kilometers"
            )
            return
        level, status = self._battery(tau, used)
        snap["charging"] = {
            "battery_level": level,
            "estimated_range": _measure(round(level * self.range_km), "kilometers"),
            "status": status,
            "plugged_in": "plugged_in" if tau >= 2 * self.drive_s + self.park_s else "disconnected",
        }

    def _battery(self, tau: float, used: float) -> tuple[float, str]:
        home_from = 2 * self.drive_s + self.park_s
        if tau < home_from:
            return round(self.level0 - used, 2), "not_charging"
        low = self.level0 - self.route.length / 1000 / self.range_km
        charged = (tau - home_from) / (self.home_s * 0.6)
        if charged >= 1.0:
            return round(self.level0, 2), "charging_complete"
        return round(low + (self.level0 - low) * charged, 2), "charging"

    def changed(self, before: float, after: float) -> list[tuple[str, str]]:
        """The (capability, property) pairs whose reported value differs between two times."""
        return changed_properties(self.snapshot(before), self.snapshot(after))


def _progress(u: float) -> float:
    """Share of a trip covered at time share u: slow start, cruise, slow arrival."""
    return u - math.sin(2 * math.pi * u) / (2 * math.pi)


def _pace(u: float) -> float:
    """Derivative of `_progress`: speed relative to the trip's mean speed."""
    return 1 - math.cos(2 * math.pi * u)


def changed_properties(before: Snapshot, after: Snapshot) -> list[tuple[str, str]]:
    """The (capability, property) pairs present in `after` whose value is new or different."""
    changes = []
    for capability, props in after.items():
        old = before.get(capability, {})
        for prop, value in props.items():
            if old.get(prop) != value:
                changes.append((capability, prop))
    return changes


def all_properties(snapshot: Snapshot) -> list[tuple[str, str]]:
    return [(cap, prop) for cap, props in snapshot.items() for prop in props]
