"""One MQTT session per certificate on this machine (docs/feed-sessions.md): the feed's election.

A feed starting on a profile takes the session's lock if it can and becomes the **holder**: it
connects to the broker and serves the others on a local socket (`feed.hub.Hub`). If the lock is
taken it **attaches** to the holder's socket and receives every message the holder receives. When
the holder goes (it stopped, or died: the kernel drops its lock either way) the attached read the
end of their stream and elect again: one becomes the holder and connects, the broker hands it the
persistent session with what it queued meanwhile, the others attach to it and ask for everything
since it took over. De-duplication by message id (every feed keeps its own) drops what a process
sees twice across the change. Without a private directory for the files the feed connects alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any, Literal, Protocol

from hm_tui.service.feed.hub import Hub
from hm_tui.service.feed.local import (
    VERSION,
    FrameReader,
    HolderLock,
    Refused,
    SessionPaths,
    SharingUnavailable,
    frame,
    peer_uid,
    private_dir,
    runtime_dir,
    session_paths,
)

log = logging.getLogger(__name__)

Role = Literal["", "holder", "attached", "alone"]
ATTACH_RETRY_S = 0.05  # the lock is taken but nobody answers yet: a holder is starting
REFUSED_RETRY_S = 5.0  # the holder refused us: ask again later (it may have gone)
HANDSHAKE_TIMEOUT_S = 2.0
READ_CHUNK = 256 * 1024
JOIN_S = 5.0


class ShareOwner(Protocol):
    """What the election needs of the feed (`FeedClient`)."""

    topic: str

    def hold(self, hub: Hub | None) -> None:
        """Connect to the broker as the session's holder (`hub`: hand messages on to it)."""

    def let_go(self) -> None:
        """Disconnect from the broker cleanly; return once disconnected."""

    def take(self, topic: str, payload: bytes | bytearray) -> None:
        """A message the holder received (never raises)."""

    def on_holder(self, kind: str, fields: list[Any]) -> None:
        """From the holder: "s" its state, "c" it connected (wall time, session present);
        about it: "a" attached (holder pid, messages missed), "r" refused (why), "x" lost."""

    def session_state(self) -> dict[str, Any]:
        """(As the holder) what the attached are told of the session, as plain values."""


class HolderNews:
    """What an attached feed keeps of the holders it heard from: the takeovers they counted (so
    its own count only grows as holders change) and the last one (named if it takes its place)."""

    def __init__(self) -> None:
        self.takeovers = 0
        self.last_holder: int | None = None
        self._count: int | None = None  # the current holder's count, last we heard

    def attached(self, holder_pid: int) -> None:
        self.last_holder, self._count = holder_pid, None

    def heard(self, count: int) -> None:
        if self._count is not None and count > self._count:
            self.takeovers += count - self._count
        self._count = count


def share_paths(settings: Any, directory: str | None) -> tuple[SessionPaths | None, str | None]:
    """The session's files for these MQTT settings (`directory`: where, else the user's
    runtime directory), or None and why sharing is unavailable here."""
    try:
        where = private_dir(Path(directory) if directory else runtime_dir())
        paths = session_paths(where, settings.host, int(settings.port), settings.client_id)
    except SharingUnavailable as exc:
        return None, str(exc)
    return paths, None


