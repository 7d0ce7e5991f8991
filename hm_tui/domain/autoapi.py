"""The Auto API level 13 catalogue (capabilities, properties, units), loaded once on demand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class PropertyInfo:
    capability: str
    name: str
    pretty: str
    kind: str  # measurement, enum, double, object, ...
    measurement: str | None
    units: tuple[str, ...]
    enum_values: tuple[str, ...]
    multiple: bool
    description: str | None


@cache
def catalogue() -> dict[str, Any]:
    path = resources.files("hm_tui") / "data" / "autoapi-l13-catalog.json"
    found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return found


@cache
def property_info(capability: str, prop: str) -> PropertyInfo | None:
    """Catalogue facts for `capability.prop`, or None if unknown (unknown data is still shown)."""
    cap = catalogue()["capabilities"].get(capability)
    if not isinstance(cap, dict):
        return None
    raw = cap.get("properties", {}).get(prop)
    if not isinstance(raw, dict):
        return None
    typ = raw.get("type") or {}
    return PropertyInfo(
        capability=capability,
        name=prop,
        pretty=raw.get("pretty") or prop,
        kind=typ.get("kind", "unknown"),
        measurement=typ.get("measurement"),
        units=tuple(typ.get("units") or ()),
        enum_values=tuple(typ.get("values") or typ.get("enum_values") or ()),
        multiple=bool(raw.get("multiple")),
        description=raw.get("description"),
    )


def capability_names() -> list[str]:
    return sorted(catalogue()["capabilities"])


def capability_pretty(capability: str) -> str:
    cap = catalogue()["capabilities"].get(capability)
    return cap.get("pretty", capability) if isinstance(cap, dict) else capability
