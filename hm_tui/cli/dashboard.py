"""`hm-tui` (dashboard for a configured profile) and `hm-tui --demo` (embedded emulator).

Start-up is on the clock (docs/decisions.md#budgets: first roster frame with data): the demo's
emulator is forked into a process of its own before anything heavy is imported, so it starts on
one core while Textual imports on the other; the UI is imported only here, lazily, inside
`fast_start` (TLS context built on the other core, garbage collector resting until the app has
started), and modules the dashboard never uses are kept out (`leave_out_unused_imports`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hm_tui import collector

DEMO_FLEET = 300
#: virtual seconds per real second (10 min per s): a pending car of the demo fleet activates in
#: seconds to minutes, a sandbox VIN added by hand in about a second
DEMO_SPEED = 600.0
DEMO_PROFILE = "demo"
#: The demo's fleet changes every few seconds (emulator activity): poll the transient clearances
#: every second and the whole list every 10 s (5 s / 60 s against the real platform, where
#: every call is billed), so what changes shows at once.
DEMO_POLL_S = 1.0
DEMO_FULL_POLL_S = 10.0

NO_PROFILE_HELP = """\
hm-tui: {problem}

To use the dashboard, configure a profile with your High Mobility credentials:
  hm-tui config import credentials.json      (the file the console lets you download)
or set HM_TUI_CLIENT_ID and HM_TUI_CLIENT_SECRET (and HM_TUI_CONFIG to use another file).
`hm-tui config --help` shows every option.

