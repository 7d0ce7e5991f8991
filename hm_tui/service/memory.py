"""Handing freed memory back to the system after a fleet-sized list has come and gone.

A full list of 100,000 clearances passes ~30 MB of short-lived buffers and objects through the
process. Python frees them, but glibc keeps most of that as free heap unless asked: resident
memory stayed ~37 MB higher after every refresh (measured in `benchmarks/`, 189 → 226 MB at
100,000 VINs, peak 263 MB). Two glibc habits cause it: after a large mapped block is freed, it
raises its threshold for mapping blocks of their own (up to 32 MB), so the next list's buffers and
the roster's new 5 MB dicts land in the heap, between live objects; and free heap is only handed
back from its top. `keep_large_blocks_mapped` pins the threshold (256 KB: every fleet-sized
buffer gets its own mapping, returned the moment it is freed) and `give_back` trims the rest
after a full list. Elsewhere (macOS, musl) both do nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MAPPED_FROM = 256 * 1024  # blocks from this size on get their own mapping


@cache
def _glibc(name: str) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only here: not on the first frame's path

    try:
        function: Callable[..., int] = getattr(ctypes.CDLL("libc.so.6"), name)
    except (OSError, AttributeError):  # not glibc
        return None
    return function


@cache
def keep_large_blocks_mapped() -> bool:
    """Pin glibc's mmap threshold (once per process; True if it took)."""
    mallopt = _glibc("mallopt")
    return mallopt is not None and mallopt(M_MMAP_THRESHOLD, MAPPED_FROM) == 1


def give_back() -> bool:
    """Return free heap memory to the system (glibc's `malloc_trim`; it releases the GIL, so
    call it from a worker thread). True if there was a way to ask."""
    trim = _glibc("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True
