"""`python -m benchmarks [--quick] [--only SECTION ...] [--markdown FILE]`

Prints progress to stderr, then the table, and as the last stdout line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

from benchmarks import machine
from benchmarks.cli import run_fleet_cli
from benchmarks.cli import summarise as summarise_cli
from benchmarks.dialogs import run_dialogs
from benchmarks.dialogs import summarise as summarise_dialogs
from benchmarks.feed import CLIMB_TO, plan_for, run_steps
from benchmarks.feed_summary import summarise as summarise_feed
from benchmarks.report import SectionResult, format_markdown, format_table, summary_line
from benchmarks.roster import run_fleet
from benchmarks.roster import summarise as summarise_roster
from benchmarks.startup import run_startup

SECTIONS = ("startup", "cli", "roster", "dialogs", "feed")
# (fleet, DataTable rows: 0 = the same rows as the roster, None = no DataTable run)
FULL_FLEETS: tuple[tuple[int, int | None], ...] = (
    (1000, 0),
    (10000, 0),
    (100000, None),
    (1_000_000, None),  # the 1,000,000-VIN roster (its own budgets: benchmarks/roster.py MILLION)
)
QUICK_FLEETS: tuple[tuple[int, int | None], ...] = ((10000, 0),)  # under 60 s: DataTable too
# (fleet, [(command, paired runs)]): hm-tui against curl + jq on the same emulator
FULL_CLI: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] = (
    (100_000, (("list --json", 5), ("list --csv", 3), ("export", 3))),
    (1_000_000, (("list --json", 3), ("list --csv", 1), ("export", 1))),
)
# (fleet, presses of each dialog's key)
FULL_DIALOGS = (100_000, 7)
QUICK_DIALOGS = (10_000, 2)  # under 60 s in all: the first press (cold) and one more
QUICK_CLI: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] = ((100_000, (("list --json", 3),)),)


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def startup_section(quick: bool) -> SectionResult:
    log("startup: hm-tui --demo in a pseudo-terminal")
    return run_startup(runs=3 if quick else 7)  # a median: one start on shared cores says little


def cli_section(quick: bool) -> SectionResult:
    runs = []
    for fleet, plan in QUICK_CLI if quick else FULL_CLI:
        runs += run_fleet_cli(fleet, plan, log)
    return summarise_cli(runs)


def roster_section(quick: bool) -> SectionResult:
    fleets = QUICK_FLEETS if quick else FULL_FLEETS
    keys = 30 if quick else 36
    queries = 3 if quick else 5  # DataTable filters (each a full reload: ~1 s at 10,000 rows)
    return summarise_roster(
        [run_fleet(fleet, rows, log, keys=keys, queries=queries) for fleet, rows in fleets]
    )


def dialogs_section(quick: bool) -> SectionResult:
    fleet, reps = QUICK_DIALOGS if quick else FULL_DIALOGS
    return summarise_dialogs(run_dialogs(fleet, reps, log))


def feed_section(quick: bool) -> SectionResult:
    steps, broker_error = run_steps(plan_for(quick), log, climb_to=None if quick else CLIMB_TO)
    return summarise_feed(steps, broker_error)


RUNNERS: dict[str, Callable[[bool], SectionResult]] = {
    "startup": startup_section,
    "cli": cli_section,
    "roster": roster_section,
    "dialogs": dialogs_section,
    "feed": feed_section,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the CLI at 100,000 VINs, a 10,000-VIN roster and DataTable, the dialogs at 10,000 "
        "VINs, one 10 s feed run: under a minute",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="run only these sections",
    )
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as markdown")
    parser.add_argument("--details", metavar="FILE", help="also write every raw measurement (JSON)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine.describe(probe_runs=1 if args.quick else 3)  # --quick: under 60 s
    log(machine.line(info))
    began = time.monotonic()
    total = SectionResult()
    for name in SECTIONS:
        if name in args.only:
            total.extend(RUNNERS[name](args.quick))
    took = time.monotonic() - began
    total.summary.update(
        quick=args.quick,
        took_s=round(took, 1),
        cores=info["cores"],
        load_1m_at_start=info["load_1m"],
        textual_import_ms=info["textual_import_ms"],
        slower_than_reference=info["slower_than_reference"],
    )
    print(machine.line(info))
    print(format_table(total.rows))
    if args.details:
        with open(args.details, "w", encoding="utf-8") as out:
            json.dump({"machine": info, **total.details}, out, indent=1, default=str)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write(format_markdown(total.rows) + "\n")
    print(summary_line(total.summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
