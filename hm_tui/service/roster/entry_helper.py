"""A first roster built on both cores: the roster's entries for a big list, part of them made in a
helper process.

Decoding 100,000 clearances and making their entries is ~0.8-1.5 s of CPU on a 2-core machine,
all of it holding the GIL: the worker thread that does it shares one core with the event loop
while the other core idles. `entries_of` splits the items into chunks; this thread builds them
from the front, a helper process (`entry_child`, started for this one list, ended after it) from
the back, until the two meet. The helper sends back each entry's fields as columns (msgpack): a
chunk of 2,048 entries costs this process ~2 ms to take in, against ~15-25 ms to build.

How the two talk, and why so. Every system call a thread of ours makes hands the GIL back, and
getting it again while another thread holds it waits ~5 ms (the switch interval). Bulk data over
a socket is several calls on both sides (its buffer is ~200 KB), and a thread of our own serving
the helper spent more time waiting for the GIL than the helper saved. So no thread of ours
talks to it, and nothing big crosses the socket: the builder itself, between two of its own
chunks, writes the next chunks for the helper to a file in memory (`memfd`) and asks for them
by place (three ahead: the helper never idles); the helper appends each reply to a second file
and sends where it lies; the builder reads it with one `pread`.

If the helper cannot start, dies or hangs, what it had not delivered is built here: the result
is the same, only slower. The helper is a fresh interpreter (`child.spawn`) that ends at EOF (we
closed it, or we died) and ignores the terminal's signals (we decide).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from itertools import repeat
from sys import intern

import msgspec

from hm_tui.service.child import Child, spawn, waited
from hm_tui.service.platform.decode import decode_batches, wire_array
from hm_tui.service.roster import entry_child as wire
from hm_tui.service.roster.entry import RosterEntry, listed_entries, make_entry, shared

log = logging.getLogger("hm_tui.roster")

CHUNK = 2048  # items per chunk (~0.6 MB of JSON, ~8-12 ms to build)
BATCH = 512  # items per decode (one C call; a bad item costs its batch the exact path)
#: Below this many items the helper's start (~0.15 s of the other core) is not worth it.
MIN_ITEMS = 16_384
IN_FLIGHT = 3  # chunks asked for ahead: the helper has the next while we build one of ours
REPLY_TIMEOUT_S = 10.0  # a helper silent this long is stuck: killed, its chunks built here
STOP_WAIT_S = 1.0
SUPPORTED = hasattr(os, "memfd_create") and hasattr(socket, "send_fds")

Built = tuple[list[RosterEntry], int]  # entries, items that did not fit the model


def build(items: list[bytes], now: float) -> Built:
    """New entries (no previous ones) from clearances' JSON bytes, in their order; items that
    do not fit the model are skipped and counted."""
    entries: list[RosterEntry] = []
    bad = 0
    for start in range(0, len(items), BATCH):
        part = items[start : start + BATCH]
        listed = listed_entries(wire_array(part), part, now)
        if listed is not None:
            entries += listed
            continue
        for clearances, raws, skipped in decode_batches(part):  # an item does not fit: each
            bad += skipped  # is decoded on its own, the ones that fit kept
            entries += map(make_entry, clearances, raws, repeat(None), repeat(now))
    return entries, bad


def entries_of(items: list[bytes], now: float) -> Built:
    """`build(items, now)`, on two cores when there are enough items to be worth it."""
    if len(items) < MIN_ITEMS:
        return build(items, now)
    chunks = [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]
    results: list[Built | None] = [None] * len(chunks)
    helper = _take_spare() or _Helper.spawn()
    if helper is not None and not helper.begin(now):
        helper = None
    front, back = 0, len(chunks)  # ours: [0, front); the helper's: [back, len)
    try:
        while front < back:
            if helper is not None and helper.alive:
                while len(helper.asked) < IN_FLIGHT and front < back:
                    back -= 1
                    helper.ask(back, chunks[back])
                helper.take_in(chunks, results, now, wait=False)
            if front < back:
                results[front] = build(chunks[front], now)
                front += 1
        while helper is not None and len(helper.asked) > 1:  # rather than wait for them all:
            at = helper.asked.pop()  # the helper's last one, built here (its reply is dropped)
            results[at] = build(chunks[at], now)
            helper.take_in(chunks, results, now, wait=False)
        if helper is not None:
            helper.take_in(chunks, results, now, wait=True)
    finally:
        if helper is not None:
            helper.close()
    entries: list[RosterEntry] = []
    bad = 0
    for at, result in enumerate(results):
        got = result if result is not None else build(chunks[at], now)  # the helper's leftovers
        entries += got[0]
        bad += got[1]
    return entries, bad


class _Helper:
    def __init__(self, child: Child, sock: socket.socket) -> None:
        self._child, self._sock = child, sock
        self._items = -1  # the file we write the chunks the helper builds to, and how far
        self._written = 0
        self._replies = -1  # the file the helper writes its replies to (ours to read)
        self._pending = b""  # the start of a notice not all read yet
        self.asked: list[int] = []  # chunks asked for, in order (the helper's order)
        self.tags: list[str] = []  # the helper's (tags, tag field) pairs, as this process's
        self.tag_fields: list[str] = []  # own shared strings, in the helper's numbering
        self.alive = True

    @classmethod
    def spawn(cls) -> _Helper | None:
        """The helper process, starting (it imports for ~0.1-0.2 s); None if it cannot start,
        or where there are no in-memory files to hand it (memfd: Linux): one core does it all."""
        if not SUPPORTED:
            return None
        try:
            return cls(*spawn(wire.__name__, "main"))
        except OSError as exc:  # no memory, no file descriptors: this thread does it all
            log.warning("roster helper process not started (%s): one core builds the roster", exc)
            return None

    def begin(self, now: float) -> bool:
        """Hand the helper its two files; False (and closed) if that fails."""
        try:
            self._items = os.memfd_create("hm-tui-roster-items", os.MFD_CLOEXEC)
            self._replies = os.memfd_create("hm-tui-roster-entries", os.MFD_CLOEXEC)
            socket.send_fds(self._sock, [wire.NOW.pack(now)], [self._items, self._replies])
        except OSError as exc:
            log.warning("roster helper process not used (%s): one core builds the roster", exc)
            self.close()
            return False
        return True

    def ask(self, at: int, chunk: list[bytes]) -> None:
        """Have the helper build chunk `at`."""
        array = b"[" + b",".join(chunk) + b"]"
        try:
            os.pwrite(self._items, array, self._written)
            self._sock.sendall(wire.ASK.pack(at, self._written, len(array)))
        except OSError as exc:
            self._failed(str(exc))
            return
        self._written += len(array)
        self.asked.append(at)

    def take_in(
        self, chunks: list[list[bytes]], results: list[Built | None], now: float, *, wait: bool
    ) -> None:
        """Every reply the helper has sent (`wait`: until none is outstanding)."""
        try:
            while self.asked and self.alive:
                self._sock.settimeout(REPLY_TIMEOUT_S if wait else 0.0)
                try:
                    data = self._sock.recv(wire.DONE.size * 64)
                except (BlockingIOError, InterruptedError):
                    return
                if not data:
                    raise EOFError("the helper ended")
                data = self._pending + data
                whole = len(data) - len(data) % wire.DONE.size
                self._pending = data[whole:]
                for at, offset, size in wire.DONE.iter_unpack(data[:whole]):
                    reply = wire.decode_reply(os.pread(self._replies, size, offset))
                    self.tags += (shared(tags) for tags, _ in reply.new_tag_sets)  # (numbered
                    self.tag_fields += (shared(field) for _, field in reply.new_tag_sets)  # on)
                    if at in self.asked:  # (not when we built it ourselves meanwhile)
                        results[at] = self._entries(reply, chunks[at], now)
                        self.asked.remove(at)
        except TimeoutError:
            self._failed(f"silent for {REPLY_TIMEOUT_S:.0f} s")
        except (OSError, EOFError, IndexError, msgspec.MsgspecError) as exc:
            self._failed(str(exc))  # (IndexError: a tag code outside the pairs it sent)

    def _entries(self, reply: wire.Reply, items: list[bytes], now: float) -> Built:
        raws = items if reply.good is None else [items[at] for at in reply.good]
        reasons: Callable[[str | None], str | None] = _intern_reason
        entries = list(
            map(
                RosterEntry,
                reply.vins,
                map(intern, reply.statuses),
                map(intern, reply.brands),
                map(reasons, reply.reasons),
                reply.since,
                map(self.tag_fields.__getitem__, reply.tag_codes),
                map(self.tags.__getitem__, reply.tag_codes),
                repeat(now),
                raws,
            )
        )
        if len(entries) != len(raws):
            raise msgspec.ValidationError("the helper's reply does not match its chunk")
        return entries, len(items) - len(raws)

    def _failed(self, why: str) -> None:
        log.warning("roster helper process failed (%s): its share is built here", why)
        self.alive = False
        self.asked.clear()

    def close(self, *, wait: bool = True) -> None:
        """End the helper (EOF); `wait`: until it has (a few ms), else reaped in the background."""
        with contextlib.suppress(OSError):
            self._sock.close()
        for fd in (self._items, self._replies):
            if fd >= 0:
                os.close(fd)
        self._items = self._replies = -1
        if not wait:
            threading.Thread(target=self._reap, name="hm-entry-helper-reaper", daemon=True).start()
        else:
            self._reap()

    def _reap(self) -> None:
        if not waited(self._child, STOP_WAIT_S):
            self._child.kill()
            waited(self._child, STOP_WAIT_S)


_spare: list[_Helper] = []  # a helper started ahead of a list that may be big
_spare_lock = threading.Lock()


def start_spare() -> None:
    """Start a helper now, ahead of a list that may be big (a session's first): if one comes, it
    builds on both cores from its first chunk, not from the ~0.15 s the helper takes to start.
    `drop_spare` ends it if none came."""
    with _spare_lock:
        if not _spare and (helper := _Helper.spawn()) is not None:
            _spare.append(helper)


def drop_spare() -> None:
    """End a helper `start_spare` started and no list used (without waiting for it)."""
    with _spare_lock:
        helpers = _spare[:]
        _spare.clear()
    for helper in helpers:
        helper.close(wait=False)


def _take_spare() -> _Helper | None:
    with _spare_lock:
        return _spare.pop() if _spare else None


def _intern_reason(reason: str | None) -> str | None:
    return intern(reason) if reason else reason
