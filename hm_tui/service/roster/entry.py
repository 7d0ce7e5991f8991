"""One row of the roster: what the table shows, sorts and filters by, and the clearance's own
JSON bytes, decoded only when someone asks for the whole clearance (a detail screen, an action,
an export): drawing a row reads the entry's fields, never the clearance."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import repeat
from sys import intern

import msgspec

from hm_tui.domain.filters import TAG_SEP, search_text, tags_field
from hm_tui.domain.timestamps import epoch_seconds
from hm_tui.service.models import ChangelogEntry, Clearance


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
    tag_field: str  # `domain.filters.tags_field`: the tags as free words and tag terms read
    # them (lower case), one string per distinct value where it can be (`shared`)
    tags: str  # `k=v` pairs as sent, in the platform's order, joined by `TAG_SEP` (untrusted:
    # a row shows them through `shown_tags`, made inert); "" without tags
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

    def time_in_state(self, now: datetime | None = None) -> float:
        """Seconds since the clearance entered its current status."""
        return ((now or datetime.now(UTC)) - self.since).total_seconds()


_DECODE_ONE = msgspec.json.Decoder(Clearance).decode


class _TagsAside(msgspec.Struct, gc=False):
    """A clearance with its tags left as JSON bytes (decoding a million tags takes ~0.7 s)."""

    vin: str
    status: str
    brand: str = ""
    tags: msgspec.Raw = msgspec.Raw(b"{}")
    changelog: list[ChangelogEntry] = []


_DECODE_ASIDE = msgspec.json.Decoder(_TagsAside).decode
_DECODE_TAGS = msgspec.json.Decoder(dict[str, str]).decode
#: Tags decoded whole up to this much JSON; beyond it `bounded_clearance` takes them from the
#: entry's `tags` text, which holds them already.
TAGS_DECODED_MAX = 65_536


def bounded_clearance(entry: RosterEntry, most: int) -> tuple[Clearance, int]:
    """`entry`'s clearance with at most about `most` of its tags, and how many it has, in time
    that does not grow with the number of tags: a screen showing one clearance reads it so.
    Few tags (`TAGS_DECODED_MAX`) are decoded exactly; more are read from the entry's `tags`
    (`k=v` pairs joined by `TAG_SEP`: a key holding `=` or the separator shows split)."""
    aside = _DECODE_ASIDE(entry.raw)
    if len(aside.tags) <= TAGS_DECODED_MAX:
        tags = _DECODE_TAGS(aside.tags)
        count = len(tags)
    else:
        count = entry.tags.count(TAG_SEP) + 1 if entry.tags else 0
        pairs = entry.tags.split(TAG_SEP, most)[:most] if entry.tags else []
        tags = dict(pair.partition("=")[::2] for pair in pairs)
    clearance = Clearance(aside.vin, aside.status, aside.brand, tags, aside.changelog)
    return clearance, count


ENCODE_ONE = msgspec.json.Encoder().encode  # a clearance's JSON, when it came decoded


def tag_texts(tags: dict[str, str]) -> tuple[str, str]:
    """The entry's `tags` (`k=v` pairs in the platform's order, joined by `TAG_SEP`, as sent)
    and the search text's tag field (`tags_field`: the same, lower case). One join makes both:
    building a fleet's entries pays for the display field no more than for the search field."""
    if not tags:
        return "", ""
    joined = TAG_SEP.join(map("=".join, tags.items()))
    if "\t" in joined or joined.count(TAG_SEP) != len(tags) - 1:  # a tab or a separator in
        return shared(joined), tags_field(tags)  # a tag (rare): the field cleans them
    return shared(joined), shared(joined.lower())


#: Distinct tag combinations remembered for sharing (a fleet repeats a few: sub-fleet, cost
#: centre); past this many the memory starts again, so odd tags cannot make it grow for good.
SHARED_MAX = 65_536
_shared: dict[str, str] = {}


def shared(tags: str) -> str:
    """One string object per distinct tag combination (~60 bytes less per car that repeats one;
    a dict lookup costs a third of `sys.intern` here)."""
    found = _shared.get(tags)
    if found is not None:
        return found
    if len(_shared) >= SHARED_MAX:
        _shared.clear()
    _shared[tags] = tags
    return tags


def shown_tags(tags: str) -> str:
    """An entry's `tags` as a row shows them: `k=v, k=v` (still to be made inert)."""
    return tags.replace(TAG_SEP, ", ")


def make_entry(c: Clearance, raw: bytes, previous: RosterEntry | None, now: float) -> RosterEntry:
    first_seen = previous.since_ts if previous else now
    return _entry(c.vin, c.status, c.brand, c.changelog, tag_texts(c.tags), raw, first_seen, now)


def _entry(
    vin: str,
    status: str,
    brand: str,
    log: list[ChangelogEntry],
    texts: tuple[str, str],
    raw: bytes,
    first_seen: float,
    now: float,
) -> RosterEntry:
    """The entry of one clearance (`texts`: its tags as `tag_texts` gives them)."""
    last = log[-1] if log else None
    since = epoch_seconds(last.timestamp) if last is not None else None
    reason = last.reason if last is not None else None
    return RosterEntry(
        vin,
        intern(status),  # a few distinct values, shared
        intern(brand),
        intern(reason) if reason else reason,
        first_seen if since is None else since,  # (no usable changelog: time in state counts
        texts[1],  # from when we first saw it)
        texts[0],
        now,
        raw,
    )


class _Listed(msgspec.Struct, gc=False):
    """A clearance as a list's entries are built from it: the model of `Clearance` (an item
    fits one exactly when it fits the other), its tags left as JSON (`_listed_tags`)."""

    vin: str
    status: str
    brand: str = ""
    tags: msgspec.Raw = msgspec.Raw(b"{}")
    changelog: list[ChangelogEntry] = []


_DECODE_LISTED = msgspec.json.Decoder(list[_Listed]).decode


def listed_entries(array: bytes, raws: Iterable[bytes], now: float) -> list[RosterEntry] | None:
    """The new entries (no previous ones) of `array`, a JSON array of clearances whose items'
    bytes are `raws`: what `make_entry` makes of each, at about half its cost (a fleet repeats
    a few tag combinations, so tags are read once per distinct combination, not once per car).
    None when an item does not fit the model: the caller takes the item-by-item path."""
    try:
        return list(map(_listed_entry, _DECODE_LISTED(array), raws, repeat(now)))
    except (msgspec.DecodeError, RecursionError):  # (ValidationError, too: tags not k=v text)
        return None


def _listed_entry(item: _Listed, raw: bytes, now: float) -> RosterEntry:
    texts = _listed_tags(item.tags)
    return _entry(item.vin, item.status, item.brand, item.changelog, texts, raw, now, now)


_listed: dict[bytes, tuple[str, str]] = {}  # tags' JSON -> `tag_texts` (bounded as `_shared`)


def _listed_tags(raw: msgspec.Raw) -> tuple[str, str]:
    key = bytes(raw)
    found = _listed.get(key)
    if found is None:
        if len(_listed) >= SHARED_MAX:
            _listed.clear()
        found = _listed[key] = tag_texts(_DECODE_TAGS(raw))
    return found


def search_text_of(entry: RosterEntry) -> str:
    """The text free words search in (`domain.filters.search_text`), made when asked: a small
    roster keeps one per row in its index; a big one keeps none (`roster/cells.py`)."""
    return search_text(entry.status, entry.vin, entry.brand, entry.reason, entry.tag_field)