class Attachment:
    """Our end of the holder's socket, handshake done."""

    def __init__(self, sock: socket.socket, reader: FrameReader, welcome: list[Any]) -> None:
        self.sock = sock
        self.reader = reader
        self.holder_pid = int(welcome[2])
        self.next_seq = int(welcome[3])  # the number of the next message or event we get
        self.missed = int(welcome[4])
        self.early: list[list[Any]] = []  # frames that came with the welcome

    @classmethod
    def open(cls, path: Path, topic: str, resume: list[int] | None) -> Attachment:
        """Attach to the holder at `path`. OSError: nobody there (yet); Refused: it said no."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.settimeout(HANDSHAKE_TIMEOUT_S)
            sock.connect(str(path))
            if peer_uid(sock) != os.getuid():
                raise Refused(f"{path} is served by another user")
            sock.sendall(frame("h", VERSION, topic, resume))
            attachment = cls._greeted(sock)
            sock.settimeout(None)
            return attachment
        except BaseException:
            sock.close()
            raise

    @classmethod
    def _greeted(cls, sock: socket.socket) -> Attachment:
        reader = FrameReader()
        while True:
            data = sock.recv(READ_CHUNK)
            if not data:
                raise ConnectionResetError("the holder closed the socket")
            try:
                frames = list(reader.feed(data))
            except ValueError as exc:
                raise Refused(f"the holder answered with {exc}") from None
            for index, fields in enumerate(frames):
                if fields[0] == "r":
                    raise Refused(str(fields[1]))
                if fields[0] == "w" and len(fields) >= 5:
                    attachment = cls(sock, reader, fields)
                    attachment.early = frames[index + 1 :]
                    return attachment

    def frames(self) -> Any:
        """Every frame until the holder's end of stream (or `close()`)."""
        yield from self.early
        self.early = []
        while True:
            try:
                data = self.sock.recv(READ_CHUNK)
            except OSError:
                return
            if not data:
                return
            try:
                yield from self.reader.feed(data)
            except ValueError as exc:
                log.warning("the feed's holder sent %s: detaching", exc)
                return

    def close(self) -> None:
        """Wake a reader blocked in `frames()`; it ends at once."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


class SessionShare:
    """The election for one feed; `role` says where it stands."""

    def __init__(self, owner: ShareOwner, paths: SessionPaths | None, why_alone: str | None):
        self.owner = owner
        self.paths = paths
        self.why_alone = why_alone
        self.role: Role = ""
        self.holder_pid: int | None = None
        self.hub: Hub | None = None
        self._lock = HolderLock(paths.lock) if paths is not None else None
        self._turn = threading.Lock()  # held while the thread changes role, and by stop()
        self._stopping = threading.Event()
        self._link: Attachment | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.paths is None:
            self.role = "alone"
            self.owner.hold(None)
            return
        self._thread = threading.Thread(target=self._run, name="hm-feed-share", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Leave: as the holder, disconnect from the broker first, then close the socket, then
        drop the lock (so the next holder connects only once we are gone)."""
        with self._turn:
            self._stopping.set()
            role, link, hub = self.role, self._link, self.hub
        if link is not None:
            link.close()
        if role in ("holder", "alone"):
            self.owner.let_go()
        if hub is not None:
            hub.close()
        if self._thread is not None:
            self._thread.join(JOIN_S)
        if self._lock is not None:
            self._lock.release()
        self.role, self.hub, self._link = "", None, None

    # --- the election's thread -----------------------------------------------------------------

    def _run(self) -> None:
        resume: list[int] | None = None
        while not self._stopping.is_set():
            if self._try_hold():
                return
            link = self._attach(resume)
            if link is None:
                continue
            resume = self._follow(link)

    def _try_hold(self) -> bool:
        """Become the holder if the lock is free; serve until stopped. False: it is taken."""
        assert self._lock is not None and self.paths is not None
        with self._turn:
            try:
                if self._stopping.is_set() or not self._lock.try_acquire():
                    return False
            except OSError as exc:  # the lock file cannot be opened: hold the session alone
                self.why_alone = f"cannot use {self._lock.path}: {exc.strerror}"
                self.role = "alone"
                self.owner.hold(None)
                return True
            hub = self._open_hub(self.paths)
            self.role, self.hub, self.holder_pid = "holder", hub, os.getpid()
            self.owner.hold(hub)
        if hub is not None:
            hub.serve()
        return True

    def _open_hub(self, paths: SessionPaths) -> Hub | None:
        """The holder's socket, or None (and why) if it cannot listen: it holds alone then."""
        hub = Hub(paths, self.owner.topic, self._holder_state)
        try:
            hub.open()
        except OSError as exc:
            self.why_alone = f"cannot listen on {paths.socket}: {exc.strerror}"
            log.warning("the MQTT session cannot be shared: %s", self.why_alone)
            return None
        return hub

    def _holder_state(self) -> dict[str, Any]:
        return self.owner.session_state()

    def _attach(self, resume: list[int] | None) -> Attachment | None:
        assert self.paths is not None
        try:
            link = Attachment.open(self.paths.socket, self.owner.topic, resume)
        except Refused as exc:
            self.owner.on_holder("r", [str(exc)])
            self._stopping.wait(REFUSED_RETRY_S)
            return None
        except OSError:  # nobody listening yet (a holder starting), or it just went
            self._stopping.wait(ATTACH_RETRY_S)
            return None
        with self._turn:
            if self._stopping.is_set():
                link.sock.close()
                return None
            self.role, self._link, self.holder_pid = "attached", link, link.holder_pid
        self.owner.on_holder("a", [link.holder_pid, link.missed])
        return link

    def _follow(self, link: Attachment) -> list[int]:
        """Take every frame until the holder's stream ends; where we were in it."""
        expected = link.next_seq
        for fields in link.frames():
            kind = fields[0]
            if kind == "m":
                first, items = int(fields[1]), fields[2]
                for topic, payload in items[max(0, expected - first) :]:
                    self.owner.take(topic, payload)
                expected = max(expected, first + len(items))
            elif kind == "c":
                if int(fields[1]) >= expected:
                    self.owner.on_holder("c", fields[2:])
                expected = max(expected, int(fields[1]) + 1)
            elif kind == "s":
                self.owner.on_holder("s", fields[1:])
        with self._turn:
            self._link = None
            if not self._stopping.is_set():
                self.role = ""
        link.sock.close()
        if not self._stopping.is_set():
            self.owner.on_holder("x", [link.holder_pid])
        return [link.holder_pid, expected]
