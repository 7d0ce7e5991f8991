"""`hm-tui vins check VIN... --brand B [--json]`: ask the platform's eligibility API about cars
before adding them (nothing is added): eligible or not, how it can deliver data, its
connectivity, and for VW Group brands whether a primary user is assigned.

Exit codes: 0 when every car is eligible, 1 when one is not or could not be checked, 2 bad input.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from hm_tui.cli import output as out
from hm_tui.cli.connect import run_with_client
from hm_tui.cli.main import common_options
from hm_tui.domain.brands import lookup

if TYPE_CHECKING:
    from hm_tui.service.models import Eligibility
    from hm_tui.service.platform.client import PlatformClient


def add_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = actions.add_parser(
        "check",
        help="eligibility of cars before adding them (eligible, data delivery, connectivity)",
        parents=[common_options()],
    )
    check.add_argument("vins", nargs="+", metavar="VIN")
    check.add_argument("--brand", required=True, help="brand id, e.g. bmw, volkswagen")
    check.add_argument("--json", action="store_true", help="JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from hm_tui.cli.vins_cmd import _brand_id, checked_vin

    vins = list(dict.fromkeys(checked_vin(v) for v in args.vins))
    brand = _brand_id(args.brand)

    async def work(client: PlatformClient) -> int:
        from hm_tui.service.eligibility_check import check_all

        checked = await check_all(client, [(vin, brand) for vin in vins])
        answers = [(a.vin, a.answer, a.error) for a in checked]
        _print(answers, brand, args.json)
        return 0 if all(a is not None and a.eligible for _v, a, _e in answers) else 1

    return run_with_client(args, work)


def _print(answers: list[tuple[str, Eligibility | None, str]], brand: str, as_json: bool) -> None:
    vw_group = (found := lookup(brand)) is not None and found.group == "VW Group"
    if as_json:
        out.write_json([_json(vin, answer, error) for vin, answer, error in answers])
        return
    headers = ["vin", "eligible", "data delivery", "connectivity"]
    headers += ["primary user"] if vw_group else []
    rows = []
    for vin, answer, error in answers:
        if answer is None:
            rows.append([vin, "?", "-", "-", *(["-"] if vw_group else [])])
            out.warn(f"{vin}: not checked: {out.shown(error)}")
            continue
        row = [
            vin,
            "yes" if answer.eligible else "no",
            ", ".join(answer.data_delivery) or "-",
            answer.connectivity_status or "unknown",
        ]
        if vw_group:
            row.append(_yes_no(answer.primary_user_assigned))
        rows.append(row)
    out.table(headers, rows, shrink=("data delivery",))
    for note in _notes(answers, vw_group):
        out.say(note)


def _notes(answers: list[tuple[str, Eligibility | None, str]], vw_group: bool) -> list[str]:
    checked = [a for _v, a, _e in answers if a is not None]
    notes = []
    if any(not a.eligible for a in checked):
        notes.append(
            "not eligible: the platform says the car cannot deliver data; adding it is "
            "likely to end in a rejection"
        )
    if any(a.connectivity_status == "deactivated" for a in checked):
        notes.append(
            "deactivated: the car's connectivity is off; its owner or the brand's "
            "connected services must turn it on"
        )
    if vw_group and any(a.primary_user_assigned for a in checked):
        notes.append(
            "primary user: a private user is enrolled in the car; VW Group rejects it "
            "('primary user enrolled') until that user is deregistered and the head unit reset"
        )
    return notes


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else "yes" if value else "no"


def _json(vin: str, answer: Eligibility | None, error: str) -> dict[str, Any]:
    if answer is None:
        return {"vin": vin, "checked": False, "error": out.shown(error)}
    return {
        "vin": vin,
        "checked": True,
        "eligible": answer.eligible,
        "data_delivery": list(answer.data_delivery),
        "connectivity_status": answer.connectivity_status,
        "primary_user_assigned": answer.primary_user_assigned,
    }
