"""`hm-tui metrics --listen HOST:PORT`: a headless Prometheus exporter for one profile.

It runs what the dashboard runs (the poller, the live feed, the webhook receiver when the profile
has one), read-only, keeping nothing on disk, and serves the figures at `http://HOST:PORT/metrics`
until Ctrl-C or SIGTERM (exit 0). docs/metrics.md lists the metrics; docs/alerts/ has alert rules.
The platform being down is not a reason to stop: that is what the metrics are there to say.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING

from hm_tui.cli import output as out
from hm_tui.cli.connect import resolve_profile, start_logging
from hm_tui.cli.main import OperationError, UsageError, common_options

if TYPE_CHECKING:  # (annotations only: the service loads when the command runs)
    from prometheus_client.registry import Collector

    from hm_tui.service.config.profiles import Profile
    from hm_tui.service.metrics.server import MetricsServer
    from hm_tui.service.session import Session


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    metrics = sub.add_parser(
        "metrics",
        help="serve Prometheus metrics (headless)",
        parents=[common_options()],
        description="Serve the profile's clearances, platform link, live feed and webhook\n"
        "figures as Prometheus metrics until Ctrl-C. Read-only: it changes nothing.",
        epilog="examples:\n  hm-tui metrics --listen 127.0.0.1:9464\n"
        "  hm-tui --profile fleet metrics --listen [::1]:9464\n"
        "The metrics are listed in docs/metrics.md; alert rules in docs/alerts/.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    metrics.add_argument(
        "--listen",
        required=True,
        metavar="HOST:PORT",
        help="where to serve /metrics (port 0: a free one, printed on stderr)",
    )


def run(args: argparse.Namespace) -> int:
    from hm_tui.service.metrics.server import ListenError, parse_listen

    try:
        parse_listen(args.listen)
    except ListenError as exc:
        raise UsageError(str(exc)) from None
    profile = resolve_profile(args)
    start_logging(args)
    return asyncio.run(_serve(profile, args.listen))


def start_server(listen: str, collector: Collector, option: str = "--listen") -> MetricsServer:
    """The metrics server on `listen`, or the reason it cannot run as UsageError (bad address)
    or OperationError (the port is taken, no permission)."""
    from hm_tui.service.metrics.server import ListenError, MetricsServer, ServeError

    try:
        return MetricsServer(listen, collector, option=option)
    except ListenError as exc:
        raise UsageError(str(exc)) from None
    except ServeError as exc:
        raise OperationError(str(exc)) from None


async def _serve(profile: Profile, listen: str) -> int:
    from hm_tui.service.metrics.session import SessionMetrics
    from hm_tui.service.session import Session

    collector = SessionMetrics(drain_feed=True)  # nobody shows the points: keep memory flat
    server = start_server(listen, collector)
    session = Session(profile, read_only=True)  # an in-memory store: nothing kept on disk
    collector.follow(session)
    stop = _stop_on_signals()
    out.warn(
        f"serving Prometheus metrics for profile {out.shown(profile.name)!r} on {server.url} "
        "(Ctrl-C stops)"
    )
    try:
        starting = asyncio.create_task(_start(session))
        await stop.wait()
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
    finally:
        collector.close()
        await session.stop()
        server.close()
    return 0


async def _start(session: Session) -> None:
    """Start the session; a first poll that fails is said once: polling goes on, and the
    metrics say how the platform link is doing."""
    from hm_tui.service.errors import PlatformError

    try:
        await session.start()
    except PlatformError as exc:
        out.warn(f"the first roster list failed: {out.shown(str(exc))}; polling goes on")


def _stop_on_signals() -> asyncio.Event:
    """An event set by Ctrl-C, SIGTERM or a lost terminal (SIGHUP)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name) and sys.platform != "win32":
            loop.add_signal_handler(getattr(signal, name), stop.set)
    return stop
