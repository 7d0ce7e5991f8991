"""`hm-tui vins add` and `hm-tui vins revoke`: the headless actions that change clearances.

Input is checked before anything is sent; each item's outcome is printed (stdout: what happened,
stderr: what went wrong); the exit code is 1 if any item failed, 2 for unusable input.
Each action is journaled before it is sent and each answer as it arrives, and finished only when
every VIN has its answer: a killed command leaves it unfinished, and `vins resume` (vins_journal)
sends the rest through `send_additions` / `send_removals` here.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from hm_tui.cli import output as out
from hm_tui.cli.connect import run_with_client
from hm_tui.cli.main import OperationError, UsageError
from hm_tui.cli.vins_cmd import checked_vin, parse_tag_args, stdin_is_tty, typo_hint
from hm_tui.domain.removal import RemovalKind, plan_removal
from hm_tui.service.errors import Conflict, PlatformError, Unprocessable
from hm_tui.service.files.csv_add import CsvInputError, CsvRows, check_row, read_csv_file
from hm_tui.service.platform.clock import newest_change, platform_now
from hm_tui.service.platform.explain import explain_removal_failure

if TYPE_CHECKING:
    from hm_tui.service.models import Clearance, ItemResult, NewClearance
    from hm_tui.service.platform.client import PlatformClient

PROGRESS_ABOVE = 200  # items; smaller batches finish before progress would be useful
SHOWN_DIGIT_WARNINGS = 5  # check-digit warnings listed before the rest are summed up

log = logging.getLogger("hm_tui.cli")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "read_only", False):
        raise UsageError("--read-only is set: adding and revoking clearances are disabled")
    return _add(args) if args.vins_action == "add" else _revoke(args)


# -- add -------------------------------------------------------------------------------------------
def _add(args: argparse.Namespace) -> int:
    rows = _rows_from_args(args)
    report_warnings(rows, verbose=getattr(args, "verbose", False))
    for error in rows.errors:
        out.warn(f"{error} (not sent)")
    if not rows.items:
        out.warn("nothing to send: every row has an error")
        return 1

    async def work(client: PlatformClient) -> int:
        journal = CliJournal(client.profile.name, unjournaled_ok=args.no_journal)
        journal.begin("add", [i.vin for i in rows.items], add_params(rows.items, args.file))
        results = await send_additions(client, rows.items, journal)
        failed = report_added(results, rows)
        return 1 if journal.report_lost() or failed or rows.errors else 0

    return run_with_client(args, work)


def report_warnings(rows: CsvRows, *, verbose: bool) -> None:
    """Every warning, except that check-digit doubts (common in European VINs, so thousands in
    a large file) are summed up after the first few unless `verbose`."""
    digits = set(rows.digit_warnings)
    for warning in rows.warnings:
        if warning not in digits:
            out.warn(warning)
    shown = rows.digit_warnings if verbose else rows.digit_warnings[:SHOWN_DIGIT_WARNINGS]
    for warning in shown:
        out.warn(warning)
    more = len(rows.digit_warnings) - len(shown)
    if more:
        out.warn(
            f"… and {more} more row{'s' if more != 1 else ''} with a check-digit warning "
            "(use -v to list all)"
        )


def add_params(items: list[NewClearance], file: str | None) -> dict[str, Any]:
    """What the journal keeps of an add: every item (brand, tags), so it can be resumed."""
    params: dict[str, Any] = {"items": msgspec.to_builtins(items)}
    if file:
        params["file"] = file
    return params


async def send_additions(
    client: PlatformClient, items: list[NewClearance], journal: CliJournal
) -> list[ItemResult]:
    """Add `items`; each chunk's answers journaled as they arrive, the action finished last.
    Interrupted (^C), it says what was answered, what was not, and how to resume."""
    answered: dict[str, str] = {}

    def record(results: list[ItemResult]) -> None:
        answered.update((r.vin, r.status) for r in results)
        journal.record_results(results)

    try:
        results = await client.add_clearances(
            items, progress=_progress(len(items)), on_chunk=record
        )
        journal.finish()
    except asyncio.CancelledError:  # ^C: asyncio.run cancels the command, then 130
        journal.close()
        report_interrupted(len(items), answered, journal.action_id, client.profile.name, "add")
        raise
    finally:
        journal.close()
    return results


def report_interrupted(
    total: int, answered: dict[str, str], action_id: int | None, profile: str, what: str
) -> None:
    """What an interrupted add or removal did (stderr): answered by status, not answered, how to
    resume (`what`: the action's word in the journal, "add" or "cancel/revoke")."""
    from collections import Counter

    from hm_tui.cli.vins_journal import resume_command

    sys.stderr.write("\n")
    counts = Counter(answered.values())
    said = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"
    out.warn(
        f"interrupted: {len(answered)} of {total} VINs answered by the platform ({said}); "
        f"{total - len(answered)} without an answer (not sent, or sent and not answered: the "
        "platform may have taken some)"
    )
    if action_id is None:
        out.warn("not journaled (--no-journal): nothing to resume from; send the rest again")
    else:
        out.warn(
            f"the journal keeps {what} #{action_id} unfinished; resume it (only what has no "
            f"answer, read back first) with: {resume_command(profile, action_id)}"
        )


def _rows_from_args(args: argparse.Namespace) -> CsvRows:
    tags = parse_tag_args(args.tag)
    if args.file:
        if args.vin or args.brand or args.odometer:
            raise UsageError(
                "give either VIN --brand B [--odometer KM], or --file F.csv (brands "
                "and odometers come from the file), not both"
            )
        try:
            return read_csv_file(Path(args.file).expanduser(), tags)
        except CsvInputError as exc:
            raise UsageError(out.shown(str(exc))) from None
    if not args.vin:
        raise UsageError("give a VIN and --brand, or --file F.csv")
    if not args.brand:
        raise UsageError("--brand is required with a VIN (e.g. --brand bmw)")
    item, errors, warnings = check_row(args.vin, args.brand, tags, args.odometer or "")
    if errors or item is None:
        raise UsageError(out.shown(" ".join(errors)))
    return CsvRows(items=[item], warnings=warnings)


def _progress(total: int):  # type: ignore[no-untyped-def]
    if total <= PROGRESS_ABOVE or not sys.stderr.isatty():
        return None

    def show(done: int, _total: int) -> None:
        print(
            f"\rsent {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True
        )

    return show


def report_added(results: list[ItemResult], rows: CsvRows) -> int:
    failed = 0
    for result in results:
        where = f"line {rows.lines[result.vin]}: " if result.vin in rows.lines else ""
        if result.ok:
            out.say(f"{out.shown(result.vin)}  {out.shown(result.status)}")
        else:
            failed += 1
            out.warn(
                f"{where}{out.shown(result.vin)}: not added: "
                f"{out.shown(result.description or 'no reason given')}"
            )
    out.warn(
        f"{len(results) - failed} added or already present, {failed} failed"
        + (f", {len(rows.errors)} row(s) not sent" if rows.errors else "")
    )
    return failed


# -- revoke ----------------------------------------------------------------------------------------
def _revoke(args: argparse.Namespace) -> int:
    vins = list(dict.fromkeys(checked_vin(v) for v in args.vins))
    if not args.yes and not stdin_is_tty():
        raise UsageError(
            "not asking for confirmation on a non-terminal: pass --yes to revoke "
            "or cancel without asking"
        )

    async def work(client: PlatformClient) -> int:
        journal = CliJournal(client.profile.name, unjournaled_ok=args.no_journal)
        code = await send_removals(client, vins, journal, ask=not args.yes)
        return 1 if journal.report_lost() else code

    return run_with_client(args, work)


async def send_removals(
    client: PlatformClient, vins: list[str], journal: CliJournal, *, ask: bool
) -> int:
    """Cancel or revoke `vins` (after a confirmation if `ask`); each answer journaled as it
    arrives, the action finished last. The exit code: 0 if every VIN was removed."""
    found = await _current(client, vins)
    missing = [v for v in vins if v not in found]
    for vin in missing:
        out.warn(f"{vin}: has no clearance in this fleet{typo_hint(vin)}")
    now = platform_now(newest_change(found.values()), server=client.server_clock.now())
    refused = _known_refusals(found, now)
    for vin, why in refused.items():  # as the dashboard does: not sent, said why
        out.warn(f"{vin}: not sent: {out.shown(why)} (the platform would refuse it)")
    targets = [v for v in vins if v in found and v not in refused]
    if not targets:
        out.warn("nothing to send")
        journal.close()
        return 1
    if ask and not await _confirm(client, [found[v] for v in targets], now):
        out.warn("nothing changed")
        journal.close()
        return 1
    journal.begin("remove", vins, {})
    journal.results([(vin, "error", "has no clearance in this fleet") for vin in missing])
    journal.results([(vin, "refused", f"not sent: {why}") for vin, why in refused.items()])
    answered: dict[str, str] = {}
    try:
        outcomes = await asyncio.gather(
            *(_remove_one(client, v, journal, answered) for v in targets)
        )
        journal.finish()
    except asyncio.CancelledError:  # ^C: said as for an add, then 130
        journal.close()
        name = client.profile.name
        report_interrupted(len(targets), answered, journal.action_id, name, "cancel/revoke")
        raise
    finally:
        journal.close()
    return 0 if all(outcomes) and not missing and not refused else 1


def _known_refusals(found: dict[str, Clearance], now: datetime) -> dict[str, str]:
    """VIN -> why, for the clearances whose removal the platform is known to refuse now (its
    state, its brand, or too early: the rules the dashboard applies before sending)."""
    refused = {}
    for vin, c in found.items():
        plan = plan_removal(c.brand, c.status, c.created_at, now)
        if not plan.possible:
            refused[vin] = plan.why
    return refused


async def _current(client: PlatformClient, vins: list[str]) -> dict[str, Clearance]:
    """What the platform holds for `vins`: filtered list calls of `READ_BATCH` VINs each (all
    of them in one filter made a URL too long for the HTTP client past ~3,000 VINs)."""
    from hm_tui.service.add_run import READ_BATCH

    wanted, found = set(vins), {}
    for start in range(0, len(vins), READ_BATCH):
        query = {"vin": {"operator": "in", "value": vins[start : start + READ_BATCH]}}
        found.update({c.vin: c for c in await client.list_clearances(query) if c.vin in wanted})
    return found


async def _confirm(client: PlatformClient, clearances: list[Clearance], now: datetime) -> bool:
    profile = client.profile
    where = (
        "PRODUCTION (live): real cars stop sending data"
        if profile.environment == "live"
        else profile.environment
    )
    lines = [
        f"About to change {len(clearances)} clearance(s) in profile "
        f"{out.shown(profile.name)!r}, {where}:"
    ]
    for c in clearances:
        plan = plan_removal(c.brand, c.status, c.created_at, now)  # the platform has the final
        verb = plan.kind.value if plan.kind is not RemovalKind.IMPOSSIBLE else "refused?"  # word
        lines.append(
            f"  {verb:<9} {out.shown(c.vin)}  {out.shown(c.brand)}, "
            f"{out.shown(c.status)}: {plan.why}"
        )
    for line in lines:  # wrapped between words on a narrow terminal
        out.say(line, sys.stderr, indent=" " * 12)
    answer = await asyncio.to_thread(input, "Proceed? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


async def _remove_one(
    client: PlatformClient, vin: str, journal: CliJournal, answered: dict[str, str]
) -> bool:
    try:
        result = await client.remove_clearance(vin)
    except (Conflict, Unprocessable) as exc:
        why = explain_removal_failure(exc)
        journal.results([(vin, "refused", why)])
        answered[vin] = "refused"
        out.warn(f"{vin}: refused: {out.shown(why)}")
        return False
    except PlatformError as exc:
        why = explain_removal_failure(exc)
        journal.results([(vin, "error", why)])
        answered[vin] = "error"
        out.warn(f"{vin}: failed: {out.shown(why)}")
        return False
    journal.results([(vin, result.status, "")])
    answered[vin] = result.status
    out.say(f"{out.shown(result.vin)}  {out.shown(result.status)}")
    return True


class CliJournal:
    """The profile's journal (the dashboard shows it): begun before sending, a result per VIN
    as answers arrive, finished when every VIN has one. `resuming=ID` continues that unfinished
    action instead of beginning a new one (`vins resume`).

    No action is sent unjournaled: a journal that cannot be opened or begun (corrupt, locked,
    read-only, disk full) stops the command before anything is sent, with what is wrong with
    which file and how to fix it, unless `unjournaled_ok` (`--no-journal`): then it says so and
    the action goes ahead. A write that fails once sending has begun cannot unsend anything: it
    is reported at once, the results are still printed, and `lost` makes the exit code 1.
    """

    def __init__(
        self, profile_name: str, *, resuming: int | None = None, unjournaled_ok: bool = False
    ) -> None:
        self._profile = profile_name
        self._store: Any = None
        self._resuming = resuming
        self._unjournaled_ok = unjournaled_ok
        self._action_id: int | None = None
        self.lost: str | None = None  # why writes stopped once sending had begun

    def begin(self, action: str, vins: list[str], params: dict[str, Any]) -> None:
        """Open the journal and record the action; `OperationError` (nothing sent) if it
        cannot, unless unjournaled sending was allowed."""
        from hm_tui.service.store.db import Store, default_path
        from hm_tui.service.store.health import JournalUnavailable, diagnose

        path = default_path(self._profile)
        try:
            self._store = Store(path)
            if self._resuming is not None:
                self._action_id = self._resuming
                return
            self._action_id = self._store.journal.begin(action, vins, {"via": "cli", **params})
        except (JournalUnavailable, sqlite3.Error, OSError) as error:
            problem = getattr(error, "problem", None) or diagnose(path, error)
            self.close()
            if not self._unjournaled_ok:
                raise OperationError(
                    f"nothing sent: {problem}. To send without the journal anyway (an "
                    "interrupted run then cannot be resumed), add --no-journal"
                ) from None
            out.warn(f"--no-journal: not journaled: {problem}")

    @property
    def action_id(self) -> int | None:
        """The journal's id of this action (None: not journaled)."""
        return self._action_id

    def results(self, items: list[tuple[str, str, str]]) -> None:
        if self._action_id is not None and items:
            self._safely(lambda: self._store.journal.record_items(self._action_id, items))

    def record_results(self, results: list[ItemResult]) -> None:
        """One chunk's answers, written at once (one transaction)."""
        self.results([(r.vin, r.status, r.description or "") for r in results])

    def finish(self) -> None:
        if self._action_id is not None:
            self._safely(lambda: self._store.journal.finish(self._action_id))

    def close(self) -> None:
        if self._store is not None:
            store, self._store = self._store, None
            try:
                store.close()
            except Exception as exc:  # what was journaled is on disk; closing is best effort
                log.debug("closing the journal failed: %s", type(exc).__name__, exc_info=True)

    def report_lost(self) -> bool:
        """Say, last, that the journal stopped taking writes mid-way (True: it did)."""
        if self.lost is None:
            return False
        out.warn(
            f"the journal stopped taking writes once sending had begun: {self.lost}. The "
            "results above are the only record of this run"
        )
        return True

    def _safely(self, step: Callable[[], None]) -> None:
        if self.lost is not None:
            return
        try:
            step()
        except Exception as exc:  # JournalUnavailable, sqlite3: what was sent has happened
            self.lost = out.shown(str(exc))
            out.warn(f"could not write the journal: {self.lost}")
