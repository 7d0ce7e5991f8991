"""`hm-tui vins journal` and `hm-tui vins resume`: what earlier actions did, and finishing one that
was interrupted (the process killed mid bulk-add, the terminal closed mid revoke).

Every other `vins` command starts with `warn_unfinished`: one warning on stderr naming the
interrupted action and the exact command that resumes it. Resuming sends only the VINs the
journal holds no answer for, through the same code path as `vins add` / `vins revoke`, journaled
into the same action, which is finished once every VIN has its answer.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from hm_tui.cli import output as out
from hm_tui.cli.connect import resolve_profile, run_with_client
from hm_tui.cli.main import OperationError, UsageError, common_options
from hm_tui.cli.vins_cmd import stdin_is_tty
from hm_tui.service.models import NO_ANSWER, NOT_SENT

if TYPE_CHECKING:
    from hm_tui.service.models import NewClearance
    from hm_tui.service.platform.client import PlatformClient
    from hm_tui.service.store.db import JournalEntry, Store

DEFAULT_LIMIT = 20
T = TypeVar("T")
SHOWN_VINS = 5  # VINs named when asking whether to resume
ACTION_WORDS = {"add": "add", "remove": "cancel/revoke"}


def add_parsers(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    journal = actions.add_parser(
        "journal",
        help="recent actions with per-VIN outcomes; interrupted ones marked",
        parents=[common_options()],
    )
    journal.add_argument("--json", action="store_true", help="JSON instead of a table")
    journal.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"the N latest actions (default {DEFAULT_LIMIT})",
    )
    resume = actions.add_parser(
        "resume",
        help="send the VINs an interrupted add or revoke never got to",
        parents=[common_options()],
    )
    resume.add_argument(
        "id",
        nargs="?",
        type=int,
        metavar="ID",
        help="the action (see `vins journal`; default: the latest interrupted)",
    )
    resume.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    resume.add_argument(
        "--dismiss",
        action="store_true",
        help="send nothing: mark the action abandoned so it is not offered again",
    )


def run(args: argparse.Namespace) -> int:
    return _journal(args) if args.vins_action == "journal" else _resume(args)


# -- the warning every other `vins` command starts with ----------------------------------------
def warn_unfinished(args: argparse.Namespace) -> None:
    """One warning on stderr if the profile's journal holds an interrupted action."""
    try:
        name = resolve_profile(args).name
        store = open_store(name)
        if store is None:
            return
        try:
            unfinished = store.journal.unfinished()
        finally:
            store.close()
    except Exception:  # a warning must never stop the command it precedes
        return
    if unfinished:
        out.warn(interrupted_text(unfinished, name))


def interrupted_text(unfinished: list[JournalEntry], profile: str) -> str:
    latest = unfinished[-1]
    more = len(unfinished) - 1
    lines = [
        f"warning: {describe(latest)} was interrupted: {progress_text(latest)}.",
        f"  Resume it (sends only the {len(latest.not_done)} not done): "
        f"{resume_command(profile, latest.id)}",
        f"  Or drop it: {resume_command(profile, latest.id)} --dismiss",
    ]
    if more:
        lines.append(
            f"  {more} more interrupted action(s): hm-tui --profile {profile} vins journal"
        )
    return "\n".join(lines)


def describe(entry: JournalEntry) -> str:
    """`add of 2000 VINs (action 3, started 2025-01-01 12:00:00 UTC from the CLI)`."""
    via = entry.params.get("via")
    by = " from the CLI" if via == "cli" else " from the dashboard" if not via else ""
    return (
        f"{ACTION_WORDS.get(entry.action, out.shown(entry.action))} of {len(entry.vins)} "
        f"VIN(s) (action {entry.id}, started {out.timestamp(entry.started_at)}{by})"
    )


def progress_text(entry: JournalEntry) -> str:
    return f"{len(entry.vins) - len(entry.not_done)} done, {len(entry.not_done)} not done"


def resume_command(profile: str, action_id: int) -> str:
    return f"hm-tui --profile {out.shown(profile)} vins resume {action_id}"


