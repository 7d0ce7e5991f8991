"""`hm-tui vins add` and `hm-tui vins revoke`: the headless actions that change clearances.

Input is checked before anything is sent; each item's outcome is printed (stdout: what happened,
stderr: what went wrong); the exit code is 1 if any item failed, 2 for unusable input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hm_tui.cli import output as out
from hm_tui.cli.connect import run_with_client
from hm_tui.cli.main import UsageError
from hm_tui.cli.vins_cmd import checked_vin, parse_tag_args, stdin_is_tty
from hm_tui.cli.vins_csv import CsvInputError, CsvRows, check_row, read_csv_file
from hm_tui.domain.removal import RemovalKind, explain_refusal, plan_removal
from hm_tui.service.errors import Conflict, PlatformError, Unprocessable

if TYPE_CHECKING:
    from hm_tui.service.client import PlatformClient
    from hm_tui.service.models import Clearance, ItemResult

PROGRESS_ABOVE = 200  # items; smaller batches finish before progress would be useful


def run(args: argparse.Namespace) -> int:
    if getattr(args, "read_only", False):
        raise UsageError("--read-only is set: adding and revoking clearances are disabled")
    return _add(args) if args.vins_action == "add" else _revoke(args)


# -- add -------------------------------------------------------------------------------------------
def _add(args: argparse.Namespace) -> int:
    rows = _rows_from_args(args)
    for warning in rows.warnings:
        out.warn(warning)
    for error in rows.errors:
        out.warn(f"{error} (not sent)")
    if not rows.items:
        out.warn("nothing to send: every row has an error")
        return 1

    async def work(client: PlatformClient) -> int:
        results = await client.add_clearances(rows.items, progress=_progress(len(rows.items)))
        failed = _report_added(results, rows)
        _journal("add", [r.vin for r in results], f"{len(results) - failed} added, "
                 f"{failed + len(rows.errors)} failed")
        return 1 if failed or rows.errors else 0

    return run_with_client(args, work)


def _rows_from_args(args: argparse.Namespace) -> CsvRows:
    tags = parse_tag_args(args.tag)
    if args.file:
        if args.vin or args.brand:
            raise UsageError("give either VIN --brand B, or --file F.csv (brands come from the "
                             "file), not both")
        try:
            return read_csv_file(Path(args.file).expanduser(), tags)
        except CsvInputError as exc:
            raise UsageError(out.clean(str(exc))) from None
    if not args.vin:
        raise UsageError("give a VIN and --brand, or --file F.csv")
    if not args.brand:
        raise UsageError("--brand is required with a VIN (e.g. --brand bmw)")
    item, errors, warnings = check_row(args.vin, args.brand, tags)
    if errors or item is None:
        raise UsageError(out.clean(" ".join(errors)))
    return CsvRows(items=[item], warnings=warnings)


def _progress(total: int):  # type: ignore[no-untyped-def]
    if total <= PROGRESS_ABOVE or not sys.stderr.isatty():
        return None

    def show(done: int, _total: int) -> None:
        print(f"\rsent {done}/{total}", end="" if done < total else "\n", file=sys.stderr,
              flush=True)

    return show


def _report_added(results: list[ItemResult], rows: CsvRows) -> int:
    failed = 0
    for result in results:
        where = f"line {rows.lines[result.vin]}: " if result.vin in rows.lines else ""
        if result.ok:
            out.say(f"{out.clean(result.vin)}  {out.clean(result.status)}")
        else:
            failed += 1
            out.warn(f"{where}{out.clean(result.vin)}: not added: "
                     f"{out.clean(result.description or 'no reason given')}")
    out.warn(f"{len(results) - failed} added or already present, {failed} failed"
             + (f", {len(rows.errors)} row(s) not sent" if rows.errors else ""))
    return failed


# -- revoke ----------------------------------------------------------------------------------------
def _revoke(args: argparse.Namespace) -> int:
    vins = list(dict.fromkeys(checked_vin(v) for v in args.vins))
    if not args.yes and not stdin_is_tty():
        raise UsageError("not asking for confirmation on a non-terminal: pass --yes to revoke "
                         "or cancel without asking")

    async def work(client: PlatformClient) -> int:
        found = await _current(client, vins)
        missing = [v for v in vins if v not in found]
        for vin in missing:
            out.warn(f"{vin}: has no clearance in this fleet")
        targets = [v for v in vins if v in found]
        if not targets:
            return 1
        if not args.yes and not await _confirm(client, [found[v] for v in targets]):
            out.warn("nothing changed")
            return 1
        outcomes = await asyncio.gather(*(_remove_one(client, v) for v in targets))
        _journal("remove", targets, f"{sum(outcomes)} of {len(targets)} done")
        return 0 if all(outcomes) and not missing else 1

    return run_with_client(args, work)


async def _current(client: PlatformClient, vins: list[str]) -> dict[str, Clearance]:
    query = {"vin": {"operator": "in", "value": vins}}
    wanted = set(vins)
    return {c.vin: c for c in await client.list_clearances(query) if c.vin in wanted}


async def _confirm(client: PlatformClient, clearances: list[Clearance]) -> bool:
    profile = client.profile
    where = "PRODUCTION (live): real cars stop sending data" if profile.environment == "live" \
        else profile.environment
    lines = [f"About to change {len(clearances)} clearance(s) in profile "
             f"{out.clean(profile.name)!r}, {where}:"]
    now = datetime.now(UTC)
    for c in clearances:
        plan = plan_removal(c.brand, c.status, None, now)  # the platform has the final word
        verb = plan.kind.value if plan.kind is not RemovalKind.IMPOSSIBLE else "refused?"
        lines.append(f"  {verb:<9} {out.clean(c.vin)}  {out.clean(c.brand)}, "
                     f"{out.clean(c.status)}: {plan.why}")
    print("\n".join(lines), file=sys.stderr, flush=True)
    answer = await asyncio.to_thread(input, "Proceed? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


async def _remove_one(client: PlatformClient, vin: str) -> bool:
    try:
        result = await client.remove_clearance(vin)
    except (Conflict, Unprocessable) as exc:
        why = explain_refusal(exc.detail) or exc.detail or exc.title
        out.warn(f"{vin}: refused: {out.clean(why)}")
        return False
    except PlatformError as exc:
        out.warn(f"{vin}: failed: {out.clean(str(exc))}")
        return False
    action = "canceling" if result.status == "canceling" else result.status
    out.say(f"{out.clean(result.vin)}  {out.clean(action)}")
    return True


def _journal(action: str, vins: list[str], result: str) -> None:
    """Record the action in the local journal (service/store.py), when that store exists."""
    try:
        from hm_tui.service.store import Store  # type: ignore[import-not-found]
    except ImportError:
        return
    try:
        store = Store.open_default()  # type: ignore[attr-defined]
        try:
            store.journal.record(action, vins, result)
        finally:
            store.close()
    except Exception as exc:  # the journal must never turn a done action into a failure
        out.warn(f"could not write the journal: {exc}")
