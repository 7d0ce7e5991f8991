"""A roster entry's tag fields: one join makes the row's display text and the search field, and
both say exactly what the slower, obvious way says, whatever the tags hold. A list's entries
built the fast way (`listed_entries`) are the ones the exact way (`make_entry`) builds."""

from __future__ import annotations

from itertools import repeat
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from hm_tui.domain.filters import TAG_SEP, tags_field
from hm_tui.service.models import decode_clearance_array
from hm_tui.service.platform.decode import wire_array
from hm_tui.service.roster.entry import listed_entries, make_entry, shown_tags, tag_texts

TAGS = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4)


@given(TAGS)
def test_the_search_field_is_the_filters_own(tags: dict[str, str]) -> None:
    assert tag_texts(tags)[1] == tags_field(tags)


@given(TAGS)
def test_a_row_shows_every_tag_as_sent_in_order(tags: dict[str, str]) -> None:
    expected = ", ".join(f"{key}={value}" for key, value in tags.items())
    if not any(TAG_SEP in key + value for key, value in tags.items()):
        assert shown_tags(tag_texts(tags)[0]) == expected


def test_repeated_tags_share_one_string() -> None:
    first = tag_texts({"sub-fleet": "north", "cost-centre": "CC-1"})[0]
    again = tag_texts({"sub-fleet": "north", "cost-centre": "CC-1"})[0]
    assert first is again and shown_tags(first) == "sub-fleet=north, cost-centre=CC-1"
    assert tag_texts({}) == ("", "")


NOW = 1_800_000_000.123456
TIMESTAMPS = st.one_of(
    st.sampled_from(
        [
            "2026-11-02T10:00:00Z",
            "2026-11-02T10:00:00.123+01:00",
            "2026-11-02T10:00:00",  # no offset: UTC
            "9999-12-31T23:59:59-01:00",  # out of range: unknown
            "0001-01-01T00:00:00+01:00",
            "1969-12-31T23:59:59Z",
            "yesterday",
            "",
        ]
    ),
    st.text(max_size=30),
)
TAG_VALUES = st.one_of(
    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3),
    st.sampled_from([None, [], 5, {"a": 1}, {"a": None}]),  # none fits: the item is skipped
)
LOG_ENTRY = st.fixed_dictionaries(
    {"timestamp": TIMESTAMPS, "status": st.sampled_from(["approved", "rejected"])},
    optional={"reason": st.one_of(st.none(), st.sampled_from(["", "privacy mode", "x"]))},
)
ITEM = st.fixed_dictionaries(
    {"vin": st.text(max_size=20), "status": st.sampled_from(["pending", "approved", "odd"])},
    optional={
        "brand": st.sampled_from(["bmw", "", "nissan"]),
        "tags": TAG_VALUES,
        "changelog": st.lists(LOG_ENTRY, max_size=3),
        "extra": st.integers(),
    },
)


@given(st.lists(ITEM, max_size=12))
def test_a_lists_entries_are_the_exact_ways_whatever_the_items_hold(
    items: list[dict[str, Any]],
) -> None:
    raws = [msgspec.json.encode(item) for item in items]
    array = wire_array(raws)
    fast = listed_entries(array, raws, NOW)
    clearances, good = decode_clearance_array(array)
    kept = raws if good is None else [raws[at] for at in good]
    exact = list(map(make_entry, clearances, kept, repeat(None), repeat(NOW)))
    if good is None:  # every item fits: the fast way built them, the same
        assert fast == exact
    else:  # one does not: the fast way says so, and the caller takes the exact way
        assert fast is None
