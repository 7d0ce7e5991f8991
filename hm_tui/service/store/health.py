"""What is wrong with a profile's store file, in words an operator can act on.

The store (roster cache and journal, store.py) is one SQLite file per profile. It can be corrupt
(not a database, a damaged page), locked by another process, read-only, or on a full disk. None
of these may take the roster away: the session then runs on an in-memory store and says, once,
what is wrong with which file and what to do (`StoreProblem`). Nothing is journaled on disk
then, so an action is sent only once the operator agrees (the CLI's `--no-journal`, the
dashboard's question), and `JournalUnavailable` is what a refused journal write raises.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from hm_tui.domain.inert import inert

#: The files SQLite opens by name beside the store: each must be a regular file too, or absent.
SIDECARS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True, slots=True)
class StoreProblem:
    """One store file that cannot be used: `kind` (corrupt, locked, read-only, full, io,
    symlink, not-a-file, unusable),
    `path`, and `text`: what is wrong and how to fix it, in one paragraph."""

    kind: str
    path: str
    text: str

    def __str__(self) -> str:
        return self.text


class JournalUnavailable(Exception):
    """The journal cannot take the record of an action. `problem` says why; `sent`: part of the
    action had been sent already (the journal failed mid-way, the rest was not sent), else
    nothing was."""

    def __init__(self, problem: StoreProblem, *, sent: bool = False) -> None:
        super().__init__(problem.text)
        self.problem, self.sent = problem, sent


class StoreNotAFile(OSError):
    """The store's path (or a file SQLite keeps beside it) is a symbolic link or not a regular
    file: refused before SQLite opens it, which would follow the link (and create a dangling
    link's target, or use another database as the journal). `problem` says what to do."""

    def __init__(self, problem: StoreProblem) -> None:
        super().__init__(errno.ELOOP, problem.text)
        self.problem = problem


def check_store_files(path: Path) -> None:
    """Raise `StoreNotAFile` if the store at `path`, or its `-wal`, `-shm` or `-journal` file,
    exists as anything but a regular file (a symlink, even a dangling one, a FIFO, a folder...).
    Only the files themselves are looked at: the folder they are in may be reached by a link
    (a data folder moved to another disk is the user's choice)."""
    for suffix in ("", *SIDECARS):
        name = Path(f"{path}{suffix}")
        try:
            info = os.lstat(name)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            continue
        raise StoreNotAFile(not_a_file(path, name, info))


def not_a_file(path: Path, name: Path, info: os.stat_result) -> StoreProblem:
    """What to say of `name` (the store `path` or a file beside it), which is no regular file."""
    what = "the journal" if name == path else f"the journal's {str(name)[len(str(path)) :]} file"
    if stat.S_ISLNK(info.st_mode):
        try:
            target = inert(os.readlink(name), 200)
        except OSError:
            target = "?"
        dangling = "" if os.path.exists(name) else ", which does not exist"
        if name != path:
            after = "hm-tui uses the journal again"
        else:
            after = "hm-tui starts a new journal; the roster is read again from the platform"
            if not dangling:
                real = inert(os.path.realpath(name), 200)
                after += (
                    f"; to keep the file it points to as the journal, put it in the link's "
                    f"place (mv {real} {name})"
                )
        return StoreProblem(
            "symlink",
            str(name),
            f"{what} {name} is a symbolic link (to {target}{dangling}): hm-tui keeps its "
            f"journal only in a regular file and never follows a link there (it could write "
            f"to a file that is not the journal). Remove the link (rm {name}) and {after}",
        )
    kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
    return StoreProblem(
        "not-a-file",
        str(name),
        f"{what} {name} is {kind}: hm-tui keeps its journal only in a regular file. Move it "
        f"aside (mv {name} {name}.broken) and hm-tui starts a new journal",
    )


def diagnose(path: Path | str, error: BaseException) -> StoreProblem:
    """The problem `error` (raised opening, reading or writing the store at `path`) shows."""
    if isinstance(error, StoreNotAFile):
        return error.problem
    if isinstance(path, Path):
        try:  # a link swapped in between the check and SQLite's open (nofollow refused it)
            check_store_files(path)
        except StoreNotAFile as refused:
            return refused.problem
    where = str(path)
    kind = _kind(error)
    why = _one_line(error)
    text = {
        "locked": f"the journal {where} is locked by another process (another hm-tui "
        "running with this profile?): close it, or wait until it is done, then try again",
        "corrupt": f"the journal {where} is damaged ({why}): move it aside "
        f"(mv {where} {where}.broken) and hm-tui starts a new one; the roster is read "
        "again from the platform",
        "read-only": f"the journal {where} cannot be written ({why}): check the permissions "
        f"of the file and of its directory (ls -ld {Path(where).parent} {where})",
        "full": f"the journal {where} cannot grow: the disk is full ({why}); free some "
        f"space there (df -h {Path(where).parent})",
        "io": f"the journal {where} could not be written ({why}): the disk may be full or "
        f"failing; check its free space (df -h {Path(where).parent})",
    }.get(kind, f"the journal {where} cannot be used ({why})")
    return StoreProblem(kind, where, text)


def _kind(error: BaseException) -> str:
    message = str(error).lower()
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return "full"
    if isinstance(error, PermissionError) or (
        isinstance(error, OSError) and error.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    ):
        return "read-only"
    if "locked" in message or "busy" in message:
        return "locked"
    if "full" in message:
        return "full"
    if "i/o error" in message:
        return "io"
    if "readonly" in message or "read-only" in message or "unable to open" in message:
        return "read-only"
    if "not a database" in message or "malformed" in message or "corrupt" in message:
        return "corrupt"
    if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError):
        return "corrupt"
    return "unusable"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:200]
