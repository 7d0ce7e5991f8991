"""What every headless command that talks to the platform shares: the profile, the verbose log,
one `PlatformClient` for the whole command, and platform errors turned into exit codes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from hm_tui.cli import output as out
from hm_tui.cli.main import OperationError, UsageError
from hm_tui.service.config.profiles import ConfigError, Profile, load_profile
from hm_tui.service.errors import PlatformError

NOTICE_AFTER_S = 2.0  # a shorter pause is not worth a line

if TYPE_CHECKING:
    from hm_tui.service.platform.client import PlatformClient


def resolve_profile(args: argparse.Namespace) -> Profile:
    """The profile of `--profile` (or HM_TUI_PROFILE, or the default); config trouble is exit 2."""
    try:
        return load_profile(getattr(args, "profile", None))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def start_logging(args: argparse.Namespace) -> None:
    """With -v, the request log (and every retry) on stderr. Without, the service layer's log
    lines are not printed at all: the command reports a failure itself, once."""
    if getattr(args, "verbose", False):
        from hm_tui.service.platform.http_log import enable_verbose

        enable_verbose()
    else:  # a handler, so that logging's last resort does not print warnings bare on stderr
        logging.getLogger("hm_tui").addHandler(logging.NullHandler())


def run_with_client(
    args: argparse.Namespace, work: Callable[[PlatformClient], Awaitable[int]]
) -> int:
    """Run `work(client)` in a fresh event loop with one client (one token manager) throughout."""
    profile = resolve_profile(args)
    start_logging(args)
    from hm_tui.cli.dashboard import leave_out_unused_imports
    from hm_tui.service.platform import tls

    tls.prepare()  # the CA bundle loads in a thread (the GIL is free meanwhile) while httpx imports
    leave_out_unused_imports()  # (trio: 0.1 s of a command's start)
    from hm_tui.service.platform.client import PlatformClient  # lazy: httpx costs ~150 ms

    async def main() -> int:
        # the token is revoked on the way out: a copy taken from this terminal dies with it
        async with PlatformClient(profile, revoke_on_close=True) as client:
            client.on_wait = WaitNotice()
            return await work(client)

    try:
        return asyncio.run(main())
    except PlatformError as exc:
        raise OperationError(str(exc)) from None


class WaitNotice:
    """On a terminal, says once on stderr why a command pauses longer than NOTICE_AFTER_S (a
    429's Retry-After, pacing); calls waiting out the same pause together are not announced
    again. Scripts (stderr not a terminal) see nothing: -v logs every retry."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._announced_until = 0.0

    def __call__(self, why: str, seconds: float) -> None:
        if seconds < NOTICE_AFTER_S or not out.is_terminal(sys.stderr):
            return
        until = self._clock() + seconds
        if until <= self._announced_until + NOTICE_AFTER_S:
            return
        self._announced_until = until
        out.warn(f"{why}: waiting {seconds:.0f} s{out.ellipsis(sys.stderr)}")
