"""`POST /v1/eligibility`: can this car deliver data? Invalid input is a 422 in the errors shape.

The brands it takes are the eligibility document's list, which is shorter than the clearance
list, plus the VW Group brands, whose cars the answer's `primary_user_assigned` is about
(docs/platform-contract.md). Any other brand is refused with a 422 naming it, as the platform
documents for a brand the call cannot serve.
"""

from __future__ import annotations

import zlib
from typing import Any

from aiohttp import web

from hm_tui.domain.brands import BRANDS, brands_in
from hm_tui.domain.vin import VIN_LENGTH, normalise_vin
from hm_tui.emulator.context import error_response, json_response, read_json

ELIGIBILITY_BRANDS: tuple[str, ...] = (
    "alfaromeo",
    "bmw",
    "citroen",
    "ds",
    "fiat",
    "ford",
    "jeep",
    "lexus",
    "mercedes-benz",
    "mini",
    "opel",
    "peugeot",
    "renault",
    "sandbox",
    "toyota",
    "vauxhall",
    "volvo-cars",
    *brands_in("VW Group"),
)
INVALID = "Invalid input"
VIN_LENGTH_ERROR = "vin should be 17 character(s)"
BRAND_ERROR = "The brand is invalid"


async def eligibility(request: web.Request) -> web.Response:
    try:
        body = await read_json(request)
    except ValueError as exc:
        return error_response(422, INVALID, str(exc))
    if not isinstance(body, dict):
        detail = 'the body must be a JSON object {"vin": "<17 characters>", "brand": "<brand>"}'
        return error_response(422, INVALID, detail)
    problem = _problem(body)
    if problem is not None:
        source, detail = problem
        return error_response(422, INVALID, detail, source=source)
    return json_response(eligibility_of(normalise_vin(body["vin"]), body["brand"]))


def _problem(body: dict[str, Any]) -> tuple[str, str] | None:
    """(source, detail) of what is wrong with the request, None when it can be answered."""
    vin, brand = body.get("vin"), body.get("brand")
    if vin is None:
        return "vin", "vin is missing"
    if not isinstance(vin, str) or len(normalise_vin(vin)) != VIN_LENGTH:
        return "vin", VIN_LENGTH_ERROR
    if brand is None:
        return "brand", "brand is missing"
    if not isinstance(brand, str) or brand not in BRANDS:
        return "brand", BRAND_ERROR
    if brand not in ELIGIBILITY_BRANDS:
        return "brand", f"the eligibility check does not cover the brand {brand}"
    return None


def eligibility_of(vin: str, brand: str) -> dict[str, Any]:
    """Deterministic per VIN: sandbox cars are eligible; about one car in ten is not."""
    roll = zlib.crc32(vin.encode()) % 100
    eligible = brand == "sandbox" or roll >= 10
    answer: dict[str, Any] = {
        "vin": vin,
        "eligible": eligible,
        "data_delivery": ["pull", "push"] if eligible else [],
        "connectivity_status": "activated"
        if eligible
        else ("deactivated" if roll < 5 else "unknown"),
    }
    if BRANDS[brand].group == "VW Group":
        answer["primary_user_assigned"] = roll % 7 == 0
    return answer
