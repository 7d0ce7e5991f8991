"""The terminal the app runs in: which theme suits it, and what to do when it goes away (SSH
drop, tmux killed: SIGHUP) or the process is told to stop (SIGTERM)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from typing import Any


def default_theme(color_system: str | None) -> str:
    """A theme that reads well on this terminal: the terminal's own 16 colours when that is all
    it has, else Textual's dark theme (downsampled to 256 colours where needed).
    `HM_TUI_THEME` picks any Textual theme by name; NO_COLOR is honoured by Textual itself."""
    chosen = os.environ.get("HM_TUI_THEME")
    if chosen:
        return chosen
    return "ansi-dark" if color_system in ("standard", "windows") else "textual-dark"


class HangupWatch:
    """Calls `stop` (in the loop) on SIGHUP or SIGTERM; restores the old handlers after."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: Any = None

    def install(self) -> None:
        try:
            self._loop = loop = asyncio.get_running_loop()
            # a plain handler, not loop.add_signal_handler: it must run before Textual's own
            # SIGCONT handler (the kernel sends both) restarts output to the dead terminal
            self._previous = signal.signal(signal.SIGHUP, self._hang_up)
            loop.add_signal_handler(signal.SIGTERM, self._stop)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            pass  # not the main thread, or no signals on this platform

    def uninstall(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError, TypeError):
            if self._previous is not None:
                signal.signal(signal.SIGHUP, self._previous)
            if self._loop is not None:
                self._loop.remove_signal_handler(signal.SIGTERM)

    def _hang_up(self, _signum: int, _frame: object) -> None:
        # The terminal is gone: writing to it fails and kills Textual's output thread, which
        # then blocks shutdown. Point stdio at /dev/null so the exit runs through.
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.close(null)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop)
