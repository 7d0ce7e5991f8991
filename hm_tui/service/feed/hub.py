"""The holder's side of a shared MQTT session (docs/feed-sessions.md): a Unix socket that hands
every message off the wire to the other hm-tui processes attached to it.

paho's thread adds each message (`add`) and, before paho writes to the broker (PUBACKs among
it), `flush`es them as one frame to every attached process: a message is in their sockets before
the broker hears we have it, so if the holder dies the broker still owes whatever never reached
them. Writes never block paho: what a socket cannot take waits in that process's queue, written
by the hub's own thread (`serve`), which also accepts newcomers and says the holder's state.

Frames are numbered. For a while after a process becomes the holder (and for as long as others
are attached) it keeps the last REPLAY_BYTES of frames: a process re-attaching after the previous
holder went away gets everything since this one took over (its de-duplication drops what it had).
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from hm_tui.service.feed.local import VERSION, FrameReader, SessionPaths, frame, peer_uid

log = logging.getLogger(__name__)

REPLAY_WINDOW_S = 10.0  # a new holder keeps frames this long for processes re-attaching
REPLAY_BYTES = 16 * 1024 * 1024
CLIENT_QUEUE_MAX = 32 * 1024 * 1024  # a process this far behind is let go (it re-attaches)
HELLO_TIMEOUT_S = 2.0
SEND_BUFFER = 4 * 1024 * 1024  # asked of the kernel per attached socket (it may give less)
TICK_S = 0.5  # the hub thread looks at the holder's state this often
CLOSE_WRITE_S = 1.0  # at close, the most spent writing what attached processes still lack


class _Peer:
    """One attached process: its socket, what it sent us, what still waits to be written."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = FrameReader()
        self.queue = bytearray()
        self.since = time.monotonic()
        self.welcomed = False
        self.gone = False  # to be closed by the hub thread

    def send(self, data: bytes) -> None:
        """Write what the socket takes now; queue the rest (never blocks)."""
        if self.gone:
            return
        if not self.queue:
            try:
                sent = self.sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                self.gone = True
                return
            data = data[sent:]
        self.queue += data
        if len(self.queue) > CLIENT_QUEUE_MAX:
            log.warning("an attached hm-tui fell %d bytes behind: letting it go", len(self.queue))
            self.gone = True

    def write_queued(self) -> None:
        try:
            sent = self.sock.send(self.queue)
        except BlockingIOError:
            return
        except OSError:
            self.gone = True
            return
        del self.queue[:sent]


