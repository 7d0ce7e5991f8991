"""The MQTT feed in a process of its own, so that paho's network thread and Textual's render loop
stop sharing one GIL (benchmarks/RESULTS.md, "Feed: why it still misses").

The child (`feed/child.py`) runs the in-process `FeedClient` and sends batches of points and its
state over a socket pair. Here one reader thread keeps them in the same bounded buffer and latest
map as `FeedClient` (docs/architecture.md#rules-the-layers-keep), so consumers see the same surface
and drain in batches.

The child is a fresh interpreter (`child.spawn`: why not fork, nor `multiprocessing`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

import msgspec

from hm_tui.service.child import Child, spawn, waited
from hm_tui.service.config.profiles import MqttSettings
from hm_tui.service.feed.child import STOP, Batch, child_settings, decode_batch
from hm_tui.service.feed.client import (
    BAD_SAMPLES,
    KEEPALIVE_S,
    BufferedFeed,
    FeedState,
    FeedStatus,
)
from hm_tui.service.feed.local import runtime_dir
from hm_tui.service.feed.mqtt import why

STOP_WAIT_S = 3.0  # the child's own stop (disconnect, paho's thread) takes up to ~0.6 s
KILL_WAIT_S = 2.0


#: Points the dashboard's feed buffers between the panel's drains (every 40 ms while it is open:
#: ~1,000 points at 5,000 msg/s). While the panel is closed it holds the newest ones, shown when
#: it opens (its log keeps 5,000 lines): 50,000 were ~30 MB of a 100k fleet's 250 MB budget.
DASHBOARD_BUFFER = 10_000


class ProcessFeed(BufferedFeed):
    """`FeedClient`'s surface, with paho in a child process; `start()` returns at once, the state
    tells how it goes. After `stop()`, `start()` runs a new child; counters carry on."""

    def __init__(
        self,
        settings: MqttSettings,
        environment: str,
        app_id: str,
        *,
        buffer: int = DASHBOARD_BUFFER,
        dedup: int = 100_000,
        reconnect_delay: tuple[int, int] = (1, 30),
        keepalive: int = KEEPALIVE_S,
        stall_floor: float | None = None,
    ) -> None:
        super().__init__(settings, environment, app_id, buffer, stall_floor=stall_floor)
        options = {
            "buffer": buffer,
            "dedup": dedup,
            "reconnect_delay": reconnect_delay,
            "latest_vins": 0,
            "keepalive": keepalive,
            # the child gets no HM_TUI_* variables: where the session's socket lives is decided
            # here (docs/feed-sessions.md)
            "share_dir": str(runtime_dir()),
        }  # the child only forwards: the newest points are kept here
        self._child_args = (child_settings(settings), environment, app_id, options)
        self._send_lock = threading.Lock()  # stop() and ingest() may come from two threads
        self._state = FeedState(
            status="stopped",
            last_error=None,
            received=0,
            duplicates=0,
            bad_payloads=0,
            rate=0.0,
            points=0,
            dropped=0,
            topic=self.topic,
        )
        self._before = self._state  # the last report of the previous children
        self._child: Child | None = None
        self._conn: Connection | None = None
        self._reader: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the feed process and its reader thread; the child reports how it goes."""
        with self._lock:
            if self._child is not None and self._child.poll() is None:
                return
        self.stop()  # a child that ended by itself: reap it first
        self._set_status("connecting", None)
        try:
            child, sock = spawn("hm_tui.service.feed.child", "main")
            conn = Connection(sock.detach())
        except OSError as exc:  # no memory, no file descriptors: a stopped feed, said plainly
            self._set_status("stopped", f"cannot start the feed process: {why(exc)}")
            return
        self._send(conn, self._child_args)
        reader = threading.Thread(
            target=self._read, args=(conn, child), name="hm-feed-reader", daemon=True
        )
        with self._lock:
            self._child, self._conn, self._reader = child, conn, reader
        reader.start()

    def stop(self) -> None:
        """Ask the child to disconnect (the broker keeps our session and queues for us), wait
        for its last batch, kill it if it hangs. Bounded: STOP_WAIT_S + 2 * KILL_WAIT_S."""
        with self._lock:
            child, conn, reader = self._child, self._conn, self._reader
            self._child = self._conn = self._reader = None
            self._state = replace(self._state, status="stopped", subscribed=False, rate=0.0)
            self._watch.status("stopped", time.monotonic())
        if child is None or conn is None or reader is None:
            return
        self._send(conn, STOP)
        if not waited(child, STOP_WAIT_S):  # SIGTERM would only ask again: it is stuck
            child.kill()
            waited(child, KILL_WAIT_S)
        reader.join(KILL_WAIT_S)  # the child's end is closed: the reader reads to EOF and ends
        conn.close()
        with self._lock:
            self._before = self._state

    # --- what consumers read -------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The feed process's id while it runs (for `ps`, and tests that check it ends)."""
        with self._lock:
            return self._child.pid if self._child is not None else None

    @property
    def state(self) -> FeedState:
        with self._lock:
            return replace(
                self._state,
                points=self._kept.points,
                dropped=self._state.dropped + self._kept.dropped,
            )

    def ingest(self, topic: str, payload: bytes | bytearray) -> None:
        """Hand one message to the feed process as if it came off the wire (tests, benches)."""
        with self._lock:
            conn = self._conn
        if conn is None:
            raise RuntimeError("the feed is not started")
        self._send(conn, ("ingest", topic, bytes(payload)))

    # --- the reader thread ---------------------------------------------------------------------

    def _read(self, conn: Connection, child: Child) -> None:
        try:
            while True:
                self._apply(child, decode_batch(conn.recv_bytes()))
        except (EOFError, OSError):
            pass  # the child closed its end: it stopped, or it died
        except msgspec.MsgspecError as exc:  # a child of another version: say so, never a trace
            self._ended(child, f"the feed process sent an unreadable batch ({exc})")
            return
        self._ended(child, None)

    def _apply(self, child: Child, batch: Batch) -> None:
        now = time.monotonic()
        with self._lock:
            if batch.state is not None:
                state = _carried(self._before, batch.state)
                if self._child is not child:  # its last words after stop(): counts only
                    state = replace(state, status="stopped", subscribed=False, rate=0.0)
                self._state = state
                self._watch.status(state.status, now)
            if batch.points:
                self._kept.keep(batch.points)
                self._watch.arrived(now)
        notify = self.on_data
        if batch.points and notify is not None:
            notify()

    def _ended(self, child: Child, error: str | None) -> None:
        """The socket closed. If nobody asked the child to stop, the feed is stopped and says
        why; `start()` runs a new one."""
        waited(child, KILL_WAIT_S)
        with self._lock:
            if self._child is not child:
                return
            reported = self._state.last_error if self._state.status == "stopped" else None
            why = error or reported or f"the feed process ended unexpectedly ({_exit(child)})"
            self._state = replace(
                self._state, status="stopped", last_error=why, subscribed=False, rate=0.0
            )
            self._watch.status("stopped", time.monotonic())

    def _send(self, conn: Connection, message: tuple[Any, ...]) -> None:
        with self._send_lock, contextlib.suppress(OSError):  # a dead child needs no telling
            conn.send(message)

    def _set_status(self, status: FeedStatus, error: str | None) -> None:
        with self._lock:
            self._state = replace(
                self._state, status=status, last_error=error, subscribed=False, rate=0.0
            )
            self._watch.status(status, time.monotonic())


def _carried(before: FeedState, now: FeedState) -> FeedState:
    """A new child's report with the counters of the children before it added in."""
    return replace(
        now,
        received=before.received + now.received,
        duplicates=before.duplicates + now.duplicates,
        bad_payloads=before.bad_payloads + now.bad_payloads,
        replayed=before.replayed + now.replayed,
        dropped=before.dropped + now.dropped,
        takeovers=before.takeovers + now.takeovers,
        missed=before.missed + now.missed,
        bad_samples=(before.bad_samples + now.bad_samples)[-BAD_SAMPLES:],
    )


def _exit(child: Child) -> str:
    code = child.returncode
    if code is None:
        return "still running"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
