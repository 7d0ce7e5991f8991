"""The platform's REST API under `/v1`: the middleware every call passes, and the clearances.

Statuses and shapes follow the platform's published API (docs/platform-contract.md lists them
and where the emulator knowingly differs). Tokens live in `token_routes`, eligibility in
`eligibility`, vehicle data in `vehicle_data`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from email.utils import formatdate
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from hm_tui.domain.brands import BRANDS
from hm_tui.domain.removal import CANCEL_NOT_SUPPORTED, CANCEL_TOO_EARLY
from hm_tui.domain.vin import VIN_LENGTH, normalise_vin
from hm_tui.emulator.context import CONTEXT, Context, error_response, json_response, read_json
from hm_tui.emulator.eligibility import eligibility
from hm_tui.emulator.faults import INJECTED_RETRY_AFTER_S, injected_error_body
from hm_tui.emulator.filters import FilterError, parse_filter
from hm_tui.emulator.token_routes import TOKEN_PATH, access_tokens, revoke_token
from hm_tui.emulator.vehicle_data import vehicle_data

VIN_LENGTH_ERROR = "vin should be 17 character(s)"
BRAND_ERROR = "The brand is invalid"
NOT_FOUND = "Vehicle not found"
NOT_AUTHORIZED = "Not authorized"
MEASURES_ERROR = (
    'control_measures must be {"odometer": {"value": <whole number>, '
    '"unit": "kilometers" or "miles"}}'
)
INVALID_INPUT = "Invalid input"
DATA_PREFIX = "/v1/vehicle-data/"
CLIENT_GONE = 499  # nginx's "client closed request": never sent, there is no one to send it to

log = logging.getLogger(__name__)


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


@web.middleware
async def client_gone_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A client that goes away mid-request (a CLI killed during a POST) is normal: one debug
    line, instead of the traceback aiohttp logs for a handler's ConnectionResetError."""
    try:
        return await handler(request)
    except ConnectionResetError:
        if request.transport is not None and not request.transport.is_closing():
            raise  # not the client's connection
        log.debug("%s %s: the client went away", request.method, request.path)
        return web.Response(status=CLIENT_GONE)


@web.middleware
async def platform_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """For `/v1` only: lazy state ticks, stats, injected faults, then the bearer-token check."""
    if not request.path.startswith("/v1"):
        try:
            return await handler(request)
        except web.HTTPException as exc:  # control paths too: an error is JSON, never a page
            if exc.status < 400:
                raise
            return _http_error(request, exc, {})
    ctx = request.app[CONTEXT]
    ctx.now()
    ctx.stats.request(request.method, _route_name(request))
    response = await _serve(request, handler, ctx)
    ctx.stats.response(response.status)
    if not response.prepared:  # the platform's Date is its clock: here the virtual one
        response.headers["Date"] = formatdate(ctx.clock.now(), usegmt=True)
    return response


async def _serve(request: web.Request, handler: Handler, ctx: Context) -> web.StreamResponse:
    if ctx.faults.refusing() and request.transport is not None:
        request.transport.abort()  # the client sees the connection drop, no response
        raise asyncio.CancelledError
    if ctx.faults.latency_ms:
        await asyncio.sleep(ctx.faults.latency_ms / 1000)
    extra = _request_extra(request)
    scripted = ctx.faults.scripted_answer(request.method, request.path)
    if scripted is not None:
        return json_response(scripted.body(extra), scripted.status, scripted.headers)
    injected = ctx.faults.pick_error()
    if injected is not None:
        headers = {"Retry-After": str(INJECTED_RETRY_AFTER_S)} if injected == 429 else None
        return json_response({**injected_error_body(injected), **extra}, injected, headers)
    if request.path != TOKEN_PATH:
        problem = ctx.tokens.check(request.headers.get("Authorization"))
        if problem is not None:
            return error_response(401, NOT_AUTHORIZED, problem, source="Authorization", extra=extra)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return _http_error(request, exc, extra)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:  # a bug of ours: still the platform's shape, never a plain-text page
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "Internal server error", "the emulator failed", extra=extra)


def _request_extra(request: web.Request) -> dict[str, Any]:
    """The Vehicle Data API gives every answer a `request_id`; the others give none."""
    return {"request_id": uuid.uuid4().hex} if request.path.startswith(DATA_PREFIX) else {}


def _http_error(
    request: web.Request, exc: web.HTTPException, extra: dict[str, Any]
) -> web.Response:
    """aiohttp's own refusals (no route, method not allowed) in the platform's error shape; a
    405 keeps its `Allow` header, which says which methods the path serves."""
    allow = exc.headers.get("Allow")
    if exc.status == 405 and allow is not None:
        detail = f"{request.method} is not served at this path (allowed: {allow})"
        return error_response(405, exc.reason, detail, headers={"Allow": allow}, extra=extra)
    detail = "no such path in this API" if exc.status == 404 else exc.text or exc.reason
    return error_response(exc.status, exc.reason, detail, extra=extra)


