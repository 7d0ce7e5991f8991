"""How a data point's value reads (Auto API level 13): "85 %", "12 000 km", "48.2, 16.3",
"front_left: locked". Shared by the dashboard and the headless commands; the text is plain, not
yet made safe to print: each caller strips control characters its own way."""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

from hm_tui.domain.autoapi import catalogue

MAX_TEXT = 80  # characters of a value shown; longer ones end in "…"
HUGE = 10**15  # numbers this large are shown in scientific notation
UNITS = {
    "kilometers": "km",
    "miles": "mi",
    "meters": "m",
    "centimeters": "cm",
    "millimeters": "mm",
    "celsius": "°C",
    "fahrenheit": "°F",
    "kelvin": "K",
    "kilometers_per_hour": "km/h",
    "miles_per_hour": "mph",
    "meters_per_second": "m/s",
    "liters": "l",
    "gallons": "gal",
    "kilowatt_hours": "kWh",
    "kilowatts": "kW",
    "watts": "W",
    "volts": "V",
    "amperes": "A",
    "bars": "bar",
    "kilopascals": "kPa",
    "pounds_force_per_square_inch": "psi",
    "degrees": "°",
    "revolutions_per_minute": "rpm",
    "seconds": "s",
    "minutes": "min",
    "hours": "h",
    "days": "d",
    "milliseconds": "ms",
    "liters_per_100_kilometers": "l/100 km",
    "kwh_per_100_kilometers": "kWh/100 km",
    "percent": "%",
}


def unit_symbol(unit: str | None) -> str:
    if not unit:
        return ""
    return UNITS.get(unit, _limit(unit, 24).replace("_", " "))


@cache
def is_percentage(capability: str, prop: str) -> bool:
    """True when the catalogue types `capability.prop` as a percentage (0.0-1.0 on the wire)."""
    cap = catalogue()["capabilities"].get(capability)
    if not isinstance(cap, dict):
        return False
    raw = cap.get("properties", {}).get(prop)
    return isinstance(raw, dict) and (raw.get("type") or {}).get("name") == "percentage"


def count_text(count: int) -> str:
    """A count as every surface writes it (feed status, header, summary, CLI): `12,345`."""
    return f"{count:,}"


def format_number(value: float) -> str:
    """A number as a person reads it; one of more than 15 digits (JSON's integers have no bound,
    and a 4,000-digit one cannot even become a float) in scientific notation, `1.0e+1000`."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if abs(value) >= HUGE:
        return _scientific(value)
    if isinstance(value, int) or float(value).is_integer():
        return count_text(int(value)) if abs(value) >= 10_000 else str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.1f}"


def _scientific(value: float) -> str:
    if isinstance(value, float):
        return f"{value:.1e}" if math.isfinite(value) else ("-∞" if value < 0 else "∞")
    digits = str(abs(value))  # (msgspec reads at most ~4,300 digits: str() can take them)
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1]}e+{len(digits) - 1}"


def _percentage(value: float) -> str:
    scaled = value * 100  # (an int stays an int: no float overflow)
    if isinstance(scaled, float) and not math.isfinite(scaled):  # (1e308 * 100)
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}e{int(exponent) + 2:+d} %"
    if abs(scaled) >= HUGE:
        return f"{_scientific(scaled)} %"
    return f"{scaled:.0f} %"


def format_value(
    value: Any, unit: str | None = None, *, capability: str = "", prop: str = ""
) -> str:
    """A data point's value: number with unit symbol, percentage, enum, or compact JSON."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if unit is None and capability and is_percentage(capability, prop):
            return _percentage(value)
        symbol = unit_symbol(unit)
        return f"{format_number(value)} {symbol}".rstrip()
    if isinstance(value, str):
        return _limit(value)
    if isinstance(value, dict) and {"latitude", "longitude"} <= value.keys():
        return f"{value['latitude']}, {value['longitude']}"
    if isinstance(value, dict) and {"value", "unit"} <= value.keys():
        return format_value(value["value"], value["unit"])
    if isinstance(value, dict) and "location" in value:  # one item of a `multiple` property
        return _limit(_located(value))
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return _limit(", ".join(map(_located, value)))  # doors.locks, tire_pressures
    return _limit(json.dumps(value, separators=(",", ":"), default=str))


def _located(item: dict[str, Any]) -> str:
    """One item of a `multiple` property: "front_left: locked", "rear_right: 2.3 bar"."""
    rest = " ".join(format_value(v) for k, v in item.items() if k != "location")
    location = item.get("location")
    return f"{format_value(location)}: {rest}" if location is not None else rest


def _limit(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
