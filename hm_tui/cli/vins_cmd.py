"""`hm-tui vins list|show|add|revoke|data|export`: clearances from a script or a shell.

Exit codes: 0 ok, 1 the operation failed (or some items did), 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hm_tui.cli import output as out
from hm_tui.cli.connect import run_with_client
from hm_tui.cli.main import UsageError, common_options
from hm_tui.domain.brands import lookup
from hm_tui.domain.clearance import STATUS_ORDER
from hm_tui.domain.filters import Filter, parse_filter, record
from hm_tui.domain.vin import check_vin
from hm_tui.service.errors import PlatformError
from hm_tui.service.files import csv_export
from hm_tui.service.platform.clock import newest_change, platform_now

if TYPE_CHECKING:
    from hm_tui.service.models import Clearance
    from hm_tui.service.platform.client import PlatformClient

EPILOG = """\
examples:
  hm-tui vins list --status pending,rejected
  hm-tui vins list --brand bmw --tag fleet=north --csv > north.csv
  hm-tui vins list --status pending --watch 30
  hm-tui vins list --filter 'status:rejected reason:"tag missing" tag:fleet=north'
  hm-tui vins show WBA3A5C53CF256985
  hm-tui vins add WBA3A5C53CF256985 --brand bmw --tag fleet=north
  hm-tui vins add 2HM00000000000001 --brand sandbox --odometer 2050
  hm-tui vins add --file cars.csv          # header: vin,brand[,odometer][,tag:<key>...]
  hm-tui vins revoke WBA3A5C53CF256985 WBA3A5C55CF256986 --yes
  hm-tui vins data WBA3A5C53CF256985 --json
  hm-tui vins export --csv > fleet.csv
  hm-tui vins summary --filter tag:fleet=north   # brand x status, rejections, approval times
  hm-tui vins check WVWZZZ1KZ6W000001 --brand volkswagen   # eligibility before adding
  hm-tui vins journal                      # recent actions; interrupted ones marked
  hm-tui vins resume --yes                 # send what the latest interrupted action did not
