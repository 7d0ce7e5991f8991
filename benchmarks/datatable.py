"""The peer for the roster: Textual's own DataTable fed the same rows (load, then filter).

`python -m benchmarks.datatable --creds FILE --rows N` fetches the emulator's list (not timed),
then times `add_rows` → the frame after the table settled, and a filter done the only way a
DataTable can: clear and add the matching rows again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from benchmarks.frames import next_frame
from benchmarks.proc import emit, peak_rss_mb, percentile
from benchmarks.stall import StallProbe

QUERIES = ("w", "wv", "wvw", "wv", "w")  # a DataTable filter is a full reload: a few suffice
COLUMNS = ("VIN", "Brand", "Status", "Reason", "Tags", "Since")


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable(id="table")


def cells(clearance: Any) -> tuple[str, ...]:
    tags = " ".join(f"{k}={v}" for k, v in clearance.tags.items())
    since = clearance.changelog[-1].timestamp if clearance.changelog else ""
    return (clearance.vin, clearance.brand, clearance.status, clearance.reason or "", tags, since)


async def fetch_rows(creds_file: str, limit: int) -> list[tuple[str, ...]]:
    from hm_tui.service.client import PlatformClient
    from hm_tui.service.config import profile_from_credentials

    profile = profile_from_credentials(json.loads(Path(creds_file).read_text()), "bench")
    async with PlatformClient(profile) as client:
        clearances = await client.list_clearances()
    return [cells(c) for c in (clearances[:limit] if limit else clearances)]


async def settled(app: App[None], pilot: Any) -> float:
    """The table measures new cells on idle: wait for idle, then for the frame after it."""
    await pilot.pause()
    return await next_frame(app)


async def measure(rows: list[tuple[str, ...]]) -> dict[str, Any]:
    app = TableApp()
    async with app.run_test(headless=True, size=(120, 40)) as pilot:
        probe = StallProbe()
        probe.start()
        table = app.query_one(DataTable)
        table.add_columns(*COLUMNS)
        await settled(app, pilot)
        async with probe.window() as load:
            started = time.perf_counter()
            table.add_rows(rows)
            load_s = await settled(app, pilot) - started
        filters = []
        async with probe.window() as filtering:
            for query in QUERIES:
                started = time.perf_counter()
                table.clear()
                table.add_rows([r for r in rows if query in "\t".join(r).lower()])
                filters.append(await settled(app, pilot) - started)
        probe.stop()
    return {"rows": len(rows), "load_s": load_s, "load_stall_ms": load.max_stall_ms,
            "filter_p50_ms": percentile(filters, 50) * 1000,
            "filter_max_ms": max(filters) * 1000, "filter_stall_ms": filtering.max_stall_ms,
            "rss_peak_mb": peak_rss_mb()}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    rows = await fetch_rows(args.creds, args.rows)
    return await measure(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.datatable")
    parser.add_argument("--creds", required=True)
    parser.add_argument("--rows", type=int, required=True, help="0: every clearance")
    emit(asyncio.run(main_async(parser.parse_args(argv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
