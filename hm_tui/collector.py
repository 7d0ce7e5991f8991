"""The cyclic garbage collector: every place hm-tui turns it off, freezes it or turns it back on
goes through here (why: docs/decisions.md#garbage-collector).

Three situations, one rule each:
- **Start-up** (`resting`, `start_up_over`): a process's start allocates hundreds of thousands
  of objects that live as long as it does (modules, styles, widgets; the demo emulator's fleet).
  The collector would walk them again at every quarter of growth, a tenth of the start (60-90 ms
  measured), so it rests until the process has started; then what exists is frozen (`gc.freeze`,
  out of the collector's reach) and it runs again.
- **A fleet-sized build** (`paused`, `settle_on_resume`): decoding 100,000 clearances makes
  hundreds of thousands of objects without cycles; the collector would run collections over the
  heap meanwhile (a third of the time, all of it holding the GIL). It rests for the fraction of
  a second this takes. Pauses nest and overlap across threads: the last to end restores what the
  first found.
- **Long-lived state** (`settle`, and `paused(settle=True)`): a roster state or a sort order just
  built (a dozen lists of 100,000 items) lives until the next change. Left to the collector, each
  full collection walks them again on whatever thread allocates next, often the event loop
  (50-100 ms pauses measured), so they are frozen once built.

The price of every freeze: cyclic garbage that exists at that moment is never collected (1-2 MB
measured after start-up; benchmarks/RESULTS.md). Helper processes that make no cycles turn the
collector `off` for good.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_pause_lock = threading.Lock()
_pause = {"depth": 0, "was_enabled": True, "settle": False}


def off() -> None:
    """No collector in this process from now on (a helper that makes no cycles)."""
    gc.disable()


def rest() -> None:
    """Start-up: the collector rests until `start_up_over` (or `resume`)."""
    gc.disable()


def resume() -> None:
    """The collector runs again (a Python function: usable where a builtin is refused, such as a
    Textual callback)."""
    gc.enable()


def start_up_over() -> None:
    """What exists now lives as long as the process: frozen, then the collector runs again."""
    gc.freeze()
    gc.enable()


@contextlib.contextmanager
def resting() -> Iterator[None]:
    """`rest` for a start-up; leaving turns the collector back on in any case."""
    rest()
    try:
        yield
    finally:
        resume()


def settle() -> None:
    """Freeze what exists now: state just built that lives until the next change. Objects still
    go when their last reference does; only cyclic garbage existing now stays."""
    gc.freeze()


@contextlib.contextmanager
def paused(*, settle: bool = False) -> Iterator[None]:
    """No collection while a fleet-sized build runs (nests and overlaps across threads).

    `settle`: what was built will live on, so when the last pause ends everything the collector
    tracks is frozen before it runs again; otherwise the first young collection after the pause
    walks every fresh 100,000-item list (5-10 ms each, a dozen after a refresh)."""
    with _pause_lock:
        if _pause["depth"] == 0:
            _pause["was_enabled"] = gc.isenabled()
            gc.disable()
        _pause["depth"] += 1
        _pause["settle"] = _pause["settle"] or settle
    try:
        yield
    finally:
        with _pause_lock:
            _pause["depth"] -= 1
            if _pause["depth"] == 0:
                if _pause["settle"]:
                    gc.freeze()
                    _pause["settle"] = False
                if _pause["was_enabled"]:
                    gc.enable()


def settle_on_resume() -> None:
    """Inside `paused()`: what was built will live on after all, so freeze when the last pause
    ends, as `settle=True` would have. Outside a pause: nothing."""
    with _pause_lock:
        if _pause["depth"]:
            _pause["settle"] = True