No account at hand? `hm-tui --demo` runs the dashboard against an embedded emulator.
"""


def run(args: argparse.Namespace) -> int:
    leave_out_unused_imports()
    if args.demo:
        return run_demo(args)
    return run_profile(args)


#: Modules the dashboard never uses that its libraries import when they are installed: httpcore
#: imports trio (0.1 s of start-up) although the dashboard runs on asyncio alone, and httpx its
#: command-line client (click, pygments, rich.syntax, rich.progress: 40-80 ms).
UNUSED_IMPORTS = ("trio", "httpx._main")


def leave_out_unused_imports() -> None:
    """Mark UNUSED_IMPORTS absent in this process, unless something loaded them already."""
    for name in UNUSED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


@contextlib.contextmanager
def fast_start() -> Iterator[None]:
    """Around the UI's import and run. The platform's TLS context is built in a thread meanwhile,
    on the other core (service/platform/tls.py). The cyclic collector rests: start-up allocates
    ~300,000 objects (modules, styles, widgets) that live as long as the app, and it would walk them
    again at every 25% of growth, a tenth of the start (60-90 ms measured). The app turns it back on
    once it has started (`HmTuiApp._started`); leaving here does in any case."""
    from hm_tui.service.platform import tls

    tls.prepare()
    with collector.resting():
        yield


# -- a configured profile ------------------------------------------------------------------


def run_profile(args: argparse.Namespace) -> int:
    from hm_tui.service.config.profiles import ConfigError, ConfigMissing, load_config
    from hm_tui.service.redact import shown

    try:
        config = load_config()
        profile = config.profile(args.profile)
    except ConfigError as error:
        # (the help below says what ConfigMissing's own message would say again)
        problem = (
            f"no configuration at {error.path}." if isinstance(error, ConfigMissing) else error
        )
        problem = shown(str(problem), multiline=True)  # (it may quote a path or the file)
        from hm_tui.domain.inert import inert

        help_text = NO_PROFILE_HELP.format(problem=problem)  # (a path from anywhere: inert)
        print(inert(help_text, multiline=True), file=sys.stderr, end="")
        return 2  # a configuration problem is a usage error, as for every command

    with metrics_exporter(args) as metrics:

        async def session_for(name: str | None) -> Any:
            chosen = profile if name in (None, profile.name) else load_config().profile(name)
            return followed(await open_session(chosen, read_only=args.read_only), metrics)

        with fast_start():
            from hm_tui.ui.app import HmTuiApp

            app = HmTuiApp(
                session_for,
                read_only=args.read_only,
                profile=profile.name,
                profiles=lambda: sorted(load_config(missing_ok=True).profiles),
            )
            return run_app(app)


@contextlib.contextmanager
def metrics_exporter(args: argparse.Namespace) -> Iterator[Any]:
    """With --metrics-listen: the collector that follows the app's sessions (None without).
    Its server starts now, before the UI, so that a bad address or a taken port is said at
    once (UsageError, OperationError: exit 2 or 1), and stops when the app has ended."""
    listen = getattr(args, "metrics_listen", None)
    if not listen:
        yield None
        return
    from hm_tui.cli.main import UsageError
    from hm_tui.cli.metrics_cmd import start_server
    from hm_tui.service.metrics.server import ListenError, parse_listen
    from hm_tui.service.metrics.session import SessionMetrics

    try:
        _, port = parse_listen(listen, "--metrics-listen")
    except ListenError as exc:
        raise UsageError(str(exc)) from None
    if port == 0:  # the screen is the app's: a free port picked could be told nowhere
        raise UsageError("--metrics-listen needs a port number: 0 would pick one nobody sees")
    collector = SessionMetrics()
    server = start_server(listen, collector, "--metrics-listen")
    try:
        yield collector
    finally:
        collector.close()
        server.close()


def followed(session: Any, metrics: Any) -> Any:
    """`session`, served by the metrics endpoint from now on when there is one."""
    if metrics is not None:
        metrics.follow(session)
    return session


#: Stores opened for sessions: closed after the app (and so every session.stop()) has finished.
_STORES: list[Any] = []


async def open_session(profile: Any, *, read_only: bool, state_dir: Path | None = None) -> Any:
    """The service Session for a profile, with its local store (cache + journal), opened in a
    thread: a store locked by another process is waited for a moment, not on the UI's loop.
    A broken store (corrupt, locked, read-only, disk full) never takes the roster away: an
    in-memory one stands in, and the session says what is wrong (service/store/session.py)."""
    from hm_tui.service.session import Session
    from hm_tui.service.store.db import Store, default_path

    path = default_path(profile.name, state_dir)
    store, problem = await asyncio.to_thread(Store.open_or_memory, path)
    _STORES.append(store)
    return Session(profile, store=store, read_only=read_only, store_problem=problem)


def run_app(app: Any) -> int:
    try:
        code = app.run()
    finally:
        while _STORES:
            _STORES.pop().close()
    return code if isinstance(code, int) else 0


# -- the demo ------------------------------------------------------------------------------


def run_demo(args: argparse.Namespace) -> int:
    fleet = DEMO_FLEET if args.fleet is None else args.fleet
    speed = DEMO_SPEED if args.speed is None else args.speed
    if fleet < 0 or speed < 0:
        print("hm-tui: --fleet and --speed must not be negative", file=sys.stderr)
        return 2
    state_dir = Path(tempfile.mkdtemp(prefix="hm-tui-demo-"))
    try:
        demo = start_demo_emulator(state_dir, fleet, speed)
        try:  # after the fork: the emulator keeps its collector, has no thread (nor ours)
            with metrics_exporter(args) as metrics, fast_start():
                return run_demo_app(args, demo, metrics)
        finally:
            demo.stop()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def start_demo_emulator(state_dir: Path, fleet: int, speed: float) -> Any:
    """The demo's emulator, started now (before the UI is imported): in a child process where
    the platform can fork, so both start on their own core; else in a thread."""
    from hm_tui.emulator.config import EmulatorConfig

    config = EmulatorConfig(
        state_dir=state_dir / "emulator", fleet=fleet, speed=speed, activity=True
    )
    if not hasattr(os, "fork"):
        return DemoEmulator(config)
    from platformdirs import user_cache_dir

    from hm_tui.emulator.process import EmulatorProcess

    child = EmulatorProcess(
        config, cleanup=state_dir, key_cache=Path(user_cache_dir("hm-tui")) / "demo-emulator"
    )
    child.start()
    return child


class DemoEmulator:
    """The demo's emulator in a thread (where there is no fork): imported and started while
    the UI loads."""

    def __init__(self, config: Any) -> None:
        self.thread: Any = None
        self.credentials: Future[dict[str, Any]] = Future()
        self._boot = threading.Thread(
            target=self._start, args=(config,), name="hm-demo-boot", daemon=True
        )
        self._boot.start()

    def _start(self, config: Any) -> None:
        try:
            from hm_tui.emulator.server import EmulatorThread

            self.thread = EmulatorThread(config)
            self.credentials.set_result(self.thread.start(timeout=20))
        except BaseException as error:  # handed to the session factory, shown in the UI
            self.credentials.set_exception(error)

    def now(self) -> datetime:
        """The emulator's virtual time ("time in state" follows it), wall time until it runs."""
        if self.thread is not None and self.credentials.done():
            now: datetime = self.thread.emulator.clock.now_datetime()
            return now
        return datetime.now(UTC)

    def stop(self) -> None:
        self._boot.join(timeout=20)
        if self.thread is not None:
            self.thread.stop()


def demo_profile(creds: dict[str, Any]) -> Any:
    """The demo's profile: it logs in by client secret (the key-assertion login would import
    PyJWT and cryptography, a tenth of a second of the demo's start-up budget)."""
    from hm_tui.service.config.profiles import profile_from_credentials

    by_secret = {k: v for k, v in creds.items() if k not in ("private_key_file", "private_key_id")}
    return profile_from_credentials(by_secret, DEMO_PROFILE)


def run_demo_app(args: argparse.Namespace, demo: Any, metrics: Any = None) -> int:
    from hm_tui.ui.app import HmTuiApp

    async def session_for(_name: str | None) -> Any:
        from hm_tui.service.session import Session  # imported while the emulator starts

        creds = await asyncio.wrap_future(demo.credentials)
        # an in-memory store: the demo's journal and roster cache die with it anyway
        session = Session(
            demo_profile(creds),
            read_only=args.read_only,
            poll_interval=DEMO_POLL_S,
            full_interval=DEMO_FULL_POLL_S,
        )
        return followed(session, metrics)

    app = HmTuiApp(
        session_for, read_only=args.read_only, demo=True, profile=DEMO_PROFILE, clock=demo.now
    )
    return run_app(app)
