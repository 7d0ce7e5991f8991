"""One row of the roster: what the table shows, sorts and filters by, and the clearance's own
JSON bytes, decoded only when someone asks for the whole clearance."""

from __future__ import annotations

from datetime import UTC, datetime
from sys import intern

import msgspec

from hm_tui.domain.filters import search_text, tags_field
from hm_tui.domain.timestamps import parse_time
from hm_tui.service.models import Clearance


class RosterEntry(msgspec.Struct, frozen=True, gc=False):
    """One clearance as the roster keeps it: the fields the table shows and sorts by, and the
    clearance's JSON bytes as the platform sent them, decoded only when asked (`clearance`).
    100,000 of them take ~70 MB and nothing of the cyclic GC's time."""

    vin: str
    status: str
    brand: str
    reason: str | None
    since_ts: float  # entered the current status (latest changelog entry; else first seen), in
    # epoch seconds: the sort key (floats compare 3x faster) and 5.6 MB less than a datetime each
    search_text: str  # `domain.filters.search_text`: lower case status, vin, brand, reason, tags
    changed_at: float  # epoch seconds when this roster last saw it added or changed
    raw: bytes  # the clearance's JSON (the platform's own bytes when it came from a list call)

    @property
    def clearance(self) -> Clearance:
        """The whole clearance (tags, changelog), decoded from `raw` on each call."""
        return _DECODE_ONE(self.raw)

    @property
    def since(self) -> datetime:
        """When the clearance entered its current status."""
        return datetime.fromtimestamp(self.since_ts, UTC)

    @property
    def tags_text(self) -> str:
        return tags_text(self.clearance.tags)

    def time_in_state(self, now: datetime | None = None) -> float:
        """Seconds since the clearance entered its current status."""
        return ((now or datetime.now(UTC)) - self.since).total_seconds()


_DECODE_ONE = msgspec.json.Decoder(Clearance).decode
ENCODE_ONE = msgspec.json.Encoder().encode  # a clearance's JSON, when it came decoded


def tags_text(tags: dict[str, str]) -> str:
    """Tags as the roster shows and searches them: `k=v k=v`."""
    return " ".join(map("=".join, tags.items())) if tags else ""


def make_entry(c: Clearance, raw: bytes, previous: RosterEntry | None, now: float) -> RosterEntry:
    log = c.changelog
    last = log[-1] if log else None
    since = _parse_since(last.timestamp) if last is not None else None
    if since is None:  # no usable changelog: time in state counts from when we first saw it
        since = previous.since if previous else datetime.fromtimestamp(now, UTC)
    reason = last.reason if last is not None else None
    status, brand = intern(c.status), intern(c.brand)  # a few distinct values, shared
    text = search_text(status, c.vin, brand, reason, tags_field(c.tags))
    return RosterEntry(
        c.vin,
        status,
        brand,
        intern(reason) if reason else reason,
        since.timestamp(),
        text,
        now,
        raw,
    )


def _parse_since(timestamp: str) -> datetime | None:
    return parse_time(timestamp)  # (None out of range: one bad date stays one item's problem)