class Hub:
    """Fan-out of one MQTT session to the processes attached to `paths.socket`.
    `state_of()` gives the holder's state (a dict of plain values) to pass on."""

    def __init__(self, paths: SessionPaths, topic: str, state_of: Callable[[], Any]) -> None:
        self.paths = paths
        self.topic = topic
        self._state_of = state_of
        self._lock = threading.Lock()
        self._peers: list[_Peer] = []  # welcomed: every frame goes to them
        self._batch: list[list[Any]] = []  # [topic, payload] added since the last flush
        self._seq = 0  # the number of the next message or event
        self._ring: deque[tuple[int, int, bytes]] = deque()  # (first number, count, frame)
        self._ring_bytes = 0
        self._keep_until = time.monotonic() + REPLAY_WINDOW_S
        self._state: Any = None
        self._state_due = 0.0  # when to ask the holder's state again
        self._server: socket.socket | None = None
        self._inode = 0  # of the socket file we made
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._closing = threading.Event()
        self._done = threading.Event()

    @property
    def attached(self) -> int:
        return len(self._peers)

    # --- paho's thread ---------------------------------------------------------------------------

    def add(self, topic: str, payload: bytes | bytearray) -> None:
        """A message off the wire, to be handed on at the next `flush`."""
        if self._peers or time.monotonic() < self._keep_until:
            with self._lock:
                self._batch.append([topic, bytes(payload)])

    def flush(self) -> None:
        """Hand what was added on, as one frame (paho calls this before it writes)."""
        if not self._batch:
            return
        with self._lock:
            items, self._batch = self._batch, []
            self._publish(frame("m", self._seq, items), len(items))

    def connected(self, wall: str, session_present: bool) -> None:
        """The holder connected (the persistent session's backlog follows if it was kept)."""
        self.flush()
        with self._lock:
            self._publish(frame("c", self._seq, wall, session_present), 1)

    def poke(self, state: bool = False) -> None:
        """Let the hub thread look now (`state`: the holder's state changed)."""
        if state:
            self._state_due = 0.0
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _publish(self, data: bytes, count: int) -> None:
        """Number, keep and send a frame (the lock held)."""
        self._keep(data, count)
        self._seq += count
        for peer in self._peers:
            idle = not peer.queue
            peer.send(data)
            if idle and (peer.queue or peer.gone):  # the hub thread takes it from here
                self.poke()

    def _keep(self, data: bytes, count: int) -> None:
        if not self._peers and time.monotonic() >= self._keep_until:
            self._ring.clear()
            self._ring_bytes = 0
            return
        self._ring.append((self._seq, count, data))
        self._ring_bytes += len(data)
        while self._ring_bytes > REPLAY_BYTES and len(self._ring) > 1:
            self._ring_bytes -= len(self._ring.popleft()[2])

    # --- lifecycle -------------------------------------------------------------------------------

    def open(self) -> None:
        """Listen on the session's socket (the lock is ours: a file there is a dead holder's)."""
        path = str(self.paths.socket)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            server.bind(path)
            os.chmod(path, 0o600)
            server.listen(16)
            server.setblocking(False)
            self._inode = os.stat(path).st_ino
        except OSError:
            server.close()
            raise
        self._server = server

    def close(self) -> None:
        """Hand on what is left, close every attached socket (they read the end of the stream
        and elect a new holder), remove the socket file. Returns once `serve` has ended."""
        self.flush()
        self._closing.set()
        self.poke()
        if not self._done.wait(CLOSE_WRITE_S + 2.0):
            log.warning("the feed's hub did not stop in time")

    # --- the hub's thread -----------------------------------------------------------------------

    def serve(self) -> None:
        """Accept, greet, write queues, pass the state on; until `close()`."""
        selector = selectors.DefaultSelector()
        pending: list[_Peer] = []
        try:
            if self._server is None:
                return
            selector.register(self._server, selectors.EVENT_READ, "accept")
            selector.register(self._wake_r, selectors.EVENT_READ, "wake")
            while not self._closing.is_set():
                try:
                    for key, events in selector.select(TICK_S):
                        self._event(selector, key, events, pending)
                    self._tend(selector, pending)
                except Exception:  # a fault with one peer must not stop the others' stream
                    log.exception("the feed's hub failed a turn; it goes on")
        finally:
            self._finish(selector, pending)

    def _event(
        self, selector: selectors.BaseSelector, key: Any, events: int, pending: list[_Peer]
    ) -> None:
        if key.data == "accept":
            self._accept(selector, pending)
        elif key.data == "wake":
            with contextlib.suppress(OSError):
                self._wake_r.recv(4096)
        else:
            peer: _Peer = key.data
            if events & selectors.EVENT_READ:
                self._read(peer)
            if events & selectors.EVENT_WRITE:
                with self._lock:
                    peer.write_queued()

    def _accept(self, selector: selectors.BaseSelector, pending: list[_Peer]) -> None:
        assert self._server is not None
        try:
            sock, _ = self._server.accept()
        except OSError:
            return
        if peer_uid(sock) != os.getuid():  # the directory is ours alone: this cannot be
            sock.close()
            return
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        peer = _Peer(sock)
        pending.append(peer)
        selector.register(sock, selectors.EVENT_READ, peer)

    def _read(self, peer: _Peer) -> None:
        try:
            data = peer.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            peer.gone = True
            return
        try:
            frames = list(peer.reader.feed(data))
        except ValueError:
            peer.gone = True
            return
        for fields in frames:
            if fields[0] == "h" and not peer.welcomed:
                self._welcome(peer, fields)

    def _welcome(self, peer: _Peer, hello: list[Any]) -> None:
        """Answer a newcomer's hello: refused, or welcomed with the frames it asked for."""
        version, topic, resume = [*hello[1:4], None, None, None][:3]
        refusal = None
        if version != VERSION:
            refusal = f"hm-tui process {os.getpid()} holds the MQTT session, another version"
        elif topic != self.topic:
            refusal = (
                f"hm-tui process {os.getpid()} holds this certificate's MQTT session "
                f"for another topic ({self.topic})"
            )
        if refusal is not None:
            peer.send(frame("r", refusal))
            peer.gone = True  # what it was sent stays readable after the close
            return
        state = self._state_of()
        with self._lock:
            self._state = state
            start = self._seq
            if isinstance(resume, list) and len(resume) == 2:
                start = int(resume[1]) if resume[0] == os.getpid() else 0
            start = min(max(start, 0), self._seq)
            oldest = self._ring[0][0] if self._ring else self._seq
            missed = max(0, oldest - start)
            peer.send(frame("w", VERSION, os.getpid(), max(start, oldest), missed))
            peer.send(frame("s", state))
            for first, count, data in self._ring:
                if first + count > start:
                    peer.send(data)
            peer.welcomed = True
            self._peers.append(peer)

    def _tend(self, selector: selectors.BaseSelector, pending: list[_Peer]) -> None:
        """Drop the gone and the silent; watch for writability where a queue waits; pass on a
        new state."""
        now = time.monotonic()
        for peer in list(pending):
            if peer.welcomed:
                pending.remove(peer)  # one of `_peers` now
            elif peer.gone or now - peer.since > HELLO_TIMEOUT_S:
                pending.remove(peer)
                self._drop(selector, peer)
        with self._lock:
            for peer in list(self._peers):
                if peer.gone:
                    self._peers.remove(peer)
                    self._drop(selector, peer)
                    continue
                wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if peer.queue else 0)
                if selector.get_key(peer.sock).events != wanted:
                    selector.modify(peer.sock, wanted, peer)
        if now < self._state_due:
            return
        self._state_due = now + TICK_S
        state = self._state_of()
        if state != self._state:
            with self._lock:
                self._state = state
                for peer in self._peers:
                    peer.send(frame("s", state))

    def _drop(self, selector: selectors.BaseSelector, peer: _Peer) -> None:
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(peer.sock)
        peer.sock.close()

    def _finish(self, selector: selectors.BaseSelector, pending: list[_Peer]) -> None:
        """Write what the attached still lack (bounded), then close everything."""
        deadline = time.monotonic() + CLOSE_WRITE_S
        with self._lock:
            peers, self._peers = self._peers, []
        for peer in peers:
            peer.sock.setblocking(True)
            peer.sock.settimeout(max(0.05, deadline - time.monotonic()))
            with contextlib.suppress(OSError):
                peer.sock.sendall(peer.queue)
        for peer in peers + pending:
            self._drop(selector, peer)
        if self._server is not None:
            with contextlib.suppress(OSError):
                if os.stat(self.paths.socket).st_ino == self._inode:  # not a successor's
                    os.unlink(self.paths.socket)
            self._server.close()
        selector.close()
        self._wake_r.close()
        self._wake_w.close()
        self._done.set()
