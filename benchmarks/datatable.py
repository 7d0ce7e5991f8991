"""The peer for the roster: Textual's own DataTable fed the same rows (load, then filter).

`python -m benchmarks.datatable --rows-file FILE` reads the rows the roster child showed, then
times `add_rows` → the frame after the table settled, and a filter done the only way a DataTable
can: clear and add the matching rows again.
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


async def settled(app: App[None], pilot: Any) -> float:
    """The table measures new cells on idle: wait for idle, then for the frame after it."""
    await pilot.pause()
    return await next_frame(app)


async def measure(rows: list[tuple[str, ...]], queries: int = len(QUERIES)) -> dict[str, Any]:
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
            for query in QUERIES[:queries]:
                started = time.perf_counter()
                table.clear()
                table.add_rows([r for r in rows if query in "\t".join(r).lower()])
                filters.append(await settled(app, pilot) - started)
        probe.stop()
    return {
        "rows": len(rows),
        "load_s": load_s,
        "load_stall_ms": load.max_stall_ms,
        "filter_p50_ms": percentile(filters, 50) * 1000,
        "filter_max_ms": max(filters) * 1000,
        "filter_stall_ms": filtering.max_stall_ms,
        "rss_peak_mb": peak_rss_mb(),
    }


def load_rows(path: str) -> list[tuple[str, ...]]:
    """Rows the roster child wrote (the same clearances the app showed, in its order)."""
    return [tuple(row) for row in json.loads(Path(path).read_text())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.datatable")
    parser.add_argument("--rows-file", required=True, help="JSON rows from benchmarks.roster_app")
    parser.add_argument("--queries", type=int, default=len(QUERIES), help="filters to time")
    args = parser.parse_args(argv)
    emit(asyncio.run(measure(load_rows(args.rows_file), args.queries)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
