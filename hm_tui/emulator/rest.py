"""The platform's REST API under `/v1` (docs/platform.md): tokens, clearances, eligibility."""

from __future__ import annotations

import asyncio
import logging
import zlib
from email.utils import formatdate
from typing import Any

from aiohttp import web

from hm_tui.domain.brands import BRANDS
from hm_tui.domain.vin import VIN_LENGTH, normalise_vin
from hm_tui.emulator.context import CONTEXT, Context, error_response, json_response, read_json
from hm_tui.emulator.faults import INJECTED_RETRY_AFTER_S, injected_error_body
from hm_tui.emulator.filters import FilterError, parse_filter
from hm_tui.emulator.tokens import TokenError
from hm_tui.emulator.vehicle_data import vehicle_data

VIN_LENGTH_ERROR = "vin should be 17 character(s)"
BRAND_ERROR = "The brand is invalid"
NOT_FOUND = "Vehicle not found"
TOKEN_PATH = "/v1/access_tokens"
CLIENT_GONE = 499  # nginx's "client closed request": never sent, there is no one to send it to

log = logging.getLogger(__name__)


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


@web.middleware
async def client_gone_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
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
async def platform_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """For `/v1` only: lazy state ticks, stats, injected faults, then the bearer-token check."""
    if not request.path.startswith("/v1"):
        return await handler(request)
    ctx = request.app[CONTEXT]
    ctx.now()
    ctx.stats.request(request.method, _route_name(request))
    response = await _serve(request, handler, ctx)
    ctx.stats.response(response.status)
    if not response.prepared:  # the platform's Date is its clock: here the virtual one
        response.headers["Date"] = formatdate(ctx.clock.now(), usegmt=True)
    return response


async def _serve(request: web.Request, handler: Any, ctx: Context) -> web.StreamResponse:
    if ctx.faults.refusing() and request.transport is not None:
        request.transport.abort()  # the client sees the connection drop, no response
        raise asyncio.CancelledError
    if ctx.faults.latency_ms:
        await asyncio.sleep(ctx.faults.latency_ms / 1000)
    injected = ctx.faults.pick_error()
    if injected is not None:
        headers = {"Retry-After": str(INJECTED_RETRY_AFTER_S)} if injected == 429 else None
        return json_response(injected_error_body(injected), injected, headers)
    if request.path != TOKEN_PATH:
        problem = ctx.tokens.check(request.headers.get("Authorization"))
        if problem is not None:
            return error_response(401, "Unauthorized", problem)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return error_response(exc.status, exc.reason, exc.text or exc.reason)


# -- tokens ---------------------------------------------------------------------------------
async def access_tokens(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        body = await _token_body(request)
        return json_response(ctx.tokens.exchange(body))
    except TokenError as exc:
        return json_response(exc.body(), 400)


async def _token_body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/x-www-form-urlencoded":
        return dict(await request.post())  # type: ignore[arg-type]
    try:
        body = await read_json(request)
    except ValueError as exc:
        raise TokenError(str(exc)) from None
    if not isinstance(body, dict):
        raise TokenError("the body must be a JSON object")
    return body


# -- clearances -----------------------------------------------------------------------------
async def list_clearances(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        keep = parse_filter(request.query.get("filter"))
    except FilterError as exc:
        return error_response(400, "Bad request", str(exc), source="filter")
    return web.Response(body=ctx.state.encoded_list(keep), content_type="application/json")


async def add_clearances(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        body = await read_json(request)
    except ValueError as exc:
        return error_response(400, "Bad request", str(exc))
    items = body.get("vehicles") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return error_response(400, "Bad request", "vehicles must be a list", source="vehicles")
    now = ctx.now()
    return json_response({"vehicles": [_add_one(ctx, item, now) for item in items]})


def _add_one(ctx: Context, item: Any, now: float) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"vin": "", "status": "error", "description": VIN_LENGTH_ERROR}
    raw_vin = item.get("vin")
    vin = normalise_vin(raw_vin) if isinstance(raw_vin, str) else ""
    if len(vin) != VIN_LENGTH:
        return {
            "vin": raw_vin if isinstance(raw_vin, str) else "",
            "status": "error",
            "description": VIN_LENGTH_ERROR,
        }
    brand = item.get("brand")
    if not isinstance(brand, str) or brand not in BRANDS:
        return {"vin": vin, "status": "error", "description": BRAND_ERROR}
    tags = item.get("tags") or {}
    if not isinstance(tags, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        return {"vin": vin, "status": "error", "description": "tags must map strings to strings"}
    measures = item.get("control_measures")
    record = ctx.state.add(vin, brand, tags, measures if isinstance(measures, dict) else None, now)
    ctx.stats.apply("POST", vin)
    return {"vin": vin, "status": record.status, "tags": record.tags}


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


async def remove_clearance(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    vin = request.match_info["vin"].upper()
    record = ctx.state.clearances.get(vin)
    if record is None:
        return error_response(404, "Not found", NOT_FOUND, source="vin")
    plan = ctx.state.remove(vin, ctx.now())
    if not plan.possible:
        title = "Conflict" if plan.http_status == 409 else "Unprocessable entity"
        return error_response(plan.http_status, title, plan.detail, source="vin")
    ctx.stats.apply("DELETE", vin)
    return json_response({"vin": vin, "status": record.status, "tags": record.tags})


# -- eligibility ----------------------------------------------------------------------------
async def eligibility(request: web.Request) -> web.Response:
    try:
        body = await read_json(request)
    except ValueError as exc:
        return error_response(400, "Bad request", str(exc))
    body = body if isinstance(body, dict) else {}
    vin = normalise_vin(body["vin"]) if isinstance(body.get("vin"), str) else ""
    if len(vin) != VIN_LENGTH:
        return error_response(400, "Bad request", VIN_LENGTH_ERROR, source="vin")
    brand = body.get("brand")
    if not isinstance(brand, str) or brand not in BRANDS:
        return error_response(400, "Bad request", BRAND_ERROR, source="brand")
    return json_response(eligibility_of(vin, brand))


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


def add_routes(app: web.Application) -> None:
    app.router.add_post(TOKEN_PATH, access_tokens)
    app.router.add_get("/v1/fleets/vehicles", list_clearances)
    app.router.add_post("/v1/fleets/vehicles", add_clearances)
    app.router.add_get("/v1/fleets/vehicles/{vin}", get_clearance)
    app.router.add_delete("/v1/fleets/vehicles/{vin}", remove_clearance)
    app.router.add_post("/v1/eligibility", eligibility)
    app.router.add_get("/v1/vehicle-data/autoapi-13/{vin}", vehicle_data)
