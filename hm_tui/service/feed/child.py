"""The feed process's side of `ProcessFeed`, and the wire between the two.

The child runs the in-process `FeedClient` unchanged (TLS, paho, de-duplication, parsing, bad
payload counts). Every FLUSH_EVERY_S it sends what it drained, plus the feed's state when it
changed, as one msgspec-JSON `Batch` (about 8x cheaper to encode and decode than pickled
dataclasses, and timestamps keep their offsets). It lives as long as its socket: when the parent
dies (kill -9, SSH drop) the socket reads EOF, and the child disconnects cleanly (the broker keeps
the session) and exits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

import msgspec

from hm_tui.service.config.profiles import MqttSettings
from hm_tui.service.feed.client import FeedClient, FeedState
from hm_tui.service.feed.mqtt import why
from hm_tui.service.models import DataPoint

FLUSH_EVERY_S = 0.01  # the child's batch interval: the most lag it adds
STOP = ("stop",)  # parent → child; the other command is ("ingest", topic, payload)


class Batch(msgspec.Struct, array_like=True):
    """Child → parent: points drained since the last batch, and the state if it changed. The
    state is read before the drain, so every message it counts has its points in this batch."""

    points: list[DataPoint]
    state: FeedState | None = None


encode_batch = msgspec.json.Encoder().encode
decode_batch = msgspec.json.Decoder(Batch).decode


def child_settings(settings: MqttSettings) -> dict[str, Any]:
    """What crosses to the child: the profile's [mqtt] settings (addresses, file paths, the stall
    floor), which hold no secret."""
    return dataclasses.asdict(settings)


def main(fd: int) -> None:
    """The feed process: its first message says what to run; then a FeedClient runs until the
    parent says stop, closes its end (it died), or SIGTERM comes."""
    conn = Connection(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C and hang-ups reach the whole group:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the parent decides, and stops us
    try:
        settings, environment, app_id, options = conn.recv()
    except (EOFError, OSError):
        return
    client = FeedClient(MqttSettings(**settings), environment, app_id, **options)
    pump = _Pump(conn, client, options["buffer"])
    signal.signal(signal.SIGTERM, pump.stop_soon)  # `kill`, a service manager: a clean stop
    try:
        pump.client.start()
        pump.run()
    except Exception as exc:  # the parent shows it; there is no terminal to print it on
        pump.failure = f"the feed process failed: {why(exc)}"
    finally:
        pump.client.stop()
        pump.last_batch()
        conn.close()


class _Pump:
    """The child's side of the socket: commands in, a batch out every FLUSH_EVERY_S."""

    def __init__(self, conn: Connection, client: FeedClient, batch_max: int) -> None:
        self.conn = conn
        self.client = client
        self.stopping = False
        self.failure: str | None = None  # why the child gives up, shown as the feed's error
        self._batch_max = batch_max  # the client's buffer size: a drain takes all of it
        self._sent: FeedState | None = None

    def stop_soon(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> None:
        while not self.stopping:
            if self.conn.poll(FLUSH_EVERY_S):  # a command, or EOF: the parent is gone
                self._obey()
            self.flush()

    def _obey(self) -> None:
        while not self.stopping and self.conn.poll(0):
            try:
                command = self.conn.recv()
            except (EOFError, OSError):
                command = STOP
            if command[0] == "ingest":
                self.client.ingest(command[1], command[2])
            else:
                self.stopping = True

    def flush(self) -> None:
        state = self.client.state  # before the drain: its counts never run ahead of the points
        if self.failure is not None:
            state = replace(state, status="stopped", last_error=self.failure)
        points = self.client.drain(self._batch_max)
        changed = state if state != self._sent else None
        if points or changed is not None:
            self.conn.send_bytes(encode_batch(Batch(points, changed)))
            self._sent = state

    def last_batch(self) -> None:
        """What arrived before the disconnect, and the final state (the parent may be gone)."""
        with contextlib.suppress(OSError):
            self.flush()
