"""The local side of one MQTT session per certificate (docs/feed-sessions.md): where the holder's
socket and lock live, the lock that elects the holder, and the frames on the socket.

Every hm-tui process on this machine that feeds from the same broker with the same client id
finds the same two files in a directory private to the user: a lock file (`flock`: whoever holds
it holds the MQTT session) and the holder's Unix socket (others attach to it). The names are a
hash of broker and client id, so neither shows in a file listing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import stat
import struct
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

RUNTIME_ENV = "HM_TUI_RUNTIME_DIR"
VERSION = 1  # of the frames below; a holder refuses a newcomer speaking another
MAX_FRAME = 64 * 1024 * 1024  # a batch of messages (each at most 256 KB) stays far below
SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes with the final NUL
_LENGTH = struct.Struct(">I")
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode


class SharingUnavailable(Exception):
    """The session cannot be shared here (the text says why); the feed then connects alone."""


class Refused(Exception):
    """The holder will not serve us (another topic, another version); the text says why."""


def runtime_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Where the holder's socket and lock live: HM_TUI_RUNTIME_DIR, else $XDG_RUNTIME_DIR/hm-tui
    (a tmpfs only we can read, emptied at logout), else /tmp/hm-tui-<uid> (as tmux does)."""
    if env.get(RUNTIME_ENV):
        return Path(env[RUNTIME_ENV])
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "hm-tui"
    base = "/tmp" if Path("/tmp").is_dir() else tempfile.gettempdir()
    return Path(base) / f"hm-tui-{os.getuid()}"


def private_dir(path: Path) -> Path:
    """`path` as a directory only we can use: made 0700 if missing; refused (SharingUnavailable,
    saying what to do) if it is a symlink, someone else's, or open to group or others."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SharingUnavailable(f"cannot create {path}: {exc.strerror}") from None
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise SharingUnavailable(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise SharingUnavailable(f"{path} belongs to another user")
    if info.st_mode & 0o077:
        raise SharingUnavailable(f"{path} is open to other users (chmod 700 {path})")
    return path


@dataclass(frozen=True, slots=True)
class SessionPaths:
    lock: Path
    socket: Path


def session_paths(directory: Path, host: str, port: int, client_id: str) -> SessionPaths:
    """The lock and socket of one MQTT session (broker and client id) in `directory`."""
    key = hashlib.sha256(f"{host}\0{port}\0{client_id}".encode()).hexdigest()[:24]
    paths = SessionPaths(directory / f"feed-{key}.lock", directory / f"feed-{key}.sock")
    if len(os.fsencode(paths.socket)) > SOCKET_PATH_MAX:
        raise SharingUnavailable(f"{directory} is too long a path for a socket")
    return paths


class HolderLock:
    """An exclusive `flock` on the session's lock file: one holder per session, released by the
    kernel when its process ends, however it ends (SIGKILL included). The holder removes the
    file as it leaves; a lock taken on a file removed meanwhile is let go and taken again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it (never waits). OSError: the file is unusable."""
        while self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process holds it
                os.close(fd)
                return False
            if not _same_file(fd, self.path):  # the last holder removed it as we opened it
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # for a person looking: who holds it
            self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)  # still ours: nobody else can hold it now
            os.close(fd)  # closing the only descriptor drops the lock


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def peer_uid(sock: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket (Linux SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def frame(*fields: Any) -> bytes:
    """One frame: a 4-byte length, then a msgpack array whose first field names its kind."""
    body = _encode(fields)
    return _LENGTH.pack(len(body)) + body


class FrameReader:
    """Frames out of a stream of bytes, as they complete."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[list[Any]]:
        """Add `data`; yield every frame now complete. Raises ValueError on a malformed one."""
        buffer = self._buffer
        buffer += data
        while len(buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer)
            if length > MAX_FRAME:
                raise ValueError(f"a frame of {length} bytes")
            end = _LENGTH.size + length
            if len(buffer) < end:
                return
            body = bytes(buffer[_LENGTH.size : end])
            del buffer[:end]
            try:
                fields = _decode(body)
            except msgspec.DecodeError as exc:
                raise ValueError(f"an unreadable frame ({exc})") from None
            if not isinstance(fields, list) or not fields:
                raise ValueError("a frame that is not a list")
            yield fields
