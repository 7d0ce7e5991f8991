"""`hm-tui vins summary [--filter Q] [--action ID] [--json]`: how a campaign is going.

The campaign is the whole fleet, the clearances a filter keeps, or the VINs of one journaled
add (`--action`, ids from `vins journal`); both narrow together. The arithmetic is
`domain/campaign.py`; this prints it.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hm_tui.cli import output as out
from hm_tui.cli.connect import resolve_profile, run_with_client
from hm_tui.cli.main import OperationError, UsageError, common_options
from hm_tui.domain.campaign import (
    ALL_BRANDS,
    Summary,
    decided_percent,
    duration_text,
    estimate_text,
    summarise,
)
from hm_tui.domain.values import count_text
from hm_tui.service.platform.clock import newest_change, platform_now

if TYPE_CHECKING:
    from hm_tui.service.platform.client import PlatformClient

SPARKS = "▁▂▃▄▅▆▇█"


def add_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from hm_tui.cli.vins_cmd import add_filter_option

    summary = actions.add_parser(
        "summary",
        help="a campaign at a glance: brand x status, rejections by reason, expected approval",
        parents=[common_options()],
    )
    add_filter_option(summary)
    summary.add_argument(
        "--action", type=int, metavar="ID", help="only the VINs of this add (see vins journal)"
    )
    summary.add_argument("--json", action="store_true", help="JSON instead of text")


def run(args: argparse.Namespace) -> int:
    from hm_tui.cli.vins_cmd import matches_filter, read_filter

    flt = read_filter(args.filter)
    scope = _action_scope(args) if args.action is not None else None

    async def work(client: PlatformClient) -> int:
        from hm_tui.service.campaign_data import cars_of

        fetched = await client.list_clearances()
        now = platform_now(newest_change(fetched), server=client.server_clock.now())
        chosen = [
            c
            for c in fetched
            if (scope is None or c.vin in scope[1]) and matches_filter(flt, c, now)
        ]
        summary = summarise(cars_of(chosen, now.timestamp()), now.timestamp())
        what = _what(args, scope)
        if args.json:
            out.write_json(summary_json(summary, what, now))
        else:
            for line in summary_lines(summary, what):
                out.say(line)
        return 0

    return run_with_client(args, work)


def _action_scope(args: argparse.Namespace) -> tuple[str, set[str]]:
    from hm_tui.cli.vins_journal import _read
    from hm_tui.service.campaign_data import journal_vins

    if args.action < 1:
        raise UsageError("--action needs an action id from `hm-tui vins journal`")
    profile = resolve_profile(args).name
    found = _read(profile, lambda store: journal_vins(store, args.action))
    if found is None:
        raise OperationError(
            f"no action #{args.action} in the journal of profile {out.shown(profile)!r} "
            "(hm-tui vins journal lists them)"
        )
    return found[0], set(found[1])


def _what(args: argparse.Namespace, scope: tuple[str, set[str]] | None) -> str:
    parts = [] if scope is None else [f"{scope[0]} #{args.action} ({len(scope[1])} VINs)"]
    if args.filter:
        parts.append(f"filter {out.shown(args.filter, 80)!r}")
    return " · ".join(parts) or "whole fleet"


def summary_lines(s: Summary, what: str) -> list[str]:
    """The summary as text lines (a terminal's width is applied by `out.say`)."""
    if not s.total:
        return [f"Campaign: {what} · no clearances: nothing to sum up"]
    lines = [
        f"Campaign: {what} · {count_text(s.decided)} of {count_text(s.total)} decided "
        f"({decided_percent(s)}%)",
        "",
    ]
    lines += _table_lines(s)
    lines += ["", f"Rejections ({count_text(s.by_status.get('rejected', 0))}), by reason:"]
    for group in s.rejections:
        lines.append(f"  {count_text(group.count):>6}  {out.shown(group.reason, 60)}")
        lines.append(f"          what to do: {group.action}")
    if not s.rejections:
        lines.append("  none")
    pending = count_text(s.by_status.get("pending", 0))
    lines += ["", f"Pending ({pending}): time pending, expected approval"]
    for row in s.pending:
        lines.append(
            f"  {out.shown(row.brand, 16):<16} {count_text(row.pending.n):>5}  median "
            f"{duration_text(row.pending.median):>7}  p90 {duration_text(row.pending.p90):>7}  "
            f"approval {estimate_text(row)}"
        )
    if not s.pending:
        lines.append("  none")
    lines += ["", "Expected approval: the pending → approved durations in the changelogs seen."]
    lines += ["", _timeline_title(s)]
    lines.append(f"  approved {spark(s.timeline.approved)} {count_text(sum(s.timeline.approved))}")
    lines.append(f"  rejected {spark(s.timeline.rejected)} {count_text(sum(s.timeline.rejected))}")
    return lines


def _table_lines(s: Summary) -> list[str]:
    columns = s.statuses
    # (a status the platform made up is shown on one line, cleaned and cut: raw, its line breaks
    # forged rows of this table and its escape sequences widened every column)
    heads = [out.shown(c, 16) for c in columns]
    width = max([5, *(len(h) for h in heads)])
    lines = ["brand            " + " ".join(f"{h:>{width}}" for h in heads) + "  total"]
    for brand, counts in s.table.items():
        cells = " ".join(f"{count_text(counts.get(c, 0)):>{width}}" for c in columns)
        lines.append(f"{out.shown(brand, 16):<16} {cells}  {count_text(sum(counts.values())):>5}")
    totals = " ".join(f"{count_text(s.by_status.get(c, 0)):>{width}}" for c in columns)
    lines.append(f"{'total':<16} {totals}  {count_text(s.total):>5}")
    return lines


def _timeline_title(s: Summary) -> str:
    t = s.timeline
    return (
        f"Decisions over time ({len(t.approved)} columns of {duration_text(t.bucket_s)}, "
        "from when the campaign's clearances were added to now):"
    )


def spark(values: tuple[int, ...] | list[int]) -> str:
    """One character per value, its height relative to the largest (blank for 0)."""
    top = max(values, default=0)
    if top == 0:
        return " " * len(values)
    return "".join(
        " " if v == 0 else SPARKS[min(len(SPARKS) - 1, (v * len(SPARKS) - 1) // top)]
        for v in values
    )


def summary_json(s: Summary, what: str, now: datetime) -> dict[str, Any]:
    t = s.timeline
    return {
        "campaign": what,
        "at": now.isoformat().replace("+00:00", "Z"),
        "total": s.total,
        "decided": s.decided,
        "by_status": s.by_status,
        "by_brand": s.table,
        "rejections": [
            {"reason": g.reason, "count": g.count, "by_brand": g.brands, "action": g.action}
            for g in s.rejections
        ],
        "pending": [
            {
                "brand": row.brand,
                "count": row.pending.n,
                "median_s": row.pending.median,
                "p90_s": row.pending.p90,
                "expected_approval": _spread_json(row.approval)
                | {"from": row.estimate_from, "text": estimate_text(row)},
            }
            for row in s.pending
        ],
        "approval_durations": {brand: _spread_json(v) for brand, v in s.approvals.items()},
        "timeline": {
            "start": datetime.fromtimestamp(t.start).astimezone().isoformat(),
            "bucket_s": t.bucket_s,
            "approved": list(t.approved),
            "rejected": list(t.rejected),
        },
        "estimate_method": (
            "pending -> approved durations in the changelogs; "
            f"a brand with fewer than the minimum uses {ALL_BRANDS}"
        ),
    }


def _spread_json(spread: Any) -> dict[str, Any]:
    return {
        "n": spread.n,
        "median_s": spread.median,
        "p90_s": spread.p90,
        "enough_data": spread.enough,
    }