def open_store(profile: str) -> Store | None:
    """The profile's store, or None when it has none yet (nothing was ever journaled)."""
    from hm_tui.service.store.db import Store, default_path

    path = default_path(profile)
    return Store(path) if os.path.lexists(path) else None  # (a dangling link: refused)


# -- vins journal ------------------------------------------------------------------------------
def _journal(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError("--limit needs a positive number of actions")
    profile = resolve_profile(args).name
    entries, unfinished = _read(
        profile, lambda store: (store.journal.entries(args.limit), store.journal.unfinished())
    )
    if args.json:
        out.write_json([_entry_json(e, profile) for e in entries])
        return 0
    if not entries:
        out.say(f"the journal of profile {out.shown(profile)!r} is empty")
        return 0
    out.table(
        ["id", "action", "started", "by", "vins", "outcomes", "state"],
        (
            [
                e.id,
                e.action,
                out.timestamp(e.started_at),
                e.params.get("via") or "dashboard",
                len(e.vins),
                _outcomes_text(e),
                _state_text(e),
            ]
            for e in entries
        ),
        shrink=("outcomes", "action"),
    )
    if unfinished:
        out.warn(interrupted_text(unfinished, profile))
    return 0


def _read(profile: str, query: Callable[[Store], T]) -> T:
    """`query(store)` on the profile's store (an absent store reads as an empty journal)."""
    import sqlite3

    from hm_tui.service.store.health import JournalUnavailable, diagnose

    try:
        store = open_store(profile)
        if store is None:
            from hm_tui.service.store.db import Store

            store = Store.memory()
        try:
            return query(store)
        finally:
            store.close()
    except (sqlite3.Error, OSError, JournalUnavailable) as exc:
        from hm_tui.service.store.db import default_path

        problem = getattr(exc, "problem", None) or diagnose(default_path(profile), exc)
        raise OperationError(f"could not use the journal: {out.shown(str(problem))}") from None


def _outcomes_text(entry: JournalEntry) -> str:
    return ", ".join(f"{out.shown(result)} {n}" for result, n in entry.outcomes.items()) or "-"


def _state_text(entry: JournalEntry) -> str:
    """`finished`, `stopped` (some VINs not sent or unanswered: see outcomes) or INTERRUPTED;
    when it finished is in --json."""
    if entry.finished:
        stopped = any(r in entry.outcomes for r in (NOT_SENT, NO_ANSWER))
        return "stopped" if stopped else "finished"
    return f"INTERRUPTED: {len(entry.not_done)} not done"


def _entry_json(entry: JournalEntry, profile: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": entry.id,
        "action": entry.action,
        "via": entry.params.get("via") or "dashboard",
        "started_at": entry.started_at,
        "finished_at": entry.finished_at,
        "unfinished": not entry.finished,
        "vins": len(entry.vins),
        "outcomes": entry.outcomes,
        "not_done": len(entry.not_done),
    }
    if not entry.finished:
        data["not_done_vins"] = entry.not_done
        data["resume"] = resume_command(profile, entry.id)
    return data


# -- vins resume -------------------------------------------------------------------------------
def _resume(args: argparse.Namespace) -> int:
    if getattr(args, "read_only", False):
        raise UsageError(
            "--read-only is set: resuming is disabled (`hm-tui vins journal` shows what was done)"
        )
    profile = resolve_profile(args).name
    entry = _entry_to_resume(profile, args.id)
    if args.dismiss:
        _read(profile, lambda store: store.journal.abandon(entry.id))
        out.say(
            f"action {entry.id} dismissed: {len(entry.not_done)} VIN(s) never sent are "
            "marked abandoned; it is no longer offered"
        )
        return 0
    if not entry.not_done:
        _read(profile, lambda store: store.journal.finish(entry.id))
        out.say(
            f"action {entry.id}: every VIN was answered before the interruption; marked finished"
        )
        return 0
    if not args.yes and not stdin_is_tty():
        raise UsageError(
            "not asking for confirmation on a non-terminal: pass --yes to resume without asking"
        )
    if entry.action not in ("add", "remove"):
        raise OperationError(f"cannot resume a {out.shown(entry.action)!r} action")
    code = _resume_add(args, entry) if entry.action == "add" else _resume_removal(args, entry)
    if _read(
        profile,
        lambda store: store.query("SELECT finished_at FROM actions WHERE id = ?", (entry.id,)),
    )[0][0]:
        out.warn(f"action {entry.id} resumed: every VIN has its answer in the journal")
    return code


def _entry_to_resume(profile: str, action_id: int | None) -> JournalEntry:
    unfinished, known = _read(
        profile,
        lambda store: (
            store.journal.unfinished(),
            action_id is not None
            and bool(store.query("SELECT 1 FROM actions WHERE id = ?", (action_id,))),
        ),
    )
    if action_id is None:
        if not unfinished:
            raise OperationError(
                f"nothing to resume: no interrupted action in the journal of "
                f"profile {out.shown(profile)!r}"
            )
        return unfinished[-1]
    entry = next((e for e in unfinished if e.id == action_id), None)
    if entry is not None:
        return entry
    if not known:
        raise UsageError(
            f"no action {action_id} in the journal of profile "
            f"{out.shown(profile)!r} (see `hm-tui vins journal`)"
        )
    raise OperationError(f"action {action_id} is finished: nothing to resume")


def _resume_add(args: argparse.Namespace, entry: JournalEntry) -> int:
    from hm_tui.cli.vins_actions import CliJournal, report_added, send_additions
    from hm_tui.service.files.csv_add import CsvRows

    items = _items_not_done(entry, resolve_profile(args).name)
    if not args.yes and not _confirm(entry, f"add {len(items)} clearance(s)"):
        out.warn("nothing sent")
        return 1

    async def work(client: PlatformClient) -> int:
        from hm_tui.service.add_run import settle_before_resending

        journal = CliJournal(client.profile.name, resuming=entry.id)
        journal.begin(entry.action, entry.vins, {})
        # a VIN whose answer died with the process may be on the platform already: not twice
        held, to_send = await settle_before_resending(client, items)
        journal.record_results(held)
        if held:
            out.warn(f"{len(held)} VIN(s) already on the platform: not sent again")
        results = held + await send_additions(client, to_send, journal)
        failed = report_added(results, CsvRows(items=items))
        return 1 if journal.report_lost() or failed else 0

    return run_with_client(args, work)


def _items_not_done(entry: JournalEntry, profile: str) -> list[NewClearance]:
    import msgspec

    from hm_tui.service.models import NewClearance

    left = set(entry.not_done)
    try:
        items = msgspec.convert(entry.params.get("items") or [], list[NewClearance])
    except msgspec.ValidationError:
        items = []
    items = [i for i in items if i.vin in left]
    if len(items) != len(left):
        command = resume_command(profile, entry.id)
        raise OperationError(
            f"action {entry.id} does not say which brand and tags its VINs "
            "had: add them again (e.g. `hm-tui vins add --file` with the "
            f"original file), then `{command} --dismiss`"
        )
    return items


def _resume_removal(args: argparse.Namespace, entry: JournalEntry) -> int:
    from hm_tui.cli.vins_actions import CliJournal, send_removals

    async def work(client: PlatformClient) -> int:
        journal = CliJournal(client.profile.name, resuming=entry.id)
        code = await send_removals(client, entry.not_done, journal, ask=not args.yes)
        return 1 if journal.report_lost() else code

    return run_with_client(args, work)


def _confirm(entry: JournalEntry, what: str) -> bool:
    shown = ", ".join(out.shown(v) for v in entry.not_done[:SHOWN_VINS])
    more = len(entry.not_done) - SHOWN_VINS
    out.say(
        f"{describe(entry)}: {progress_text(entry)}.\nAbout to {what}: {shown}"
        + (f" and {more} more" if more > 0 else ""),
        sys.stderr,
    )
    return input("Proceed? [y/N] ").strip().lower() in ("y", "yes")