"""


NO_JOURNAL_HELP = (
    "send even if the journal cannot be written (then an interrupted run cannot be resumed); "
    "without it such a run sends nothing"
)


#: `--watch`: at most ten lists a second (`nan` and `1e-300` were taken, and listed the whole
#: fleet ~90 times a second, each call billed), at least one a day (`inf` slept for ever).
WATCH_MIN_S, WATCH_MAX_S = 0.1, 86_400.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    vins = sub.add_parser(
        "vins",
        help="list, add, revoke clearances; read vehicle data",
        parents=[common_options()],
        description="Fleet clearances from the command line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = vins.add_subparsers(dest="vins_action", metavar="ACTION")
    _add_list_parser(actions)
    show = actions.add_parser(
        "show", help="one clearance, its reason and history", parents=[common_options()]
    )
    show.add_argument("vin")
    show.add_argument("--json", action="store_true", help="JSON instead of text")
    add = actions.add_parser(
        "add", help="add clearances: one VIN, or a CSV file", parents=[common_options()]
    )
    add.add_argument("vin", nargs="?", help="the VIN to add (or use --file)")
    add.add_argument("--brand", help="brand id, e.g. bmw, mercedes-benz, volkswagen")
    add.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="tag to set (repeatable; with --file, added to every row)",
    )
    add.add_argument(
        "--odometer",
        metavar="KM",
        help="the car's odometer as a control measure: whole kilometers (2050) or "
        "miles (1274mi); the sandbox VIN 2HM00000000000001 needs 2050",
    )
    add.add_argument(
        "--file", metavar="F.csv", help="CSV with header vin,brand[,odometer][,tag:<key>...]"
    )
    add.add_argument("--no-journal", action="store_true", help=NO_JOURNAL_HELP)
    revoke = actions.add_parser(
        "revoke",
        help="revoke (approved) or cancel (pending) clearances",
        parents=[common_options()],
    )
    revoke.add_argument("vins", nargs="+", metavar="VIN")
    revoke.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    revoke.add_argument("--no-journal", action="store_true", help=NO_JOURNAL_HELP)
    data = actions.add_parser(
        "data", help="the car's latest data (Vehicle Data API)", parents=[common_options()]
    )
    data.add_argument("vin")
    data.add_argument("--json", action="store_true", help="JSON instead of a table")
    export = actions.add_parser(
        "export", help="every clearance, as CSV (default) or JSON", parents=[common_options()]
    )
    add_filter_option(export)
    fmt = export.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV (the default)")
    fmt.add_argument("--json", action="store_true", help="JSON with the full history")
    from hm_tui.cli import vins_check, vins_journal, vins_summary

    vins_journal.add_parsers(actions)
    vins_summary.add_parser(actions)
    vins_check.add_parser(actions)


def _add_list_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lst = actions.add_parser(
        "list", help="clearances, optionally filtered", parents=[common_options()]
    )
    lst.add_argument(
        "--status",
        action="append",
        default=[],
        metavar="S[,S...]",
        help="only these statuses: " + ", ".join(STATUS_ORDER),
    )
    lst.add_argument(
        "--brand", action="append", default=[], metavar="B[,B...]", help="only these brands"
    )
    lst.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only clearances with this tag (repeatable: all must match)",
    )
    add_filter_option(lst)
    fmt = lst.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON array")
    fmt.add_argument("--csv", action="store_true", help="CSV with a header")
    lst.add_argument(
        "--watch", type=float, metavar="SECONDS", help="repeat every SECONDS until interrupted"
    )


@out.pipe_safe
def run(args: argparse.Namespace) -> int:
    action = getattr(args, "vins_action", None)
    from hm_tui.cli import vins_journal

    if action in ("journal", "resume"):
        return vins_journal.run(args)
    if action in ("summary", "check"):
        from hm_tui.cli import vins_check, vins_summary

        vins_journal.warn_unfinished(args)
        if action == "summary":
            return vins_summary.run(args)
        return vins_check.run(args)
    from hm_tui.cli import vins_show

    handlers = {"list": _list, "show": vins_show.show, "data": vins_show.data, "export": _export}
    if action not in handlers and action not in ("add", "revoke"):
        raise UsageError(
            "vins needs an action: list, show, add, revoke, data, export, summary, check, "
            "journal or resume (see hm-tui vins --help)"
        )
    vins_journal.warn_unfinished(args)
    if action in ("add", "revoke"):
        from hm_tui.cli import vins_actions

        return vins_actions.run(args)
    return handlers[action](args)


# -- list and export ------------------------------------------------------------------------------
def _list(args: argparse.Namespace) -> int:
    statuses = _split_choices(args.status, "status", STATUS_ORDER)
    brands = [_brand_id(b) for b in _split(args.brand)]
    tags = parse_tag_args(args.tag)
    if args.watch is not None and not WATCH_MIN_S <= args.watch <= WATCH_MAX_S:  # (nan too)
        raise UsageError(
            f"--watch needs a number of seconds from {WATCH_MIN_S:g} to {WATCH_MAX_S:,.0f}, "
            f"not {args.watch:g}"
        )
    fmt = "json" if args.json else "csv" if args.csv else "table"
    flt = read_filter(args.filter)
    query = _platform_filter(statuses or _filter_statuses(flt), brands)

    def matches(c: Clearance, now: datetime) -> bool:  # applied locally too: filters are never
        return (  # trusted blindly
            (not statuses or c.status in statuses)
            and (not brands or c.brand in brands)
            and all(c.tags.get(k) == v for k, v in tags.items())
            and matches_filter(flt, c, now)
        )

    async def once(client: PlatformClient) -> int:
        if fmt == "table":
            fetched = await client.list_clearances(query)
            now = platform_now(newest_change(fetched), server=client.server_clock.now())
            shown = sorted((c for c in fetched if matches(c, now)), key=lambda c: c.vin)
            print_clearances(shown, fmt, watching=args.watch is not None, now=now)
        else:
            plain = not (statuses or brands or tags or flt)
            await stream_clearances(
                client,
                query,
                matches,
                fmt,
                plain=plain,
                full=False,
                timed=flt.timed,
                watching=args.watch is not None,
            )
        if client.bad_items:
            out.warn(f"{client.bad_items} clearance(s) in the answer could not be read")
        return 0

    if args.watch is None:
        return run_with_client(args, once)
    return _watch(args, once)


def _watch(args: argparse.Namespace, once: Any) -> int:
    async def loop(client: PlatformClient) -> int:
        while True:
            try:
                await once(client)
            except PlatformError as exc:  # a long-running watch reports and carries on
                out.warn(f"{exc} (retrying in {args.watch:g} s)")
            await asyncio.sleep(args.watch)

    try:
        return run_with_client(args, loop)
    except KeyboardInterrupt:
        return 0


def _export(args: argparse.Namespace) -> int:
    flt = read_filter(args.filter)

    async def work(client: PlatformClient) -> int:
        query = _platform_filter(_filter_statuses(flt), [])
        fmt = "json" if args.json else "csv"
        await stream_clearances(
            client,
            query,
            lambda c, now: matches_filter(flt, c, now),
            fmt,
            plain=not flt,
            full=True,
            timed=flt.timed,
        )
        return 0

    return run_with_client(args, work)


async def stream_clearances(
    client: PlatformClient,
    query: dict[str, Any] | None,
    matches: Callable[[Clearance, datetime], bool],
    fmt: str,
    *,
    plain: bool,
    full: bool,
    timed: bool,
    watching: bool = False,
) -> None:
    """The list as JSON or CSV, written from its wire form (`list_stream`): the clearances that
    pass `matches` (`plain`: every one does), in VIN order. `timed`: the filter reads time in
    state, which counts on the platform's clock (the newest change in the list, first)."""
    from hm_tui import collector
    from hm_tui.cli import list_stream

    with collector.paused():  # (a fleet's objects, none in a cycle: nothing to collect)
        wire = await client.fetch_clearances(query)
        items = wire.items
        keep: list_stream.Keep | None = None
        if not plain:
            newest = list_stream.newest_change(items) if timed else None
            now = platform_now(newest, server=client.server_clock.now())
            keep = functools.partial(_swapped, matches, now)
        selected = list_stream.select(items, keep, tag_keys=fmt == "csv", body=wire.body)
        chunks = list_stream.in_order(items, selected.positions, selected)
        if fmt == "json":
            list_stream.write_json(chunks, full=full, pretty=not watching)
        else:
            list_stream.write_csv(chunks, selected.tag_keys)
        client.count_bad(selected.bad)


