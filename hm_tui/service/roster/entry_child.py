"""The roster helper process (`entry_helper`): it builds the entries of the chunks it is asked
for and writes their fields back. Imports as little as it can: it starts while the roster waits.

The wire, over a socket pair: first the two files and when (`now`, a double) in one message with
SCM_RIGHTS; then parent → helper `ASK` (chunk number, where its JSON array lies in the items
file, its size), helper → parent `DONE` (chunk number, where its `Reply` lies in the replies
file, its size). Nothing big crosses the socket: both files are in memory (`memfd`).
"""

from __future__ import annotations

import os
import signal
import socket
import struct
from itertools import islice, repeat
from operator import attrgetter

import msgspec

from hm_tui import collector
from hm_tui.service.models import decode_clearance_array
from hm_tui.service.roster.entry import listed_entries, make_entry

ASK = struct.Struct("!IQQ")
DONE = struct.Struct("!IQQ")
NOW = struct.Struct("!d")
FIELDS = ("vin", "status", "brand", "reason", "since_ts")  # Reply's columns, then the tags


class Reply(msgspec.Struct, array_like=True):
    """One chunk's entries as columns (raw bytes stay with the parent: it has them)."""

    good: list[int] | None  # positions of the items that decoded (None: all of them)
    vins: list[str]
    statuses: list[str]
    brands: list[str]
    reasons: list[str | None]
    since: list[float]
    new_tag_sets: list[tuple[str, str]]  # (tags, tag field) pairs no earlier reply held
    tag_codes: list[int]  # each entry's pair: its place among all replies' `new_tag_sets`


encode = msgspec.msgpack.Encoder().encode
decode_reply = msgspec.msgpack.Decoder(Reply).decode


def main(fd: int) -> None:
    """Build the chunks asked for until the socket closes (the parent is done, or died), then
    exit. It makes no cycles: no collector."""
    collector.off()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C and hang-ups reach the whole group:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the parent decides
    sock = socket.socket(fileno=fd)
    try:
        data, (items, replies), _, _ = socket.recv_fds(sock, NOW.size, 2)
        (now,) = NOW.unpack(data)
        written = 0
        tag_sets: dict[tuple[str, str], int] = {}
        while True:
            at, offset, size = ASK.unpack(recv_exact(sock, ASK.size))
            reply = reply_for(os.pread(items, size, offset), now, tag_sets)
            os.pwrite(replies, reply, written)
            sock.sendall(DONE.pack(at, written, len(reply)))
            written += len(reply)
    except (EOFError, OSError, ValueError, msgspec.MsgspecError, struct.error):
        pass  # the parent closed (or sent what we do not understand): it builds the rest
    os._exit(0)  # at once: tearing down what we built is 30-60 ms the parent would wait for


def reply_for(array: bytes, now: float, tag_sets: dict[tuple[str, str], int]) -> bytes:
    """One chunk (a JSON array of clearances) as a reply: every item that fits the model.
    `tag_sets` numbers the (tags, tag field) pairs sent so far: a reply sends only new ones
    (a fleet repeats a few thousand; each cost the parent ~1 µs a car when sent with it)."""
    good: list[int] | None = None
    entries = listed_entries(array, repeat(b""), now)
    if entries is None:  # an item does not fit: each is decoded on its own
        clearances, good = decode_clearance_array(array)
        entries = list(map(make_entry, clearances, repeat(b""), repeat(None), repeat(now)))
    known = len(tag_sets)
    codes = [tag_sets.setdefault((e.tags, e.tag_field), len(tag_sets)) for e in entries]
    new = list(islice(tag_sets, known, None))
    vins, statuses, brands, reasons, since = (list(map(attrgetter(n), entries)) for n in FIELDS)
    return encode(Reply(good, vins, statuses, brands, reasons, since, new, codes))


def recv_exact(sock: socket.socket, size: int) -> bytes:
    """`size` bytes; EOFError when the other end closed first."""
    data = sock.recv(size, socket.MSG_WAITALL)
    while len(data) < size:
        more = sock.recv(size - len(data), socket.MSG_WAITALL)
        if not more:
            raise EOFError("the other end closed")
        data += more
    return data
