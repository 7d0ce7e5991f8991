"""Shared test helpers: wait for a condition instead of sleeping."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_for(
    cond: Callable[[], Any | Awaitable[Any]],
    timeout: float = 5.0,
    interval: float = 0.02,
    message: str = "",
) -> Any:
    """Poll `cond` (sync or async) until it returns something truthy; return that value.

    Fails the test with `message` (or the condition's name) when `timeout` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = cond()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() >= deadline:
            what = message or getattr(cond, "__name__", "condition")
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what} (last value: {last!r})"
            )
        await asyncio.sleep(interval)


def wait_until(cond: Callable[[], Any], timeout: float, what: str, interval: float = 0.02) -> Any:
    """`wait_for` for code outside an event loop (subprocesses, tmux): poll `cond` until it
    returns something truthy and return it; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := cond()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
    return value


def process_gone(pid: int) -> bool:
    """The process has exited (Linux). A zombie counts as gone: it runs no code and holds no
    socket, it only waits for its reaper (an orphan's may be a PID 1 that never reaps)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