def _swapped(matches: Callable[[Clearance, datetime], bool], now: datetime, c: Clearance) -> bool:
    return matches(c, now)


def print_clearances(
    clearances: list[Clearance],
    fmt: str,
    *,
    watching: bool = False,
    full: bool = False,
    now: datetime | None = None,
) -> None:
    if fmt == "json":  # an item at a time: a fleet's dicts are never all built at once
        out.write_json_array(
            (clearance_json(c, full=full) for c in clearances), pretty=not watching
        )
        return
    if fmt == "csv":
        csv_export.write_clearances(sys.stdout, clearances)
        sys.stdout.flush()
        return
    if watching:
        out.say(f"# {datetime.now().strftime('%H:%M:%S')}: {len(clearances)} clearance(s)")
    out.table(
        ["vin", "brand", "status", "in state", "reason", "tags"],
        (
            [c.vin, c.brand, c.status, out.age(c.since, now), c.reason or "", out.tags_text(c.tags)]
            for c in clearances
        ),
        shrink=("reason", "tags"),
    )


def clearance_json(c: Clearance, *, full: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "vin": c.vin,
        "brand": c.brand,
        "status": c.status,
        "reason": c.reason,
        "since": csv_export.iso(c.since) or None,
        "tags": c.tags,
    }
    if full:
        data["changelog"] = [
            {"timestamp": e.timestamp, "status": e.status, "reason": e.reason} for e in c.changelog
        ]
    return data


def typo_hint(vin: str) -> str:
    """For a VIN the platform does not know: the I/O/Q or check-digit doubt, if any."""
    warnings = check_vin(vin).warnings
    return f". {warnings[0]}" if warnings else ""


# -- the filter language (domain/filters.py) ----------------------------------------------------
def add_filter_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--filter",
        metavar="QUERY",
        default="",
        help='the dashboard\'s filter: words, status:S,S brand:B,B tag:K=V reason:"text" '
        "age:>2d, -term for NOT, all must match",
    )


def read_filter(text: str) -> Filter:
    """The parsed `--filter`; any part that cannot be read is a usage error (nothing is run on a
    filter that means something else than was typed)."""
    flt = parse_filter(text or "")
    if flt.problems:
        raise UsageError("--filter: " + "; ".join(out.shown(p) for p in flt.problems))
    return flt


def matches_filter(flt: Filter, c: Clearance, now: datetime) -> bool:
    if not flt:
        return True
    since = c.since
    age = (now - since).total_seconds() if since is not None else 0.0
    return flt.matches(record(c.status, c.vin, c.brand, c.reason, c.tags, age))


def _filter_statuses(flt: Filter) -> list[str]:
    """The statuses a filter allows, when one plain `status:` term says so (asked of the
    platform, so it sends less; the filter is applied here all the same)."""
    wanted = [t for t in flt.by_field.get("status", ()) if not t.negated]
    return list(wanted[0].values) if len(wanted) == 1 else []


# -- argument helpers -----------------------------------------------------------------------------
def checked_vin(raw: str) -> str:
    """A normalised VIN naming an existing clearance; a malformed one is a usage error.

    No I/O/Q or check-digit warnings here: they help while typing a new VIN (`vins add`), but
    the platform already holds this one, and a typo shows up as "not found".
    """
    check = check_vin(raw)
    if not check.ok:
        raise UsageError(out.shown(check.message()))
    return check.vin


def parse_tag_args(raw: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for text in raw:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--tag {out.shown(text)[:40]!r} is not KEY=VALUE")
        tags[key.strip()] = value.strip()
    return tags


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _split_choices(values: list[str], what: str, allowed: Any) -> list[str]:
    chosen = [v.lower() for v in _split(values)]
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise UsageError(f"unknown {what} {out.shown(unknown[0])!r}: use {', '.join(allowed)}")
    return chosen


def _brand_id(raw: str) -> str:
    brand = lookup(raw)
    if brand is None:
        raise UsageError(
            f"unknown brand {out.shown(raw)[:30]!r}: use a platform brand id such "
            "as bmw, mercedes-benz, volkswagen, sandbox"
        )
    return brand.id


def _platform_filter(statuses: list[str], brands: list[str]) -> dict[str, Any] | None:
    query: dict[str, Any] = {}
    for name, values in (("status", statuses), ("brand", brands)):
        if len(values) == 1:
            query[name] = {"operator": "eq", "value": values[0]}
        elif values:
            query[name] = {"operator": "in", "value": values}
    return query or None


def stdin_is_tty() -> bool:
    return sys.stdin.isatty()
