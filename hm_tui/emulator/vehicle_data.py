"""`GET /v1/vehicle-data/autoapi-13/{vin}`: the car's latest Auto API data, or why there is none.

Values come from EMU-MQTT's `hm_tui.emulator.telemetry.CarSim` when present (the same simulation
the MQTT publisher streams), else from a small local stand-in. Some cars answer with the
documented errors, chosen deterministically from the VIN (or forced via `/_emulator/vehicles`).
"""

from __future__ import annotations

import math
import time
import uuid
import zlib
from typing import Any

from aiohttp import web

from hm_tui.domain.brands import to_data_brand
from hm_tui.emulator.clock import iso
from hm_tui.emulator.context import CONTEXT, Context, error_response, json_response
from hm_tui.emulator.fates import VIRTUAL_ODOMETER, VIRTUAL_VINS

try:  # EMU-MQTT's simulation; the REST API works without it
    from hm_tui.emulator.telemetry import CarSim
except ImportError:  # pragma: no cover - only while the telemetry module does not exist
    CarSim = None  # type: ignore[assignment,misc]

NO_CONSENT = "No active consent for this vehicle"
#: data_error name -> (status, title, detail)
DATA_ERRORS: dict[str, tuple[int, str, str]] = {
    "privacy": (403, "Forbidden", "Privacy mode is active"),
    "offline": (408, "Request timeout", "Vehicle is offline or asleep"),
    "unavailable": (422, "Unprocessable entity", "Vehicle data is not available yet"),
}
_BY_ROLL = {0: "privacy", 1: "offline", 2: "unavailable"}
#: Clearance brands the Vehicle Data API's brand list does not name: reported as `unknown`, the
#: list's own word for them (docs/platform-contract.md).
_UNLISTED_DATA_BRANDS = frozenset({"maserati", "polestar", "tesla", "vauxhall"})


def data_brand_of(brand: str) -> str:
    """The brand as the Vehicle Data API spells it (underscores), `unknown` if it has none."""
    return "unknown" if brand in _UNLISTED_DATA_BRANDS else to_data_brand(brand)


def data_error_of(vin: str, forced: str | None) -> str | None:
    """Which documented error this car answers with, if any (about 3 cars in 40)."""
    if forced is not None:
        return None if forced == "ok" else forced
    if vin in VIRTUAL_VINS:
        return None
    return _BY_ROLL.get(zlib.crc32(b"data:" + vin.encode()) % 40)


async def vehicle_data(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    request_id = uuid.uuid4().hex
    extra = {"request_id": request_id}
    vin = request.match_info["vin"].upper()
    record = ctx.state.clearances.get(vin)
    if record is None or record.status != "approved":
        return error_response(403, "Forbidden", NO_CONSENT, extra=extra)
    problem = data_error_of(vin, record.data_error)
    if problem is not None:
        status, title, detail = DATA_ERRORS[problem]
        return error_response(status, title, detail, extra=extra)
    now = ctx.now()
    body: dict[str, Any] = {
        "request_id": request_id,
        "vin": vin,
        "brand": data_brand_of(record.brand),
    }
    # the car's state follows the virtual clock; its readings are stamped on the wall clock, as
    # the MQTT publisher stamps them, so a client shows the same age for both sources
    reported = time.time() - last_report_age(vin)
    body.update(_wire_snapshot(_snapshot(ctx, vin, record.brand, now), reported))
    return json_response(body)


def last_report_age(vin: str) -> float:
    """Seconds since the car last reported (what a pull returns is what it said then): under a
    minute for the sandbox VIN documented to push every minute, else 5 s to 1 h,
    fixed per VIN, so a fleet shows fresh and old data side by side."""
    spread = 60 if vin == VIRTUAL_ODOMETER else 3600  # (the one that pushes every minute)
    return 5 + zlib.crc32(vin.encode()) % spread


def _snapshot(ctx: Context, vin: str, brand: str, now: float) -> dict[str, dict[str, Any]]:
    if CarSim is None:
        return local_snapshot(vin, now)
    car = ctx.cars.get(vin)
    if car is None:
        car = ctx.cars[vin] = CarSim(vin, brand, ctx.seed)
    return car.snapshot(now)


def _wire_snapshot(snapshot: dict[str, dict[str, Any]], now: float) -> dict[str, Any]:
    """Wrap plain values as `{"data", "timestamp"}` unless the simulation already did."""
    stamp = iso(now)
    out: dict[str, Any] = {}
    for capability, properties in snapshot.items():
        out[capability] = {name: _wire_value(value, stamp) for name, value in properties.items()}
    return out


def _wire_value(value: Any, stamp: str) -> Any:
    if isinstance(value, list):
        return [_wire_value(item, stamp) for item in value]
    if isinstance(value, dict) and "data" in value:
        return value
    return {"data": value, "timestamp": stamp}


def local_snapshot(vin: str, now: float) -> dict[str, dict[str, Any]]:
    """A tiny deterministic car: used only when the telemetry module is not available."""
    base = zlib.crc32(vin.encode())
    phase = (now / 600.0 + base) % (2 * math.pi)
    return {
        "diagnostics": {
            "odometer": {"value": 10000.0 + base % 90000 + now % 86400 / 100, "unit": "kilometers"},
            "fuel_level": round(0.2 + 0.7 * abs(math.sin(phase)), 3),
        },
        "vehicle_location": {
            "coordinates": {
                "latitude": 52.52 + 0.05 * math.sin(phase),
                "longitude": 13.40 + 0.05 * math.cos(phase),
            },
        },
        "ignition": {"status": "on" if math.sin(phase) > 0 else "off"},
    }
