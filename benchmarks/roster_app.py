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
from typing import Any

from benchmarks.frames import FrameMarks
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
    """Wraps PlatformClient.list_clearances (class-wide, this process only) to time each list."""

    def __init__(self) -> None:
        self.fetches: list[Fetch] = []

    def wrap(self) -> None:
        from hm_tui.service.client import PlatformClient

        original = PlatformClient.list_clearances
        log = self

        async def timed(client: Any, filter: dict[str, Any] | None = None) -> Any:
            started = time.perf_counter()
            result = await original(client, filter)
            log.fetches.append(Fetch(started, time.perf_counter(), len(result), not filter))
            return result

        PlatformClient.list_clearances = timed  # type: ignore[method-assign]

    async def full_after(self, since: float, timeout: float) -> Fetch:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for fetch in self.fetches:
                if fetch.full and fetch.started >= since and fetch.count:
                    return fetch
            await asyncio.sleep(0.005)
        raise TimeoutError(f"no full list fetched within {timeout:.0f} s")


def make_app(creds: dict[str, Any]) -> Any:
    from hm_tui.service.config import profile_from_credentials
    from hm_tui.service.session import Session
    from hm_tui.ui.app import HmTuiApp

    profile = profile_from_credentials(creds, "bench")
    return HmTuiApp(lambda _name: Session(profile, store=None))


async def first_frame(app: Any, fetches: FetchLog, marks: FrameMarks, began: float,
                      timeout: float) -> dict[str, Any]:
    fetch = await fetches.full_after(began, timeout)
    frame = await marks.until_after(fetch.ended, timeout,
                                    accept=lambda: app.roster_screen.table.row_count > 0)
    return {"first_frame_s": frame - fetch.ended, "fetch_s": fetch.ended - fetch.started,
            "start_to_frame_s": frame - began, "rows": fetch.count}


async def keystrokes(pilot: Any, marks: FrameMarks, keys: list[str]) -> list[float]:
    latencies = []
    for key in keys:
        started = time.perf_counter()
        await pilot.press(key)
        latencies.append(await marks.until_after(started, 30) - started)
    return latencies


async def filter_run(pilot: Any, marks: FrameMarks) -> dict[str, Any]:
    await pilot.press("slash")
    await pilot.pause()
    latencies = await keystrokes(pilot, marks, FILTER_KEYS)
    await pilot.press("escape")
    await pilot.pause()
    ms = [x * 1000 for x in latencies]
    return {"filter_p50_ms": percentile(ms, 50), "filter_p95_ms": percentile(ms, 95),
            "filter_max_ms": max(ms), "keystrokes": len(ms)}


async def sort_run(pilot: Any, marks: FrameMarks) -> dict[str, Any]:
    ms = [x * 1000 for x in await keystrokes(pilot, marks, ["s"] * SORT_PRESSES)]
    return {"sort_p50_ms": percentile(ms, 50), "sort_max_ms": max(ms), "sorts": len(ms)}
