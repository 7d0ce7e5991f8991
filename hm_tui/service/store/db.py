"""The local store: the last roster (instant, visibly stale start) and the journal of actions.

SQLite in WAL mode: every write is one transaction, so a killed process leaves either the old or
the new state, never half of one, and a bulk action killed half-way is found by `unfinished()`.
Nothing secret is stored (no tokens, no credentials): VINs, brands, tags, statuses, messages.

The roster is kept as JSON arrays of 4096 clearances per row (the platform's own bytes for each,
as the roster holds them), replaced in one transaction: far faster than a row per VIN, and each
slice is one short C call, so saving or loading 100,000 clearances in a worker thread never holds
the GIL (and stalls the event loop) for long. The store is synchronous and thread-safe (one
lock); the session calls it through `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec
from platformdirs import user_data_dir

from hm_tui import collector
from hm_tui.domain.timestamps import parse_time
from hm_tui.service.errors import BadResponse
from hm_tui.service.models import Clearance
from hm_tui.service.platform.decode import (
    WireClearances,
    decode_items,
    split_clearance_list,
)
from hm_tui.service.store.health import (
    JournalUnavailable,
    StoreProblem,
    check_store_files,
    diagnose,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS roster_saved (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    saved_at TEXT NOT NULL,
    count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS roster_slices (
    slice INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    vins TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS action_items (
    action_id INTEGER NOT NULL REFERENCES actions(id),
    vin TEXT NOT NULL,
    result TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (action_id, vin)
);
"""
OPEN_WAIT_MS = 1500  # a dashboard's start waits this long for a store another process holds
ROSTER_SLICE = 4096  # clearances per cache row
ABANDONED = "abandoned"  # an item result: never sent, the operator dismissed the resume
_ENCODER = msgspec.json.Encoder()


