"""What a consumer received in one run: counts, loss, throughput and lag, the same for every client.

Every consumer reduces to (arrival epoch, message_id, publish epoch) triples; lines written by
`mosquitto_sub -F '%U %p'` and by `benchmarks.stamp` ("<epoch> <payload>") parse into the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.messages import epoch_of
from benchmarks.proc import percentile

Receipt = tuple[float, str, float]  # arrival epoch, message_id, publish epoch (NaN if unknown)

_MID = re.compile(r'"message_id":\s*"([0-9a-f]{64})"')
_TS = re.compile(r'"timestamp":\s*"([^"]+)"')


def parse_payload(arrival: float, payload: str, cache: dict[str, float]) -> Receipt | None:
    found = _MID.search(payload)
    if found is None:
        return None
    stamp = _TS.search(payload)
    published = float("nan")
    if stamp is not None:
        text = stamp.group(1)
        published = cache.get(text) or cache.setdefault(text, epoch_of(text))
    return arrival, found.group(1), published


def parse_stamped_lines(lines: Iterable[str]) -> Iterator[Receipt]:
    """Lines of "<epoch> <payload>" (mosquitto_sub -F '%U %p', benchmarks.stamp)."""
    cache: dict[str, float] = {}
    for line in lines:
        head, _, payload = line.partition(" ")
        try:
            arrival = float(head)
        except ValueError:
            continue
        receipt = parse_payload(arrival, payload, cache)
        if receipt is not None:
            yield receipt


def read_stamped_file(path: Path) -> list[Receipt]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", errors="replace") as handle:
        return list(parse_stamped_lines(handle))


@dataclass(slots=True)
class Received:
    """One consumer's view of one run (only messages of `run_tag` count)."""

    expected: int
    count: int
    unique: int
    first_arrival: float
    last_arrival: float
    lags_ms: list[float]

    @property
    def lost(self) -> int:
        return self.expected - self.unique

    def msgs_per_s(self, published_from: float, published_to: float) -> float:
        """Unique messages over the time from the first publish to the later of the last
        publish and the last arrival: the offered rate when the consumer keeps up, less if not."""
        span = max(published_to, self.last_arrival) - published_from
        return self.unique / span if span > 0 else 0.0

    def as_dict(self, published_from: float, published_to: float) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "received": self.count,
            "unique": self.unique,
            "lost": self.lost,
            "msgs_per_s": self.msgs_per_s(published_from, published_to),
            "catch_up_s": max(0.0, self.last_arrival - published_to) if self.count else None,
            "lag_p50_ms": percentile(self.lags_ms, 50),
            "lag_p99_ms": percentile(self.lags_ms, 99),
            "lag_max_ms": max(self.lags_ms, default=float("nan")),
        }


def tally(receipts: Iterable[Receipt], run_tag: int, expected: int) -> Received:
    prefix = f"{run_tag:08x}"
    seen: set[str] = set()
    count = 0
    first, last = float("inf"), 0.0
    lags: list[float] = []
    for arrival, mid, published in receipts:
        if not mid.startswith(prefix):
            continue
        count += 1
        seen.add(mid)
        first, last = min(first, arrival), max(last, arrival)
        if published == published:  # not NaN
            lags.append((arrival - published) * 1000)
    return Received(expected, count, len(seen), first if count else 0.0, last, lags)
