"""`GET /_emulator/openapi.json`: the emulator's own OpenAPI 3 description of the `/v1` it serves.

Written for this project from the facts of the platform's published API (paths, fields, status
codes, error shapes); where the emulator knowingly differs from those documents, or they from
each other, docs/platform-contract.md says so. The suite runs schemathesis against a live
emulator with this document (tests/contract/test_openapi_schemathesis.py), so it must describe
exactly what the emulator does, every status included.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hm_tui.domain.brands import BRANDS
from hm_tui.domain.clearance import STATUS_ORDER
from hm_tui.emulator.context import json_response
from hm_tui.emulator.eligibility import ELIGIBILITY_BRANDS
from hm_tui.emulator.openapi_parts import components, errors_answer, oauth_error

PATH = "/_emulator/openapi.json"
VIN_PARAM = {
    "name": "vin",
    "in": "path",
    "required": True,
    "description": "The car's VIN (any text: one the fleet does not hold is a 404).",
    "schema": {"type": "string"},
}
FILTER_PARAM = {
    "name": "filter",
    "in": "query",
    "required": False,
    "description": "Conditions on fields, all of which must hold (JSON in the query string).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Filter"}}},
}
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_UNAUTHORIZED = errors_answer("The access token is missing, expired, revoked or not ours.")


def _json_body(ref: str, *, form: bool = False) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{ref}"}
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if form:
        content["application/x-www-form-urlencoded"] = {"schema": schema}
    return {"required": True, "content": content}


def _ok(ref: str, description: str, links: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }
    if links:
        answer["links"] = links
    return answer


def _tokens() -> dict[str, Any]:
    return {
        "post": {
            "operationId": "login",
            "summary": "Log in with the client credentials grant (secret or signed assertion).",
            "security": [],
            "requestBody": _json_body("TokenRequest", form=True),
            "responses": {
                "200": _ok("TokenAnswer", "An access token."),
                "400": oauth_error("The request or the credentials are refused."),
            },
        },
        "delete": {
            "operationId": "revokeToken",
            "summary": "Revoke an access token; an unknown or dead token is no error.",
            "security": [],
            "requestBody": _json_body("RevokeRequest", form=True),
            "responses": {
                "200": _ok("Empty", "Revoked (or there was nothing left to revoke)."),
                "400": oauth_error("The request is malformed or the client is not proven."),
            },
        },
    }


def _one_vin_links() -> dict[str, Any]:
    first = "$response.body#/vehicles/0/vin"
    return {
        "GetAdded": {"operationId": "getClearance", "parameters": {"vin": first}},
        "RemoveAdded": {"operationId": "removeClearance", "parameters": {"vin": first}},
    }


def _clearances() -> dict[str, Any]:
    return {
        "get": {
            "operationId": "listClearances",
            "summary": "Every clearance of the fleet, or those the filter keeps (no pagination).",
            "security": _BEARER,
            "parameters": [FILTER_PARAM],
            "responses": {
                "200": _ok("ClearanceList", "The clearances, a bare array."),
                "400": errors_answer("The filter is malformed (source: filter)."),
                "401": _UNAUTHORIZED,
            },
        },
        "post": {
            "operationId": "addClearances",
            "summary": "Ask for clearances: one answer per item, in order.",
            "description": "An item that cannot be added is an item with status `error` and a "
            "description in the 200 answer; only a body that is not "
            '`{"vehicles": [...]}` is refused as a whole.',
            "security": _BEARER,
            "requestBody": _json_body("AddRequest"),
            "responses": {
                "200": _ok("AddAnswer", "One result per item.", _one_vin_links()),
                "401": _UNAUTHORIZED,
                "422": errors_answer("The body is not JSON, not an object, or has no list."),
            },
        },
    }


def _one_clearance() -> dict[str, Any]:
    return {
        "get": {
            "operationId": "getClearance",
            "summary": "One clearance, held to 60 calls a minute per app.",
            "security": _BEARER,
            "parameters": [VIN_PARAM],
            "responses": {
                "200": _ok("Clearance", "The clearance."),
                "401": _UNAUTHORIZED,
                "404": errors_answer("The fleet holds no clearance for this VIN."),
                "429": errors_answer("Over 60 calls in a minute.", retry_after=True),
            },
        },
        "delete": {
            "operationId": "removeClearance",
            "summary": "Revoke an approved clearance or cancel a pending one.",
            "security": _BEARER,
            "parameters": [VIN_PARAM],
            "responses": {
                "200": _ok("Removal", "The revoke or cancel has started."),
                "401": _UNAUTHORIZED,
                "404": errors_answer("The fleet holds no clearance for this VIN."),
                "409": errors_answer("Already removed, or a removal is in progress."),
                "422": errors_answer("This brand cannot cancel, or it is too early to."),
            },
        },
    }


def _eligibility() -> dict[str, Any]:
    return {
        "post": {
            "operationId": "checkEligibility",
            "summary": "Can this car deliver data?",
            "security": _BEARER,
            "requestBody": _json_body("EligibilityRequest"),
            "responses": {
                "200": _ok("Eligibility", "The answer for this car."),
                "401": _UNAUTHORIZED,
                "422": errors_answer("Not JSON, a field missing, a bad VIN or brand."),
            },
        }
    }


def _vehicle_data() -> dict[str, Any]:
    data_error = "The car's data cannot be had (request_id included)."
    return {
        "get": {
            "operationId": "vehicleData",
            "summary": "The car's latest data, each point with its own timestamp.",
            "security": _BEARER,
            "parameters": [VIN_PARAM],
            "responses": {
                "200": _ok("VehicleData", "The latest data points."),
                "401": errors_answer("As elsewhere, with a request_id.", request_id=True),
                "403": errors_answer("No approved clearance, or privacy mode.", request_id=True),
                "408": errors_answer("The car is offline or asleep.", request_id=True),
                "422": errors_answer(data_error, request_id=True),
            },
        }
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.0 document (a fresh dict each call)."""
    parts = components(
        brands=list(BRANDS), statuses=list(STATUS_ORDER), eligibility=list(ELIGIBILITY_BRANDS)
    )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "hm-tui emulator: the platform's REST API as emulated",
            "version": "1",
            "description": "What `hm-tui emulator` serves under /v1. Faults injected with "
            "POST /_emulator/faults (429, 5xx, scripted answers) are outside this document.",
        },
        "paths": {
            "/v1/access_tokens": _tokens(),
            "/v1/fleets/vehicles": _clearances(),
            "/v1/fleets/vehicles/{vin}": _one_clearance(),
            "/v1/eligibility": _eligibility(),
            "/v1/vehicle-data/autoapi-13/{vin}": _vehicle_data(),
        },
        "components": parts,
    }


async def serve(request: web.Request) -> web.Response:
    return json_response(document())


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, serve)
