"""Reading a file someone named (config, credentials, private key, CSV, MQTT certificates): only
a regular file of sane size, and for files that hold secrets only one that is the user's own.

`read_file` opens without blocking (`O_NONBLOCK`: a FIFO with no writer would otherwise hold the
process forever), looks at what it opened (`fstat`, so what is checked is what is read) and reads
at most `max_bytes`: `/dev/zero`, a FIFO, a socket or a directory is refused before a byte is
read. With `private=True` the file must also belong to the user running hm-tui and be readable by
no one else, and (as `safe_folders=True` alone asks) every folder from it up to `/` must belong to
the user or root and be writable by neither group nor others, unless it is sticky as `/tmp` is
(there no one may rename or remove a file that is not theirs): whoever may write to a folder on
the path may swap the file or a folder under it. This is ssh's rule for `~/.ssh`. The folders are
those of the path as given and of the file it leads to (a symlink's target), so a link cannot
move the file out from under the check. A refusal names the file or folder and the command that
fixes it.

Every refusal is a `FileRefused` (an `OSError` subclass would be caught too broadly): the caller
wraps its message in its own error type (`ConfigError`, `AuthError`, ...).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class FileRefused(Exception):
    """The file cannot be used; the message names it, says why and what to do. `kind` is
    "missing", "directory", "too large" or "refused" (anything else), for callers that say
    more."""

    def __init__(self, message: str, kind: str = "refused") -> None:
        super().__init__(message)
        self.kind = kind


def read_file(
    path: Path | str,
    what: str,
    *,
    max_bytes: int,
    private: bool = False,
    safe_folders: bool = False,
) -> bytes:
    """The bytes of `path` (a `what`: "config file", "private key", ...); `FileRefused` when it
    cannot be opened, is not a regular file, is larger than `max_bytes`, or (`private`) is not
    the user's own or can be read by others, or (`private` or `safe_folders`) sits under a folder
    someone else may write to."""
    path = Path(path)
    fd = _open(path, what)
    try:
        _check_open(fd, path, what, max_bytes, private)
        if safe_folders and not private:  # (`private` checks the folders already)
            check_folders(path, what)
        return _read(fd, path, what, max_bytes)
    finally:
        os.close(fd)


def check_file(path: Path | str, what: str, *, max_bytes: int, private: bool = False) -> None:
    """Refuse `path` unless it is a regular file of at most `max_bytes` (and, `private`, one of
    the user's own as `read_file` asks), for files another library reads by name (the MQTT
    certificates and key: OpenSSL would read /dev/zero forever)."""
    path = Path(path)
    fd = _open(path, what)
    try:
        _check_open(fd, path, what, max_bytes, private)
    finally:
        os.close(fd)


def _check_open(fd: int, path: Path, what: str, max_bytes: int, private: bool) -> None:
    """The checks of `read_file` and `check_file` on the file `fd` opened for `path`."""
    info = os.fstat(fd)
    _check_kind(path, what, info, max_bytes)
    if private:
        check_private(path, what, info)


def check_private(path: Path, what: str, info: os.stat_result | None = None) -> None:
    """Refuse a `what` holding secrets that is not the user's own, that others can read, or that
    sits under a folder someone else may write to (`check_folders`)."""
    if os.name != "posix":
        return
    info = info or path.stat()
    if info.st_uid != os.geteuid():
        raise FileRefused(
            f"{path} belongs to another user (uid {info.st_uid}) and may hold secrets; "
            f"refusing to use a {what} someone else controls. Use a copy of your own "
            f"(cp {path} NEW && chmod 600 NEW)"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise FileRefused(
            f"{path} can be read by other users (mode {mode:04o}) and may hold secrets; "
            f"refusing to use it. Fix it with: chmod 600 {path}"
        )
    check_folders(path, what)


def check_folders(path: Path, what: str) -> None:
    """Refuse `path` when a folder above it (up to `/`, along the path as given and along the
    file's real location) belongs to someone other than the user or root, or may be written by
    group or others without being sticky."""
    if os.name != "posix":
        return
    me = os.geteuid()
    for folder in _folders_above(path):
        try:
            info = folder.stat()
        except OSError:
            continue  # (the file was opened through it: nothing more to learn here)
        mode = stat.S_IMODE(info.st_mode)
        if info.st_uid not in (me, 0):
            raise FileRefused(
                f"{path}: {folder} belongs to another user (uid {info.st_uid}), who could swap "
                f"the {what}. Move it to a folder of your own"
            )
        if mode & 0o022 and not mode & stat.S_ISVTX:
            who = "anyone" if mode & 0o002 else "its group"
            fix = "go-w" if mode & 0o002 and mode & 0o020 else ("o-w" if mode & 0o002 else "g-w")
            raise FileRefused(
                f"{path}: {folder} is writable by {who} (mode {mode:04o}), so the {what} "
                f"could be swapped. Fix: chmod {fix} {folder} (or move the {what} to a folder "
                "of your own)"
            )


def _folders_above(path: Path) -> list[Path]:
    """Every folder from `path`'s up to `/`, as written and where it really is (symlinks
    followed), each once, nearest first."""
    written = Path(os.path.abspath(path))
    real = Path(os.path.realpath(path))
    folders: list[Path] = []
    for start in (written, real):
        for folder in start.parents:
            if folder not in folders:
                folders.append(folder)
    return folders


def _open(path: Path, what: str) -> int:
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags)
    except FileNotFoundError:
        raise FileRefused(f"{path}: no such file", "missing") from None
    except PermissionError:
        raise FileRefused(
            f"cannot read {path}: permission denied (the file, or a directory on its path, "
            f"is not open to you)"
        ) from None
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            raise FileRefused(f"{path}: a part of this path is not a directory") from None
        raise FileRefused(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_kind(path: Path, what: str, info: os.stat_result, max_bytes: int) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise FileRefused(f"{path} is a directory, not a {what}", "directory")
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(
            f"{path} is not a regular file (a device, FIFO or socket): a {what} must be a file"
        )
    if info.st_size > max_bytes:
        raise FileRefused(
            f"{path} is {info.st_size:,} bytes, more than a {what} can be ({max_bytes:,}): "
            "is it the right file?",
            "too large",
        )


def _read(fd: int, path: Path, what: str, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= max_bytes:  # (a file growing while it is read stops here too)
        try:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
        except OSError as exc:
            raise FileRefused(f"cannot read {path}: {exc.strerror or exc}") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    raise FileRefused(f"{path} grew past {max_bytes:,} bytes while read: not a {what}")