# -- clearances -----------------------------------------------------------------------------
async def list_clearances(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        keep = parse_filter(request.query.get("filter"))
    except FilterError as exc:
        return error_response(400, "Bad request", str(exc), source="filter")
    return web.Response(body=ctx.state.encoded_list(keep), content_type="application/json")


async def add_clearances(request: web.Request) -> web.Response:
    """Malformed bodies are a 422 (the platform's "invalid input"); each item that cannot be
    added is an `error` item of the 200 answer, the others are added."""
    ctx = request.app[CONTEXT]
    try:
        body = await read_json(request)
    except ValueError as exc:
        return error_response(422, INVALID_INPUT, str(exc))
    if not isinstance(body, dict) or "vehicles" not in body:
        detail = 'the body must be a JSON object {"vehicles": [{"vin", "brand"}, ...]}'
        return error_response(422, INVALID_INPUT, detail, source="vehicles")
    items = body["vehicles"]
    if not isinstance(items, list):
        return error_response(422, INVALID_INPUT, "vehicles must be a list", source="vehicles")
    now = ctx.now()
    return json_response({"vehicles": [_add_one(ctx, item, now) for item in items]})


def _add_one(ctx: Context, item: Any, now: float) -> dict[str, Any]:
    raw_vin = item.get("vin") if isinstance(item, dict) else None
    vin = normalise_vin(raw_vin) if isinstance(raw_vin, str) else ""
    problem = _item_problem(item, vin)
    if problem is not None:
        return {"vin": vin or (raw_vin if isinstance(raw_vin, str) else ""), **problem}
    tags = item.get("tags") or {}
    record = ctx.state.add(vin, item["brand"], tags, item.get("control_measures"), now)
    ctx.stats.apply("POST", vin)
    return {"vin": vin, "status": record.status, "tags": record.tags}


def _item_problem(item: Any, vin: str) -> dict[str, str] | None:
    """The per-item error answer for an item that cannot be added, None for a good one."""
    if not isinstance(item, dict):
        return _item_error("each vehicle must be an object with vin and brand")
    if len(vin) != VIN_LENGTH:
        return _item_error(VIN_LENGTH_ERROR)
    brand = item.get("brand")
    if not isinstance(brand, str) or brand not in BRANDS:
        return _item_error(BRAND_ERROR)
    tags = item.get("tags")
    if tags is not None and not (
        isinstance(tags, dict) and all(isinstance(v, str) for v in tags.values())
    ):
        return _item_error("tags must map strings to strings")
    measures = item.get("control_measures")
    if measures is not None and not _measures_ok(measures):
        return _item_error(MEASURES_ERROR)
    return None


def _item_error(description: str) -> dict[str, str]:
    return {"status": "error", "description": description}


def _measures_ok(measures: Any) -> bool:
    """An object whose `odometer`, if given, is `{"value": <whole number>, "unit":
    "kilometers"|"miles"}`; other keys are ignored, as the published schema allows them."""
    if not isinstance(measures, dict):
        return False
    odometer = measures.get("odometer")
    if odometer is None:
        return True
    value = odometer.get("value") if isinstance(odometer, dict) else None
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and odometer.get("unit") in ("kilometers", "miles")
    )


async def get_clearance(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    wait = ctx.get_one_limit.retry_after()
    if wait is not None:
        return error_response(
            429, "Too many requests", f"retry after {wait}s", headers={"Retry-After": str(wait)}
        )
    record = ctx.state.clearances.get(request.match_info["vin"].upper())
    if record is None:
        return error_response(404, "Not found", NOT_FOUND, source="vin")
    return web.Response(body=record.encoded(), content_type="application/json")


#: DELETE refusals: the platform's detail -> (title, source).
_REFUSALS = {
    CANCEL_NOT_SUPPORTED: ("Not supported", "vin"),
    CANCEL_TOO_EARLY: ("Too early", "status"),
}


async def remove_clearance(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    vin = request.match_info["vin"].upper()
    record = ctx.state.clearances.get(vin)
    if record is None:
        return error_response(404, "Not found", NOT_FOUND, source="vin")
    plan = ctx.state.remove(vin, ctx.now())
    if not plan.possible:
        title, source = _REFUSALS.get(plan.detail, ("Conflict", "vin"))
        return error_response(plan.http_status, title, plan.detail, source=source)
    ctx.stats.apply("DELETE", vin)
    return json_response({"vin": vin, "status": record.status, "tags": record.tags})


def add_routes(app: web.Application) -> None:
    app.router.add_post(TOKEN_PATH, access_tokens)
    app.router.add_delete(TOKEN_PATH, revoke_token)
    app.router.add_get("/v1/fleets/vehicles", list_clearances)
    app.router.add_post("/v1/fleets/vehicles", add_clearances)
    app.router.add_get("/v1/fleets/vehicles/{vin}", get_clearance)
    app.router.add_delete("/v1/fleets/vehicles/{vin}", remove_clearance)
    app.router.add_post("/v1/eligibility", eligibility)
    app.router.add_get("/v1/vehicle-data/autoapi-13/{vin}", vehicle_data)
