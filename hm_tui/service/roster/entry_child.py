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
from itertools import repeat
from operator import attrgetter

import msgspec

from hm_tui import collector
from hm_tui.service.models import decode_clearance_array
from hm_tui.service.roster.entry import make_entry

ASK = struct.Struct("!IQQ")
DONE = struct.Struct("!IQQ")
NOW = struct.Struct("!d")
FIELDS = ("vin", "status", "brand", "reason", "since_ts", "tag_field", "tags")  # Reply's columns


class Reply(msgspec.Struct, array_like=True):
    """One chunk's entries as columns (raw bytes stay with the parent: it has them)."""

    good: list[int] | None  # positions of the items that decoded (None: all of them)
    vins: list[str]
    statuses: list[str]
    brands: list[str]
    reasons: list[str | None]
    since: list[float]
    tag_fields: list[str]
    tags: list[str]


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
        while True:
            at, offset, size = ASK.unpack(recv_exact(sock, ASK.size))
            reply = reply_for(os.pread(items, size, offset), now)
            os.pwrite(replies, reply, written)
            sock.sendall(DONE.pack(at, written, len(reply)))
            written += len(reply)
    except (EOFError, OSError, ValueError, msgspec.MsgspecError, struct.error):
        pass  # the parent closed (or sent what we do not understand): it builds the rest
    os._exit(0)  # at once: tearing down what we built is 30-60 ms the parent would wait for


def reply_for(array: bytes, now: float) -> bytes:
    """One chunk (a JSON array of clearances) as a reply: every item that fits the model."""
    clearances, good = decode_clearance_array(array)
    entries = list(map(make_entry, clearances, repeat(b""), repeat(None), repeat(now)))
    return encode(Reply(good, *(list(map(attrgetter(name), entries)) for name in FIELDS)))


def recv_exact(sock: socket.socket, size: int) -> bytes:
    """`size` bytes; EOFError when the other end closed first."""
    data = sock.recv(size, socket.MSG_WAITALL)
    while len(data) < size:
        more = sock.recv(size - len(data), socket.MSG_WAITALL)
        if not more:
            raise EOFError("the other end closed")
        data += more
    return data
