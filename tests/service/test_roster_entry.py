"""A roster entry's tag fields: one join makes the row's display text and the search field, and
both say exactly what the slower, obvious way says, whatever the tags hold."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hm_tui.domain.filters import TAG_SEP, tags_field
from hm_tui.service.roster.entry import shown_tags, tag_texts

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
