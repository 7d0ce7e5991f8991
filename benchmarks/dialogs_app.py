"""Dialog benchmark child: the real Session against the emulator, inside HmTuiApp run headless.

`python -m benchmarks.dialogs_app --creds FILE --fleet N --reps R` loads the roster (as the
roster child does), then for each dialog presses its key R times: key → the first frame the top
screen renders with the dialog on top and its focus ready (the widget keys typed next go to),
closed with escape between presses. The last stdout line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.frames import send_key
from benchmarks.proc import emit, peak_rss_mb, percentile
from benchmarks.roster_app import SIZE, FetchLog, make_app, orders_ready
from benchmarks.stall import StallProbe

#: (name, key, what it opens), in this order. The summary last: closing it stops its sums at
#: their next step, but what is under way then still runs a moment.
DIALOGS: tuple[tuple[str, str, str], ...] = (
    ("add", "a", "AddScreen"),
    ("filter", "slash", "filter bar"),
    ("detail", "enter", "DetailScreen"),
    ("remove", "d", "ConfirmRemovalScreen"),
    ("palette", "ctrl+p", "CommandPalette"),
    ("summary", "g", "SummaryScreen"),
)


class ScreenFrames:
    """Stamps every frame the top screen renders (`Screen._compositor_refresh`, where Textual
    composes the update it writes to the terminal; headless, everything but the write), and
    checks at that moment whether a waiter's condition holds."""

    def __init__(self) -> None:
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[float]]] = []

    def wrap(self) -> None:
        from textual.screen import Screen

        original = Screen._compositor_refresh
        frames = self

        def wrapper(screen: Any) -> None:
            original(screen)
            if screen.app.screen_stack and screen is screen.app.screen:
                frames._stamp(time.perf_counter())

        Screen._compositor_refresh = wrapper  # type: ignore[method-assign]

    def _stamp(self, now: float) -> None:
        for accept, done in self._waiters:
            if not done.done() and accept():
                done.set_result(now)

    async def until(self, accept: Callable[[], bool], timeout: float) -> float:
        """perf_counter time of the first frame rendered while `accept()` holds."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        waiter = (accept, done)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(done, timeout)
        finally:
            self._waiters.remove(waiter)


closes: list[float] = []


def opened(app: Any, name: str, screen_class: str) -> Callable[[], bool]:
    """The dialog `name` is on top with the focus where the keys typed next belong. By class
    name: importing the screens here would take their first import out of the measured press
    (the app imports each dialog's module when it first opens it)."""
    if name == "filter":
        roster = app.roster_screen
        return lambda: app.screen is roster and roster.focused is roster.filter_bar.input
    if name == "palette":  # its search input
        return lambda: (
            type(app.screen).__name__ == screen_class
            and type(app.screen.focused).__name__ == "CommandInput"
        )
    return lambda: type(app.screen).__name__ == screen_class and app.screen.focused is not None


def back_on_roster(app: Any) -> Callable[[], bool]:
    roster = app.roster_screen
    return lambda: app.screen is roster and roster.focused is roster.table


def removable_vin(app: Any) -> tuple[int, str]:
    """The first approved car in the roster's order that can be revoked (domain/removal.py)."""
    from hm_tui.domain.removal import plan_removal

    roster, now = app.session.roster, app.roster_screen._clock()
    for row, vin in enumerate(roster.visible):
        entry = roster.entry(vin)
        if entry is None or entry.status != "approved":
            continue
        if plan_removal(entry.brand, entry.status, None, now).possible:
            return row, vin
    raise RuntimeError("no approved car that can be revoked in the roster")


async def dialogs_ready(app: Any, timeout: float) -> None:
    """Wait while the app builds the add dialog at idle after the first frame (as it does when
    the operator has not typed for a moment): the presses measure showing it, not a build that
    an operator's first second would not see either."""
    started = time.perf_counter()
    while not ((kept := app.kept_add.screen) is not None and kept.ready):
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"the add dialog not built within {timeout:.0f} s")
        await asyncio.sleep(0.01)


async def open_close(
    app: Any, frames: ScreenFrames, name: str, key: str, screen_class: str
) -> float:
    """Milliseconds from the key to the dialog's first frame with its focus ready; then closed."""
    ready = opened(app, name, screen_class)
    waiting = asyncio.ensure_future(frames.until(ready, 60))
    await asyncio.sleep(0)  # the waiter is listening before the key is typed
    started = time.perf_counter()
    send_key(app, key)
    took = (await waiting) - started
    back = asyncio.ensure_future(frames.until(back_on_roster(app), 60))
    await asyncio.sleep(0)
    closing = time.perf_counter()
    send_key(app, "escape")
    closes.append(((await back) - closing) * 1000)
    return took * 1000


async def dialogs_run(app: Any, pilot: Any, frames: ScreenFrames, reps: int) -> dict[str, Any]:
    row, vin = removable_vin(app)
    table = app.roster_screen.table
    table.focus()
    await pilot._wait_for_screen()
    by_dialog: dict[str, list[float]] = {}
    closes.clear()
    for name, key, what in DIALOGS:
        for _ in range(reps):
            if name in ("detail", "remove"):  # the cursor on the approved car, as a user puts it
                table._move_to(row)  # (the table's own move: no public way to a row)
                await pilot._wait_for_screen()
                if table.cursor_vin != vin:
                    raise RuntimeError(f"the cursor did not reach {vin}")
            by_dialog.setdefault(name, []).append(await open_close(app, frames, name, key, what))
            await pilot._wait_for_screen()  # what the close queued is done before the next key
    return {
        "dialogs": {
            name: {
                "p50_ms": percentile(ms, 50),
                "p95_ms": percentile(ms, 95),
                "max_ms": max(ms),
                "ms": [round(x, 1) for x in ms],
            }
            for name, ms in by_dialog.items()
        },
        "reps": reps,
        "close_ms": [round(x, 1) for x in closes],
    }


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    from hm_tui.cli.dashboard import fast_start

    creds = json.loads(Path(args.creds).read_text())
    fetches, frames = FetchLog(), ScreenFrames()
    fetches.wrap()
    frames.wrap()
    began = time.perf_counter()
    with fast_start():  # as `hm-tui` runs the dashboard
        app = make_app(creds, Path(args.creds).parent / "bench-store.sqlite")
        result: dict[str, Any] = {"fleet": args.fleet}
        async with app.run_test(headless=True, size=SIZE) as pilot:
            wait = 120 if args.fleet < 500_000 else 600
            fetch = await fetches.full_after(began, wait)
            await frames.until(lambda: app.roster_screen.table.row_count > 0, wait)
            await orders_ready(app, wait)  # as at idle: the sort orders built ahead
            await dialogs_ready(app, wait)  # and the add dialog (ui/kept_dialogs.py)
            result["ready_s"] = time.perf_counter() - began
            probe = StallProbe()
            probe.start()
            async with probe.window() as window:
                result.update(await dialogs_run(app, pilot, frames, args.reps))
            probe.stop()
            result.update(
                rows=fetch.count,
                dialogs_stall_ms=window.max_stall_ms,
                dialogs_took_s=window.ended - window.started,
                rss_peak_mb=peak_rss_mb(),
            )
            closing = time.perf_counter()
        result["close_s"] = time.perf_counter() - closing
    result["took_s"] = time.perf_counter() - began
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.dialogs_app")
    parser.add_argument("--creds", required=True)
    parser.add_argument("--fleet", type=int, required=True)
    parser.add_argument("--reps", type=int, default=5, help="presses of each dialog's key")
    emit(asyncio.run(measure(parser.parse_args(argv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
