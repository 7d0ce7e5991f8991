"""The app as a feed consumer: the session's feed (ProcessFeed: paho in a child process) →
FeedPanel inside the real HmTuiApp, run headless.

`AppFeed` (parent side) starts `python -m benchmarks.feed_app` and reads what it wrote. The child
wraps the feed's `drain` so that, for every batch the panel drains, it records the time of the
next screen refresh (`call_after_refresh`): that is when the lines are on screen. The child's file
holds "<shown epoch> <message_id> <publish epoch>" lines; its last stdout line is a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from benchmarks.broker import Mosquitto
from benchmarks.consumers import Consumer, tls_args
from benchmarks.messages import APP_ID, ENVIRONMENT, PROBE_TAG, subscription
from benchmarks.proc import REPO, emit, peak_rss_mb, rss_mb
from benchmarks.received import Receipt
from benchmarks.stall import StallProbe

SIZE = (120, 40)
PROBE_PREFIX = f"{PROBE_TAG:08x}"


class AppFeed(Consumer):
    """Parent side: the app child as one more consumer."""

    name = "app"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.stdout = directory / "app-stdout.txt"

    def command(self, broker: Mosquitto, client_id: str) -> list[str]:
        tls = tls_args(broker)
        return [
            sys.executable,
            "-m",
            "benchmarks.feed_app",
            "--port",
            str(broker.port),
            "--ca",
            tls["ca"],
            "--cert",
            tls["cert"],
            "--key",
            tls["key"],
            "--client-id",
            client_id,
            "--out",
            str(self.out),
        ]

    def start(self, broker: Mosquitto, client_id: str) -> None:
        self.out.unlink(missing_ok=True)
        with self.stdout.open("wb") as sink:
            self.procs = [
                subprocess.Popen(
                    self.command(broker, client_id), cwd=REPO, stdout=sink, stderr=subprocess.PIPE
                )
            ]

    def stop(self) -> dict[str, Any]:
        proc = self.procs[0]
        if proc.poll() is None:
            proc.send_signal(signal.SIGUSR1)  # SIGTERM is the app's own "quit" signal
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        lines = [ln for ln in self.stdout.read_text(errors="replace").splitlines() if ln.strip()]
        try:
            return dict(json.loads(lines[-1])) if lines else {}
        except ValueError:
            return {}

    def receipts(self) -> list[Receipt]:
        found: list[Receipt] = []
        if not self.out.exists():
            return found
        with self.out.open(encoding="utf-8") as handle:
            for line in handle:
                shown, mid, published = line.split()
                found.append((float(shown), mid, float(published)))
        return found


# -- the child ---------------------------------------------------------------------------------


class DrainRecorder:
    """Wraps `feed.drain`: every drained batch is stamped at the next screen refresh."""

    def __init__(self, app: Any, feed: Any, out: TextIO) -> None:
        self.app, self.out = app, out
        self._drain = feed.drain
        feed.drain = self.drain
        self.batches = 0
        self.largest = 0
        self.first_run_at: float | None = None  # loop time of the first non-probe point
        self.rss_before: float | None = None
        self.last_shown = 0.0

    def drain(self, max_items: int = 5000) -> list[Any]:
        points = self._drain(max_items)
        if points:
            batch = [
                (p.message_id or "", p.timestamp.timestamp() if p.timestamp else 0.0)
                for p in points
            ]
            self.batches += 1
            self.largest = max(self.largest, len(points))
            if self.first_run_at is None and any(not m.startswith(PROBE_PREFIX) for m, _ in batch):
                self.first_run_at = asyncio.get_running_loop().time()
                self.rss_before = rss_mb()
            self.app.call_after_refresh(self._shown, batch)
        return points

    def _shown(self, batch: list[tuple[str, float]]) -> None:
        now = time.time()
        self.last_shown = asyncio.get_running_loop().time()
        self.out.write("".join(f"{now:.6f} {mid} {published:.6f}\n" for mid, published in batch))
        self.out.flush()


def feed_profile(args: argparse.Namespace) -> Any:
    from hm_tui.service.config.profiles import MqttSettings, Profile

    mqtt = MqttSettings(
        host="127.0.0.1",
        port=int(args.port),
        client_id=args.client_id,
        ca_file=args.ca,
        cert_file=args.cert,
        key_file=args.key,
        format="v1",
        topic=subscription(),
    )
    # REST is never reached: the stand-in session below only runs the feed
    return Profile(
        name="bench",
        environment=ENVIRONMENT,
        base_url="http://127.0.0.1:9/v1",
        client_id="bench",
        client_secret="bench",
        app_id=APP_ID,
        mqtt=mqtt,
    )


def feed_only_session(profile: Any) -> Any:
    """A real Session (its feed made and wired as the dashboard's is: paho in a child process,
    the panel woken through the session's subscription) that polls nothing: the feed is measured
    alone, without the roster's polling competing for the loop."""
    from hm_tui.service.session import Session

    class FeedOnlySession(Session):
        async def start(self) -> None:
            assert self.feed is not None
            self._feed_started = True  # (what Session.start does once the first list is in)
            self.feed.start()

        async def refresh_now(self) -> None:
            pass

    return FeedOnlySession(profile)


async def wait_for(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get to the feed in time")
        await asyncio.sleep(0.01)


async def run_app(args: argparse.Namespace) -> dict[str, Any]:
    from hm_tui.ui.app import HmTuiApp
    from hm_tui.ui.widgets.feed_panel import FeedPanel

    profile = feed_profile(args)
    app = HmTuiApp(lambda _name: feed_only_session(profile))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, stop.set)
    with open(args.out, "w", encoding="utf-8") as out:
        async with app.run_test(headless=True, size=SIZE) as pilot:
            probe = StallProbe()
            probe.start()
            await wait_for(lambda: app.session is not None, 15)
            app.action_toggle_feed()
            await pilot.pause()
            panel = app.query_one(FeedPanel)
            recorder = DrainRecorder(app, panel.feed, out)
            await stop.wait()
            state = panel.feed.state
            started = recorder.first_run_at or 0.0
            result = {
                "rss_before_mb": recorder.rss_before,
                "rss_after_mb": rss_mb(),
                "rss_peak_mb": peak_rss_mb(),
                "batches": recorder.batches,
                "largest_batch": recorder.largest,
                "dropped": state.dropped,
                "duplicates": state.duplicates,
                "bad_payloads": state.bad_payloads,
                "max_stall_ms": probe.max_stall_ms(started, recorder.last_shown or started),
                "log_lines": panel.log_widget.line_count,
            }
            probe.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.feed_app")
    for name in ("port", "ca", "cert", "key", "client-id", "out"):
        parser.add_argument(f"--{name}", required=True)
    emit(asyncio.run(run_app(parser.parse_args(argv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
