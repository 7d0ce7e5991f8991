"""Roster benchmark child: the real Session against the emulator, inside HmTuiApp run headless.

`python -m benchmarks.roster_app --creds FILE --fleet N` measures, with a stall probe running:
list fetched → first roster frame; filter keystrokes → frame; sort changes → frame; a refresh
applying ~1% changed statuses → frame; then peak RSS. The last stdout line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.emulator_host import CONTROL_FILE
from benchmarks.frames import FrameMarks, send_key
from benchmarks.proc import emit, peak_rss_mb, percentile, rss_mb
from benchmarks.stall import StallProbe

SIZE = (120, 40)
FILTER_KEYS = [*"volkswagen", *["backspace"] * 10, *"rejected", *["backspace"] * 8]
SORT_PRESSES = 7  # `s` cycles every column once: vin → brand → … → changed → vin


@dataclass(slots=True)
class Fetch:
    started: float
    ended: float
    count: int
    full: bool


class FetchLog:
    """Times every clearance list the app fetches (class-wide wrap, this process only): the
    lowest-level list call the client has, `fetch_clearances` (raw items, decoded later by the
    roster) when it exists, else `list_clearances`. "Fetched" = that call returned."""

    def __init__(self) -> None:
        self.fetches: list[Fetch] = []

    def wrap(self) -> None:
        from hm_tui.service.platform.client import PlatformClient

        name = (
            "fetch_clearances" if hasattr(PlatformClient, "fetch_clearances") else "list_clearances"
        )
        original = getattr(PlatformClient, name)
        log = self

        async def timed(client: Any, filter: dict[str, Any] | None = None) -> Any:
            started = time.perf_counter()
            result = await original(client, filter)
            log.fetches.append(Fetch(started, time.perf_counter(), len(result), not filter))
            return result

        setattr(PlatformClient, name, timed)

    async def full_after(self, since: float, timeout: float) -> Fetch:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for fetch in self.fetches:
                if fetch.full and fetch.started >= since and fetch.count:
                    return fetch
            await asyncio.sleep(0.005)
        raise TimeoutError(f"no full list fetched within {timeout:.0f} s")


def make_app(creds: dict[str, Any], store_path: Path) -> Any:
    """The app as `hm-tui` runs it for a profile: with a store on disk (the roster cache is
    written after every full list, as it is for operators)."""
    from hm_tui.service.config.profiles import profile_from_credentials
    from hm_tui.service.session import Session
    from hm_tui.service.store.db import Store
    from hm_tui.ui.app import HmTuiApp

    profile = profile_from_credentials(creds, "bench")
    return HmTuiApp(lambda _name: Session(profile, store=Store(store_path)))


async def first_frame(
    app: Any, fetches: FetchLog, marks: FrameMarks, began: float, timeout: float
) -> dict[str, Any]:
    fetch = await fetches.full_after(began, timeout)
    frame = await marks.until_after(
        fetch.ended, timeout, accept=lambda: app.roster_screen.table.row_count > 0
    )
    return {
        "first_frame_s": frame - fetch.ended,
        "fetch_s": fetch.ended - fetch.started,
        "start_to_frame_s": frame - began,
        "rows": fetch.count,
    }


async def keystrokes(app: Any, marks: FrameMarks, keys: list[str]) -> list[float]:
    """Seconds from each key to the frame showing the table it changed."""
    latencies = []
    for key in keys:
        started = time.perf_counter()
        send_key(app, key)
        latencies.append(await marks.until_after(started, 30) - started)
    return latencies


async def orders_ready(app: Any, timeout: float) -> dict[str, Any]:
    """Wait (measured: the stall probe runs) while the app builds every column's sort order in
    the background after the first frame, as it does at idle; later phases start from there."""
    from hm_tui.service.fleet import ORDERS_FROM

    roster, started = app.session.roster, time.perf_counter()
    while len(roster) >= ORDERS_FROM and roster.missing_orders():  # small: built on demand
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"sort orders not built within {timeout:.0f} s")
        await asyncio.sleep(0.01)
    return {"orders_ready_s": time.perf_counter() - started}


async def filter_run(app: Any, pilot: Any, marks: FrameMarks, keys: int) -> dict[str, Any]:
    await pilot.press("slash")
    await pilot.pause()
    latencies = await keystrokes(app, marks, FILTER_KEYS[:keys])
    await pilot.press("escape")
    await pilot.pause()
    ms = [x * 1000 for x in latencies]
    return {
        "filter_p50_ms": percentile(ms, 50),
        "filter_p95_ms": percentile(ms, 95),
        "filter_max_ms": max(ms),
        "keystrokes": len(ms),
        "filter_ms_by_key": [
            [key, round(x, 1)] for key, x in zip(FILTER_KEYS[:keys], ms, strict=True)
        ],
    }


async def sort_run(app: Any, marks: FrameMarks) -> dict[str, Any]:
    by_column: dict[str, float] = {}
    for _ in range(SORT_PRESSES):
        [took] = await keystrokes(app, marks, ["s"])
        by_column[app.session.roster.sort[0]] = took * 1000
    ms = list(by_column.values())
    return {
        "sort_p50_ms": percentile(ms, 50),
        "sort_max_ms": max(ms),
        "sorts": len(ms),
        "sort_ms_by_column": by_column,
    }


async def force_changes(control_url: str, vins: list[str], status: str) -> None:
    """Change these clearances in the emulator's state, all in one request (emulator_host)."""
    import httpx

    async with httpx.AsyncClient(timeout=30) as http:
        reply = await http.post(control_url, json={"vins": vins, "status": status})
        reply.raise_for_status()


