"""Control endpoints under `/_emulator/`: no auth, never faulted, loopback only (they are described
in docs/architecture.md#emulator-state-directory).

- `GET stats`: what was served (see `stats_body`);
- `POST clock {"advance_seconds": n}`: jump the virtual clock, applying every transition due;
- `POST faults {...}`: errors, latency, refused connections, token invalidation, broker drops,
  the publisher paused (`publish_paused`: the stream stalls, connections stay up);
- `POST vehicles/{vin} {"status", "reason"?, "brand"?, "tags"?, "data_error"?}`: force a state.
  A forced status stays, except `revoking`/`canceling`, which complete as usual. An unknown VIN
  is created when `brand` (a clearance brand id, docs/platform.md#brands) is given. `data_error`
  (`privacy`, `offline`, `unavailable`, `ok`) forces the Vehicle Data answer.
"""

from __future__ import annotations

import inspect
from typing import Any

from aiohttp import web

from hm_tui.domain.brands import BRANDS
from hm_tui.domain.clearance import STATUS_ORDER
from hm_tui.emulator.clock import iso
from hm_tui.emulator.context import CONTEXT, Context, error_response, json_response, read_json
from hm_tui.emulator.fates import Step, fate_rng, removal_delay
from hm_tui.emulator.faults import FaultSpecError
from hm_tui.emulator.state import Record
from hm_tui.emulator.vehicle_data import DATA_ERRORS

_FINAL = {"revoking": "revoked", "canceling": "canceled"}


def stats_body(ctx: Context) -> dict[str, Any]:
    """`{"tokens_issued", "requests", "responses", "mqtt_published", "applied", ...}`."""
    publisher = ctx.publisher
    return {
        "tokens_issued": ctx.tokens.issued,
        **ctx.stats.snapshot(),
        "mqtt_published": int(getattr(publisher, "published", 0) or 0),
        "clearances": ctx.state.counts(),
        "clearances_by_brand": ctx.state.counts_by_brand(),
        "rejected_by_reason": ctx.state.rejected_by_reason(),
        "clock": {"now": iso(ctx.clock.now()), "speed": ctx.clock.speed},
        "faults": ctx.faults.describe(),
    }


async def stats(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    ctx.now()
    return json_response(stats_body(ctx))


async def _body(request: web.Request) -> dict[str, Any]:
    body = await read_json(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


async def clock(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        body = await _body(request)
        seconds = body.get("advance_seconds", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError("advance_seconds must be a non-negative number")
    except ValueError as exc:
        return error_response(400, "Bad request", str(exc))
    now = ctx.clock.advance(seconds)
    applied = ctx.state.tick(now)
    return json_response({"now": iso(now), "applied": applied})


async def faults(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        body = await _body(request)
        ctx.faults.configure(body)
    except (ValueError, FaultSpecError) as exc:
        return error_response(400, "Bad request", str(exc))
    if body.get("invalidate_tokens"):
        ctx.tokens.invalidate()
    dropped = False
    if body.get("broker_disconnect"):
        dropped = await _drop_broker_clients(ctx)
    return json_response(
        {
            "faults": ctx.faults.describe(),
            "tokens_invalidated": bool(body.get("invalidate_tokens")),
            "broker_disconnected": dropped,
        }
    )


async def _drop_broker_clients(ctx: Context) -> bool:
    drop = getattr(ctx.broker, "drop_clients", None)
    if drop is None:
        return False
    result = drop()
    if inspect.isawaitable(result):
        await result
    return True


async def force_vehicle(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    vin = request.match_info["vin"].upper()
    try:
        body = await _body(request)
        record = _forced(ctx, vin, body)
    except ValueError as exc:
        return error_response(400, "Bad request", str(exc))
    except KeyError:
        return error_response(404, "Not found", "Vehicle not found (give a brand to create it)")
    return web.Response(body=record.encoded(), content_type="application/json")


def _forced(ctx: Context, vin: str, body: dict[str, Any]) -> Record:
    status, reason = body.get("status"), body.get("reason")
    data_error = body.get("data_error")
    if status is not None and status not in STATUS_ORDER:
        raise ValueError(f"status must be one of {', '.join(STATUS_ORDER)}")
    if reason is not None and not isinstance(reason, str):
        raise ValueError("reason must be a string")
    if data_error is not None and data_error not in (*DATA_ERRORS, "ok"):
        raise ValueError(f"data_error must be one of {', '.join((*DATA_ERRORS, 'ok'))}")
    now = ctx.now()
    if vin not in ctx.state.clearances:
        _create(ctx, vin, body, now)
    record = ctx.state.clearances[vin]
    if isinstance(body.get("tags"), dict):
        record.tags = {str(k): str(v) for k, v in body["tags"].items()}
        ctx.state.touch(record)
    if data_error is not None:
        record.data_error = data_error
        ctx.state.touch(record)
    if status is not None:
        ctx.state.force(vin, status, reason, now)
        if status in _FINAL:
            rng = fate_rng(ctx.seed, vin + status, record.attempts)
            ctx.state.schedule(record, now, [Step(removal_delay(rng), _FINAL[status])])
    return record


def _create(ctx: Context, vin: str, body: dict[str, Any], now: float) -> None:
    brand = body.get("brand")
    if brand is None:
        raise KeyError(vin)
    if not isinstance(brand, str) or brand not in BRANDS:
        raise ValueError(f"unknown brand {brand!r}: the brand ids are {', '.join(BRANDS)}")
    if len(vin) != 17:
        raise ValueError("vin should be 17 character(s)")
    record = Record(vin, brand, {}, [(now, "pending", None)], now)
    ctx.state.insert(record, ())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_emulator/stats", stats)
    app.router.add_post("/_emulator/clock", clock)
    app.router.add_post("/_emulator/faults", faults)
    app.router.add_post("/_emulator/vehicles/{vin}", force_vehicle)