def default_path(profile: str, directory: Path | str | None = None) -> Path:
    """Where a profile's store lives: the platform's user data dir, `<profile>.db`."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", profile).lstrip(".") or "default"
    return Path(directory or user_data_dir("hm-tui")) / f"{safe}.db"


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class ItemRecord:
    result: str  # "ok", "error", "refused", or the status the platform answered
    message: str
    at: datetime | None


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One operator action: what, which VINs, when, and the result per VIN so far."""

    id: int
    action: str
    started_at: datetime | None
    finished_at: datetime | None
    vins: list[str]
    params: dict[str, Any]
    results: dict[str, ItemRecord] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def not_done(self) -> list[str]:
        """VINs the action never got to (the ones to offer for resuming)."""
        return [vin for vin in self.vins if vin not in self.results]

    @property
    def outcomes(self) -> dict[str, int]:
        """How many VINs got each result so far ("pending": 480, "error": 20...), most first."""
        counts: dict[str, int] = {}
        for item in self.results.values():
            counts[item.result] = counts.get(item.result, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


class Journal:
    """Every operator action: `begin`, then `record_item(s)` per VIN as results come, `finish`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a journal that refuses it raises `JournalUnavailable` saying
        what is wrong with which file (store/health.py)."""
        try:
            with self._store.transaction() as db:
                yield db
        except (sqlite3.Error, OSError) as error:
            raise JournalUnavailable(diagnose(self._store.path, error)) from error

    def begin(self, action: str, vins: Sequence[str], params: dict[str, Any] | None = None) -> int:
        """Record that an action starts on these VINs; returns its id."""
        row = (
            action,
            _now(),
            _ENCODER.encode(list(vins)).decode(),
            _ENCODER.encode(params or {}).decode(),
        )
        with self._writing() as db:
            cursor = db.execute(
                "INSERT INTO actions (action, started_at, vins, params) VALUES (?, ?, ?, ?)", row
            )
            return int(cursor.lastrowid or 0)

    def record_item(self, action_id: int, vin: str, result: str, message: str = "") -> None:
        self.record_items(action_id, [(vin, result, message)])

    def record_items(self, action_id: int, items: Iterable[tuple[str, str, str]]) -> None:
        """Results for several VINs in one transaction (a later result for a VIN replaces it)."""
        now = _now()
        rows = [(action_id, vin, result, message or "", now) for vin, result, message in items]
        with self._writing() as db:
            db.executemany(
                "INSERT OR REPLACE INTO action_items (action_id, vin, result, message,"
                " at) VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def finish(self, action_id: int) -> None:
        with self._writing() as db:
            db.execute("UPDATE actions SET finished_at = ? WHERE id = ?", (_now(), action_id))

    def finish_stopped(
        self,
        action_id: int,
        answered: Iterable[tuple[str, str, str]],
        unanswered: Iterable[tuple[str, str, str]],
    ) -> None:
        """Finish an action stopped half-way, in one transaction: the `answered` results not
        recorded yet, and for each VIN still without a result why it has none (`unanswered`:
        never replacing a result already recorded). A stopped action is not offered for
        resuming; its journal entry says which VINs were not done and why."""
        now = _now()
        with self._writing() as db:
            db.executemany(
                "INSERT OR REPLACE INTO action_items (action_id, vin, result, message,"
                " at) VALUES (?, ?, ?, ?, ?)",
                [(action_id, vin, result, message or "", now) for vin, result, message in answered],
            )
            db.executemany(
                "INSERT OR IGNORE INTO action_items (action_id, vin, result, message,"
                " at) VALUES (?, ?, ?, ?, ?)",
                [
                    (action_id, vin, result, message or "", now)
                    for vin, result, message in unanswered
                ],
            )
            db.execute(
                "UPDATE actions SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                (now, action_id),
            )

    def abandon(self, action_id: int, message: str = "dismissed: not resumed") -> None:
        """Close an unfinished action the operator chose not to resume: its VINs never sent are
        recorded as `abandoned` (so the journal still says they were not done), in one
        transaction with the finish, and it is no longer offered for resuming."""
        now = _now()
        with self._writing() as db:
            row = db.execute("SELECT vins FROM actions WHERE id = ?", (action_id,)).fetchone()
            vins: list[str] = msgspec.json.decode(row[0]) if row else []
            answered = {
                vin
                for (vin,) in db.execute(
                    "SELECT vin FROM action_items WHERE action_id = ?", (action_id,)
                )
            }
            db.executemany(
                "INSERT INTO action_items (action_id, vin, result, message, at)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (action_id, vin, ABANDONED, message, now)
                    for vin in dict.fromkeys(vins)
                    if vin not in answered
                ],
            )
            db.execute(
                "UPDATE actions SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                (now, action_id),
            )

    def record(self, action: str, vins: Sequence[str], result: str, message: str = "") -> int:
        """A one-step action with the same result for every VIN."""
        action_id = self.begin(action, vins)
        self.record_items(action_id, [(vin, result, message) for vin in vins])
        self.finish(action_id)
        return action_id

    def entries(self, limit: int = 100) -> list[JournalEntry]:
        """The latest actions, newest first."""
        rows = self._store.query(
            "SELECT id, action, started_at, finished_at, vins, params FROM"
            " actions ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [self._entry(row) for row in rows]

    def entry(self, action_id: int) -> JournalEntry | None:
        """One action by its id, or None."""
        rows = self._store.query(
            "SELECT id, action, started_at, finished_at, vins, params FROM actions WHERE id = ?",
            (action_id,),
        )
        return self._entry(rows[0]) if rows else None

    def unfinished(self) -> list[JournalEntry]:
        """Actions started but never finished (the app was killed): offer to resume `not_done`."""
        rows = self._store.query(
            "SELECT id, action, started_at, finished_at, vins, params FROM"
            " actions WHERE finished_at IS NULL ORDER BY id"
        )
        return [self._entry(row) for row in rows]

    pending_resume = unfinished

    def _entry(self, row: tuple[Any, ...]) -> JournalEntry:
        action_id, action, started, finished, vins, params = row
        items = self._store.query(
            "SELECT vin, result, message, at FROM action_items WHERE action_id = ?", (action_id,)
        )
        results = {
            vin: ItemRecord(result, message, parse_time(at)) for vin, result, message, at in items
        }
        return JournalEntry(
            action_id,
            action,
            parse_time(started),
            parse_time(finished),
            msgspec.json.decode(vins),
            msgspec.json.decode(params),
            results,
        )


class Store:
    """One SQLite file per profile (or `:memory:`); thread-safe, one lock."""

    def __init__(self, path: Path | str, *, open_wait_ms: int = 5000) -> None:
        """`open_wait_ms`: how long opening waits for another process's lock (5 s after)."""
        self.path = path if str(path) == ":memory:" else Path(path)
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _make(self.path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            _uri(self.path), check_same_thread=False, isolation_level=None, uri=True
        )
        try:
            # first: another writer's moment is waited for, not taken for a broken file
            self._db.execute(f"PRAGMA busy_timeout={int(open_wait_ms)}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: safe against a kill
            self._db.executescript(_SCHEMA)
            self._db.execute("PRAGMA busy_timeout=5000")
        except BaseException:
            self._db.close()
            raise
        self.journal = Journal(self)

    @property
    def durable(self) -> bool:
        """False for an in-memory store: what it journals dies with the process."""
        return isinstance(self.path, Path)

    @classmethod
    def open_or_memory(cls, path: Path | str) -> tuple[Store, StoreProblem | None]:
        """The store at `path`, or, when it cannot be used (corrupt, locked, read-only, full),
        an in-memory one and what is wrong with the file (store/health.py): a broken journal
        never takes the roster away."""
        try:
            return cls(path, open_wait_ms=OPEN_WAIT_MS), None
        except (sqlite3.Error, OSError) as error:
            return cls.memory(), diagnose(path, error)

    @classmethod
    def for_profile(cls, profile: str, directory: Path | str | None = None) -> Store:
        return cls(default_path(profile, directory))

    @classmethod
    def memory(cls) -> Store:
        """A store that keeps nothing after the process ends (tests, `store=None` sessions)."""
        return cls(":memory:")

    def transaction(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- the roster cache ----------------------------------------------------------------------
    def save_roster(self, clearances: Sequence[Clearance]) -> None:
        """Replace the cached roster (one transaction) with these clearances, encoded a slice at
        a time as SQLite takes them (the session saves the roster's own bytes:
        `save_roster_slices`)."""
        slices = (
            (n, _ENCODER.encode(clearances[start : start + ROSTER_SLICE]))
            for n, start in enumerate(range(0, len(clearances), ROSTER_SLICE))
        )
        self._save_slices(slices, len(clearances))

    def save_roster_slices(self, count: int, slices: Iterable[list[bytes]]) -> None:
        """Replace the cached roster with `count` clearances' JSON bytes, given a slice at a time
        (`Roster.wire_slices(ROSTER_SLICE)`), one cache row per slice."""
        self._save_slices(
            ((n, b"[" + b",".join(part) + b"]") for n, part in enumerate(slices)), count
        )

    def _save_slices(self, slices: Iterable[tuple[int, bytes]], count: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM roster_slices")
            db.executemany("INSERT INTO roster_slices (slice, body) VALUES (?, ?)", slices)
            db.execute(
                "INSERT OR REPLACE INTO roster_saved (id, saved_at, count) VALUES (1, ?, ?)",
                (_now(), count),
            )

    def load_roster(self) -> tuple[list[Clearance], datetime | None]:
        """The cached roster and when it was saved ([], None when there is none or unreadable)."""
        wire, saved_at = self.load_roster_wire()
        with collector.paused():
            clearances, _, bad = decode_items(wire.items)
        if bad:
            return [], None  # a cache from another version: start empty, the poll refills it
        return clearances, saved_at

    def cached_roster_count(self) -> int | None:
        """How many clearances the cached roster holds (None: there is none)."""
        saved = self.query("SELECT count FROM roster_saved WHERE id = 1")
        return int(saved[0][0]) if saved else None

    def load_roster_wire(self) -> tuple[WireClearances, datetime | None]:
        """The cached roster as each clearance's JSON bytes (the roster decodes them), and when
        it was saved (empty, None when there is none or it is unreadable)."""
        saved = self.query("SELECT saved_at, count FROM roster_saved WHERE id = 1")
        if not saved:
            return WireClearances([]), None
        items: list[bytes] = []
        try:
            for (body,) in self.query("SELECT body FROM roster_slices ORDER BY slice"):
                items += split_clearance_list(body).items
        except BadResponse:
            return WireClearances([]), None
        if len(items) != saved[0][1]:
            return WireClearances([]), None
        return WireClearances(items), parse_time(saved[0][0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _make(path: Path) -> None:
    """Create the store file (0600: fleet data is nobody else's business) unless it exists, never
    through a link: a symlink (even a dangling one) or anything but a regular file at `path` or
    beside it is refused (`StoreNotAFile`, store/health.py)."""
    check_store_files(path)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        check_store_files(path)  # (made meanwhile: by another hm-tui, or a link planted)


def _uri(path: Path | str) -> str:
    """What SQLite opens: `:memory:`, or `path` with `nofollow` (SQLite refuses the file if it
    became a symbolic link after the check)."""
    if str(path) == ":memory:":
        return "file::memory:"
    return f"file:{quote(str(path))}?nofollow=1"


class _Transaction:
    """`with store.transaction() as db:` BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return self._db

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            self._db.execute("ROLLBACK" if kind is not None else "COMMIT")
        finally:
            self._lock.release()