async def refresh_setup(app: Any, control_url: str, share: float) -> dict[str, Any]:
    """Change ~`share` of the statuses in the emulator (outside the measured window: picking
    the VINs scans the whole roster on the loop, which is the benchmark's work, not the app's)."""
    roster = app.session.roster
    count = max(1, round(len(roster) * share))
    approved = [vin for vin in roster.visible if roster.entry(vin).status == "approved"]
    others = [vin for vin in roster.visible if roster.entry(vin).status != "revoked"]
    vins = (approved if len(approved) >= count else others)[:count]
    forcing = time.perf_counter()
    await force_changes(control_url, vins, "revoked")
    if roster.entry(vins[0]).status == "revoked":
        raise RuntimeError("the session's own poll applied the changes before the refresh")
    return {"vins": vins, "forced_s": time.perf_counter() - forcing}


async def refresh_run(
    app: Any, pilot: Any, fetches: FetchLog, marks: FrameMarks, setup: dict[str, Any]
) -> dict[str, Any]:
    roster, vins = app.session.roster, setup["vins"]
    started = time.perf_counter()
    await pilot.press("r")
    fetch = await fetches.full_after(started, 300)
    frame = await marks.until_after(
        fetch.ended, 300, accept=lambda: roster.entry(vins[-1]).status == "revoked"
    )
    return {
        "refresh_ms": (frame - fetch.ended) * 1000,
        "refresh_press_ms": (frame - started) * 1000,
        "refresh_fetch_ms": (fetch.ended - fetch.started) * 1000,
        "changed": len(vins),
        "forced_s": setup["forced_s"],
    }


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    from hm_tui.cli.dashboard import fast_start
    from hm_tui.ui.widgets.roster_table import RosterTable

    creds = json.loads(Path(args.creds).read_text())
    control = json.loads((Path(args.creds).parent / CONTROL_FILE).read_text())
    control_url = f"http://127.0.0.1:{control['port']}/force"
    fetches, marks = FetchLog(), FrameMarks()
    fetches.wrap()
    marks.wrap(RosterTable, "rows_changed", lambda table: table.app)
    began = time.perf_counter()
    with fast_start():  # as `hm-tui` runs the dashboard: TLS context built ahead, GC resting
        return await measure_app(args, creds, control_url, fetches, marks, began)


async def measure_app(
    args: argparse.Namespace,
    creds: dict[str, Any],
    control_url: str,
    fetches: FetchLog,
    marks: FrameMarks,
    began: float,
) -> dict[str, Any]:
    app = make_app(creds, Path(args.creds).parent / "bench-store.sqlite")
    result: dict[str, Any] = {"fleet": args.fleet}
    async with app.run_test(headless=True, size=SIZE) as pilot:
        probe = StallProbe()
        probe.start()
        setup: dict[str, Any] = {}

        async def prepare_refresh() -> None:
            setup.update(await refresh_setup(app, control_url, args.share))

        async def nothing() -> None:
            return None

        wait = 120 if args.fleet < 500_000 else 600  # (a million VINs on a loaded machine)
        phases = (
            ("load", nothing, lambda: first_frame(app, fetches, marks, began, wait)),
            ("orders", nothing, lambda: orders_ready(app, wait)),
            ("filter", nothing, lambda: filter_run(app, pilot, marks, args.keys)),
            ("sort", nothing, lambda: sort_run(app, marks)),
            ("refresh", prepare_refresh, lambda: refresh_run(app, pilot, fetches, marks, setup)),
        )
        for name, before, phase in phases:
            await before()  # unmeasured set-up of the phase (the benchmark's own work)
            async with probe.window() as window:
                result.update(await phase())
            result[f"{name}_stall_ms"] = window.max_stall_ms
            result[f"{name}_took_s"] = window.ended - window.started
            result[f"{name}_rss_mb"] = rss_mb()
            result[f"{name}_rss_peak_mb"] = peak_rss_mb()
        result.update(
            rss_mb=rss_mb(),
            rss_peak_mb=peak_rss_mb(),
            feed=getattr(getattr(app.session, "feed", None), "state", None) is not None,
        )
        if args.rows_out:
            write_rows(app.session.roster, Path(args.rows_out), args.rows_count)
        probe.stop()
        closing = time.perf_counter()
    result["close_s"] = time.perf_counter() - closing
    result["took_s"] = time.perf_counter() - began
    return result


def write_rows(roster: Any, path: Path, count: int) -> None:
    """The first `count` clearances (0: all) as table cells, for the DataTable peer."""
    vins = list(roster.visible)
    rows = [cells(roster.entry(vin)) for vin in (vins[:count] if count else vins)]
    path.write_text(json.dumps(rows))


def cells(entry: Any) -> list[str]:
    clearance = entry.clearance
    tags = " ".join(f"{k}={v}" for k, v in clearance.tags.items())
    return [
        clearance.vin,
        clearance.brand,
        clearance.status,
        clearance.reason or "",
        tags,
        entry.since.isoformat(),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.roster_app")
    parser.add_argument("--creds", required=True)
    parser.add_argument("--fleet", type=int, required=True)
    parser.add_argument("--share", type=float, default=0.01, help="share of statuses changed")
    parser.add_argument("--keys", type=int, default=len(FILTER_KEYS), help="filter keystrokes")
    parser.add_argument("--rows-out", help="write table cells here for the DataTable peer")
    parser.add_argument("--rows-count", type=int, default=0, help="how many (0: all)")
    emit(asyncio.run(measure(parser.parse_args(argv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
