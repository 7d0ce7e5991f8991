"""`hm-tui vins show VIN` and `hm-tui vins data VIN`: one car's clearance, and its latest data.

Time in state counts on the platform's clock (service/platform/clock); data ages on ours, as the
dashboard's detail does (the car stamps its data; an emulator at --speed stamps it with the real
time while its clearances live on its fast clock); values read as
the dashboard shows them (domain/values: "85 %", "12 000 km"); a refused data pull is explained
in the operator's words with what to do (domain/data_errors), as on the detail screen.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hm_tui.cli import output as out
from hm_tui.cli.connect import run_with_client
from hm_tui.cli.main import OperationError
from hm_tui.cli.vins_cmd import checked_vin, clearance_json, typo_hint
from hm_tui.domain import values
from hm_tui.domain.brands import lookup
from hm_tui.domain.data_errors import NOT_IN_FLEET, explain_data_error
from hm_tui.domain.reasons import explain
from hm_tui.service.errors import NotFound, PlatformError
from hm_tui.service.platform.clock import platform_now
from hm_tui.service.redact import masked

if TYPE_CHECKING:
    from hm_tui.service.models import Clearance, DataPoint
    from hm_tui.service.platform.client import PlatformClient

LABEL = " " * 9  # `vins show` prints "label    text"; continuation lines start under the text
#: data refusals the platform documents (docs/platform.md#vehicle-data-pull)
EXPLAINED = (403, 408, 422)


# -- show -----------------------------------------------------------------------------------------
def show(args: argparse.Namespace) -> int:
    vin = checked_vin(args.vin)

    async def work(client: PlatformClient) -> int:
        clearance = await _get_or_explain(client, vin)
        if args.json:
            out.write_json(clearance_json(clearance))
            return 0
        now = platform_now(clearance.since, server=client.server_clock.now())
        for line in describe_clearance(clearance, now):
            out.say(line, indent=LABEL)
        return 0

    return run_with_client(args, work)


async def _get_or_explain(client: PlatformClient, vin: str) -> Clearance:
    try:
        return await client.get_clearance(vin)
    except NotFound:
        raise OperationError(
            f"{vin} has no clearance in this fleet (profile "
            f"{out.shown(client.profile.name)!r}){typo_hint(vin)}"
        ) from None


def describe_clearance(c: Clearance, now: datetime | None = None) -> list[str]:
    """`vins show`'s text; time in state counted to `now` (the platform's time)."""
    brand = lookup(c.brand)
    lines = [
        f"vin      {out.shown(c.vin)}",
        f"brand    {brand.name + ' (' + brand.id + ')' if brand else out.shown(c.brand)}",
        f"status   {out.shown(c.status)} for {out.age(c.since, now)} (since "
        f"{out.timestamp(c.since)})",
    ]
    reason = explain(c.reason)
    if reason is not None:
        lines.append(f"reason   {out.shown(c.reason)}")
        lines.append(f"{LABEL}{reason.meaning}")
        lines.append(f"{LABEL}What to do: {reason.action}")
    if c.tags:
        lines.append(f"tags     {out.tags_text(c.tags)}")
    lines.append("history")
    for entry in c.changelog:
        why = f"  ({out.shown(entry.reason)})" if entry.reason else ""
        lines.append(f"  {out.timestamp(entry.at)}  {out.shown(entry.status)}{why}")
    return lines


# -- data -----------------------------------------------------------------------------------------
def data(args: argparse.Namespace) -> int:
    vin = checked_vin(args.vin)

    async def work(client: PlatformClient) -> int:
        try:
            answer = await client.vehicle_data(vin)
        except PlatformError as exc:
            if exc.status not in EXPLAINED:
                raise
            raise OperationError(await _refusal(client, vin, exc)) from None
        if args.json:
            out.write_json(
                {
                    "vin": answer.vin,
                    "brand": answer.brand,
                    "request_id": answer.request_id,
                    "points": [point_json(p) for p in answer.points],
                }
            )
            return 0
        if not answer.points:
            out.say(f"{vin}: the platform has no data for this car yet")
        out.table(
            ["data point", "value", "age", "timestamp"],
            (
                [p.key, value_text(p), out.age(p.timestamp), out.timestamp(p.timestamp)]
                for p in answer.points
            ),
            shrink=("value", "data point"),
        )
        return 0

    return run_with_client(args, work)


async def _refusal(client: PlatformClient, vin: str, exc: PlatformError) -> str:
    """Why the platform gave no data, and what to do. Without consent, the clearance (one list
    call, not held to 60 a minute) tells whether the car is in this fleet at all."""
    detail = exc.detail or exc.title
    status: str | None = None
    if exc.status == 403 and "privacy" not in detail.lower():
        try:
            found = await client.list_clearances({"vin": {"operator": "eq", "value": vin}})
        except PlatformError:
            found = None  # unknown: explain without it
        if found is not None and not any(c.vin == vin for c in found):
            return (
                f"{vin}: {NOT_IN_FLEET} (profile {out.shown(client.profile.name)!r}): add "
                f"it with `hm-tui vins add {vin} --brand BRAND`{typo_hint(vin)}"
            )
        status = next((c.status for c in found or () if c.vin == vin), None)
    return f"{vin}: {explain_data_error(exc.status, detail, clearance_status=status)}"


def point_json(p: DataPoint) -> dict[str, Any]:
    """One data point as `vins data --json` and `feed --json` print it."""
    return {
        "vin": p.vin,
        "capability": p.capability,
        "property": p.property,
        "value": p.value,
        "unit": p.unit,
        "timestamp": p.timestamp.isoformat() if p.timestamp else None,
        "failure": p.failure,
    }


def value_text(p: DataPoint) -> str:
    """The value as the dashboard shows it, unit included ("85 %", "12 000 km")."""
    if p.failure:
        return f"failed: {out.shown(p.failure)}"
    value = masked(p.value)  # (before the value is formatted and cut: no part of a secret left)
    return out.shown(values.format_value(value, p.unit, capability=p.capability, prop=p.property))
