"""Fleet-sized work in steps of bounded size: a worker thread holds the GIL for one C call at a
time, so no single call over a whole fleet may last long (a list of 1,000,000 items sorted, or
made into a dict, in one call holds the GIL for 0.2-1 s, and the event loop waits that long).

Each helper here does what one C call would, in C calls over at most `STEP` items (a few ms
each); between them other threads run. Pure, no IO: used by the roster's diff and index.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from itertools import islice
from sys import getrefcount
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

STEP = 8192  # items per C call


def dict_of(pairs: Iterable[tuple[K, V]], size: int) -> dict[K, V]:
    """`dict(pairs)` (`size`: how many pairs there are), a step at a time."""
    out: dict[K, V] = {}
    reader = iter(pairs)
    for _ in range(0, size, STEP):
        out.update(islice(reader, STEP))
    out.update(reader)  # (whatever `size` did not count)
    return out


def counted(values: Iterable[K], size: int) -> dict[K, int]:
    """`dict(Counter(values))`, a step at a time."""
    counts: Counter[K] = Counter()
    reader = iter(values)
    for _ in range(0, size, STEP):
        counts.update(islice(reader, STEP))
    counts.update(reader)
    return dict(counts)


def distinct(values: Iterable[K], size: int) -> set[K]:
    """`set(values)`, a step at a time."""
    out: set[K] = set()
    reader = iter(values)
    for _ in range(0, size, STEP):
        out.update(islice(reader, STEP))
    out.update(reader)
    return out


def sorted_steps(values: list[T], key: Callable[[T], Any] | None = None) -> list[T]:
    """`sorted(values, key=key)` (stable), in sorts and merges of bounded size."""
    if len(values) <= STEP:
        return sorted(values, key=key)  # type: ignore[type-var, arg-type]
    runs = [
        sorted(values[start : start + STEP], key=key)  # type: ignore[type-var, arg-type]
        for start in range(0, len(values), STEP)
    ]
    return merge_runs(runs, key)


def merge_runs(runs: list[list[T]], key: Callable[[T], Any] | None = None) -> list[T]:
    """Sorted runs (ascending by `key`; runs in their original order) merged into one sorted
    list, stable: of equal items, those of an earlier run come first. Two at a time, each merge
    a step at a time (`_merge_two`)."""
    runs = [run for run in runs if run]
    while len(runs) > 1:
        runs = [
            _merge_two(runs[n], runs[n + 1], key) if n + 1 < len(runs) else runs[n]
            for n in range(0, len(runs), 2)
        ]
    return runs[0] if runs else []


def _merge_two(a: list[T], b: list[T], key: Callable[[T], Any] | None) -> list[T]:
    """Two sorted runs merged (`a`'s items first among equals), in C calls of at most 2 STEPs:
    take the next STEP items of `a` and the items of `b` below the last of them (or, when `b`
    has more than a STEP of those, the next STEP items of `b` and the items of `a` up to its
    last), sort that piece (timsort merges its two runs) and append it."""
    of: Callable[[T], Any] = key if key is not None else _same
    if of(a[-1]) <= of(b[0]):
        return a + b
    out: list[T] = []
    i = j = 0
    size_a, size_b = len(a), len(b)
    while i < size_a and j < size_b:
        end_a = min(i + STEP, size_a)
        end_b = bisect_left(b, of(a[end_a - 1]), j, size_b, key=key)  # b's items below it
        if end_b - j > STEP:
            end_b = j + STEP
            end_a = bisect_right(a, of(b[end_b - 1]), i, end_a, key=key)  # a's up to b's last
        piece = a[i:end_a] + b[j:end_b]
        piece.sort(key=key)
        out += piece
        i, j = end_a, end_b
    out += a[i:]
    out += b[j:]
    return out


def _same(value: T) -> T:
    return value


def maximum(values: Iterable[float], size: int) -> float | None:
    """`max(values, default=None)`, a step at a time."""
    best: float | None = None
    reader = iter(values)
    for _ in range(0, size + 1, STEP):
        part = max(islice(reader, STEP), default=None)
        if part is not None and (best is None or part > best):
            best = part
    return best


def let_go_if_ours(items: list[Any], owners: int) -> bool:
    """Empty `items` from its end, a step at a time, if nothing but its `owners` refers to it
    (CPython's reference count: the caller's references, plus getrefcount's own argument):
    a list of 1,000,000 items freed at once is one C call. False, untouched, otherwise."""
    if getrefcount(items) != owners + 2:  # (+ this function's parameter, + getrefcount's)
        return False
    while items:
        del items[-STEP:]
    return True
