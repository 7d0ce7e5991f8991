"""Frame timing inside a headless Textual app: when did the screen show the result of an action?"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def next_frame(app: Any, timeout: float = 60.0) -> float:
    """perf_counter time of the next screen refresh (after everything queued is processed)."""
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def stamp() -> None:
        if not done.done():
            done.set_result(time.perf_counter())

    app.call_after_refresh(stamp)
    return await asyncio.wait_for(done, timeout)


class FrameMarks:
    """Stamps the refresh after each call of a wrapped method (e.g. RosterTable.rows_changed).

    `await until_after(t)` waits for the first stamped frame of a call made after time t.
    """

    def __init__(self) -> None:
        self.calls: list[float] = []  # perf_counter when the wrapped method ran
        self.frames: list[tuple[float, float]] = []  # (call time, frame time)
        self._changed = asyncio.Event()

    def wrap(self, owner: type, name: str, app_of: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        marks = self

        def wrapper(widget: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(widget, *args, **kwargs)
            called = time.perf_counter()
            marks.calls.append(called)
            app_of(widget).call_after_refresh(marks._stamp, called)
            return result

        setattr(owner, name, wrapper)

    def _stamp(self, called: float) -> None:
        self.frames.append((called, time.perf_counter()))
        self._changed.set()

    async def until_after(
        self, since: float, timeout: float = 60.0, accept: Callable[[], bool] = lambda: True
    ) -> float:
        """Frame time of the first call after `since` for which `accept()` held at frame time."""
        deadline = time.perf_counter() + timeout
        while True:
            for called, frame in self.frames:
                if called >= since and frame >= since and accept():
                    return frame
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError("no frame came")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                raise TimeoutError("no frame came") from None


def send_key(app: Any, key: str) -> None:
    """Type one key the way the terminal driver would, without Pilot's idle waits (they would
    add tens of milliseconds to every keystroke; the frame marks tell when the result shows)."""
    from textual import events

    character = {"slash": "/", "space": " ", "enter": "\r"}.get(key, key if len(key) == 1 else None)
    event = events.Key(key, character)
    event.set_sender(app)
    app._driver.send_message(event)


async def timed(
    action: Callable[[], Awaitable[Any]], marks: FrameMarks, timeout: float = 60.0
) -> float:
    """Seconds from starting `action` to the frame after the wrapped method next ran."""
    started = time.perf_counter()
    await action()
    return await marks.until_after(started, timeout) - started
